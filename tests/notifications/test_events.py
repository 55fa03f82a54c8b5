"""NOTE-1 / NOTE-3: one Japanese template per event, written to the outbox in the event's
transaction — a row after commit, none after a rollback — and sent by the worker once."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.template.loader import get_template

from notifications.models import OutboxMessage
from notifications.services import POSTING_EVENTS, SUBJECTS, login_notice, notice_enqueue
from notifications.tasks import outbox_send_pending
from security import services as security_services
from security.audit import audit_record
from security.models import Credential
from tests import factories
from tests.security.secondfactor import customer_with_card

pytestmark = pytest.mark.django_db

EVENTS = sorted(set(SUBJECTS) - POSTING_EVENTS)


class Rollback(Exception):
    pass


@pytest.mark.parametrize("event", sorted(SUBJECTS))
def test_every_event_has_its_own_template_with_the_signature_block(event):
    template = get_template(f"notifications/mail/{event}.txt")
    assert "notifications/mail/base.txt" in template.template.source


@pytest.mark.parametrize("event", EVENTS)
def test_each_event_is_in_the_outbox_after_commit_and_not_after_rollback(
        event, django_capture_on_commit_callbacks, mailoutbox):
    customer = factories.customer(email="ev@example.jp", name_kanji="山田太郎")
    factories.notices_chosen(customer, login=True)  # its own mail (notice_choice), sent first
    assert outbox_send_pending() == 1
    mailoutbox.clear()
    chosen = OutboxMessage.objects.get().pk
    with pytest.raises(Rollback), transaction.atomic():
        notice_enqueue(customer=customer, event=event, lines=["テストの内容です。"],
                       context={"code": "123456"})
        raise Rollback
    assert not OutboxMessage.objects.filter(pk__gt=chosen).exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        notice_enqueue(customer=customer, event=event, lines=["テストの内容です。"],
                       context={"code": "123456"})
    message = OutboxMessage.objects.get(pk__gt=chosen)
    assert callbacks  # the worker is woken after the commit
    assert message.status == OutboxMessage.Status.PENDING
    assert message.subject == f"【大阪厚生信金】{SUBJECTS[event]}"
    assert message.body.startswith("山田太郎 様")
    assert ("123456" if event == "email_verify" else "テストの内容です。") in message.body
    assert "大阪厚生信用金庫" in message.body and "0120-054-852" in message.body
    assert "{{" not in message.body and "{%" not in message.body
    assert outbox_send_pending() == 1
    assert outbox_send_pending() == 0
    assert len(mailoutbox) == 1
    if event in ("lockout", "unlock"):  # the lock change its mail stands for, in the test's transaction (CI315)
        factories.credential_locked(customer, "image_card")
        if event == "unlock":
            security_services.credential_unlock(customer=customer, kind="image_card", reason="本人確認済",
                                                actor=factories.staff_user("staff01").username)


def test_posting_events_are_never_queued_by_callers():
    customer = factories.customer(email="p@example.jp")
    assert notice_enqueue(customer=customer, event="deposit", lines=["x"]) is None
    assert not OutboxMessage.objects.exists()


def test_login_notice_only_when_chosen():
    customer = factories.customer(email="l@example.jp")
    login_notice(customer=customer, ip="192.0.2.1")
    assert not OutboxMessage.objects.exists()
    factories.notices_chosen(customer, login=True)
    login_notice(customer=customer, ip="192.0.2.1")
    message = OutboxMessage.objects.exclude(event="notice_choice").get()
    assert message.event == "login" and "192.0.2.1" in message.body


def test_login_through_the_service_sends_the_chosen_login_notice():
    customer = factories.customer(email="l2@example.jp", password="Pass1234")
    factories.notices_chosen(customer, login=True)
    outcome = security_services.login_authenticate(contract_id=customer.contract_id,
                                                   password="Pass1234", ip="192.0.2.9")
    assert outcome.ok
    assert OutboxMessage.objects.exclude(event="notice_choice").get().event == "login"


def test_optional_receipt_notice_is_skipped_when_switched_off_security_never():
    customer = factories.customer(email="o@example.jp")
    factories.notices_chosen(customer, receipts=False, postings=False, login=False)
    notice_enqueue(customer=customer, event="transfer_accepted", lines=["x"])
    notice_enqueue(customer=customer, event="password_change", lines=["x"])
    statuses = dict(OutboxMessage.objects.exclude(event="notice_choice").values_list("event", "status"))
    assert statuses == {"transfer_accepted": "skipped", "password_change": "pending"}


def test_real_security_events_reach_the_outbox():
    customer = customer_with_card(email="s@example.jp")  # card_issue
    security_services.customer_ib_suspend(customer=customer, ip=None)
    security_services.customer_ib_resume(customer=customer, reason="本人確認済", actor="staff01")
    factories.staff_user("staff01")  # who may lift a lock (CI315)
    credential = security_services.credential_for_update(customer, Credential.Kind.PASSWORD)
    for _ in range(5):  # each with the failed login's row, as login_authenticate writes it (CI315)
        security_services.credential_register_failure(credential, ip=None)
        audit_record(action="login", outcome="failure", customer=customer, summary="パスワード誤り")
    security_services.credential_unlock(customer=customer, kind=Credential.Kind.PASSWORD,
                                        reason="本人確認済", actor="staff01")
    events = list(OutboxMessage.objects.order_by("id").values_list("event", flat=True))
    assert events == ["card_issue", "ib_suspend", "ib_resume", "lockout", "unlock"]
    # each mail says each thing once: a template's own sentence is not repeated by the
    # lines the event passes (the lockout mail said 「ロックの解除には…」 twice)
    for message in OutboxMessage.objects.order_by("id"):
        said = [line for line in message.body.splitlines() if line.strip(" ─")]  # not the rules
        assert len(said) == len(set(said)), (message.event, message.body)
        # nor in a longer line (IB取引中止 said 「ご利用の再開には…」 twice, once with more)
        sentences = [line for line in said if line.endswith("。")]
        assert not [(a, b) for a in sentences for b in sentences if a != b and b.startswith(a)], (
            message.event, message.body)
