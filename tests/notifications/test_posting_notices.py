"""NOTE-1 / NOTE-3: every posting on a customer account produces its 入出金 notice, whatever
code posted it — the database queues it from the entry insert (migration 0004), so no
caller can forget. Transfers and Pay-easy post through journal_post too, so the same
trigger covers them; this file posts through every money path that exists here."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from accounts.services import counter_deposit
from accounts.templatetags.accounts_format import account_label
from notifications.models import OutboxMessage, PostingNotice
from notifications.services import posting_notices_process
from notifications.tasks import outbox_send
from tests import factories
from tests.security.test_staff_admin import (  # noqa: F401 - the branch staff's admin session
    counter_deposit_confirm_fields,
    staff,
    staff_client,
)

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


def test_journal_post_queues_one_notice_per_customer_leg_only():
    source = factories.account(owner=factories.customer(email="a@example.jp"), balance=10_000)
    target = factories.account(owner=factories.customer(email="b@example.jp"))
    factories.transfer(source, target, 3_000)
    # the deposit that funded the source, the two transfer legs; never the cash account
    assert PostingNotice.objects.count() == 3
    assert set(PostingNotice.objects.values_list("account__purpose", flat=True)) == {"customer"}
    assert posting_notices_process() == 3
    assert posting_notices_process() == 0  # each entry once
    out = OutboxMessage.objects.filter(to="a@example.jp").order_by("id")
    assert [m.event for m in out] == ["deposit", "withdrawal"]
    withdrawal = out.last()
    assert "3,000円" in withdrawal.body
    assert f"***{source.number[-4:]}" in withdrawal.body
    assert source.number not in withdrawal.body  # masked
    assert "本店営業部支店" not in withdrawal.body
    assert OutboxMessage.objects.get(to="b@example.jp").event == "deposit"


def test_a_rolled_back_posting_leaves_no_notice():
    target = factories.account(owner=factories.customer(email="a@example.jp"))
    with pytest.raises(Rollback), transaction.atomic():
        factories.deposit(target, 5_000)
        assert PostingNotice.objects.count() == 1  # same transaction as the posting
        raise Rollback
    assert PostingNotice.objects.count() == 0
    assert posting_notices_process() == 0
    assert OutboxMessage.objects.count() == 0


def test_the_counter_deposit_produces_exactly_one_notice_with_the_right_branch_name():
    customer = factories.customer(email="c@example.jp")
    account = factories.account(owner=customer)
    counter_deposit(account=account, amount=12_345, reference="S-1", actor="staff01")
    counter_deposit(account=account, amount=12_345, reference="S-1", actor="staff01")  # replay
    posting_notices_process()
    messages = list(OutboxMessage.objects.filter(customer=customer))
    assert [m.event for m in messages] == ["deposit"]  # the caller's own notice is not doubled
    body = messages[0].body
    assert "12,345円" in body and "窓口入金" in body
    assert account_label(account) in body  # 「本店営業部 普通 ***1234」, the screens' wording
    assert account.branch.name in body and f"{account.branch.name}支店" not in body
    assert "電子署名" in body  # the signature block


def test_the_customers_choice_switches_posting_notices_off_but_keeps_the_row():
    customer = factories.customer(email="d@example.jp")
    factories.notices_chosen(customer, postings=False)
    factories.account(owner=customer, balance=1_000)
    posting_notices_process()
    message = OutboxMessage.objects.exclude(event="notice_choice").get(customer=customer)
    assert (message.event, message.status) == ("deposit", OutboxMessage.Status.SKIPPED)


# The demo seed's notices (queued, not mailed): tests/accounts/test_ledger_check_and_demo.py


def test_the_worker_sends_posting_notices_signed_and_once(mailoutbox):
    target = factories.account(owner=factories.customer(email="e@example.jp"))
    factories.deposit(target, 777)
    outbox_send()
    outbox_send()
    assert len(mailoutbox) == 1
    raw = mailoutbox[0].message().as_bytes()
    assert b"multipart/signed" in raw and b"micalg=sha-256" in raw
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT


def test_the_ledger_post_wakes_the_sender_after_commit(django_capture_on_commit_callbacks):
    target = factories.account(owner=factories.customer(email="f@example.jp"))
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        factories.deposit(target, 100)
    assert any(getattr(cb, "__name__", "") == "_wake_sender" for cb in callbacks)


def test_postings_in_quick_succession_wake_the_sender_once(monkeypatch, django_capture_on_commit_callbacks):
    """Issue 14: a wake-up is a job INSERT (and a commit when the worker already took the
    last one); once per posting it halved the ledger's throughput. One per process per
    WAKE_INTERVAL; the woken job drains every queued notice."""
    from notifications import services

    wakes = []
    monkeypatch.setattr(outbox_send, "defer", lambda **kwargs: wakes.append(kwargs))
    monkeypatch.setattr(services, "_last_wake", -services.WAKE_INTERVAL)
    target = factories.account(owner=factories.customer(email="w@example.jp"))

    def post() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            factories.deposit(target, 100)
        return len(wakes)

    assert post() == 1, "the first posting wakes the sender"
    assert post() == 1, "the next one within the interval does not"
    monkeypatch.setattr(services, "_last_wake", services._last_wake - services.WAKE_INTERVAL)
    assert post() == 2, "after the interval a posting wakes it again"
    outbox_send()  # the real job: every queued notice, the un-woken one too
    assert OutboxMessage.objects.filter(customer=target.customer, event="deposit").count() == 3


def test_a_backdated_posting_is_queued_but_not_mailed():
    target = factories.account(owner=factories.customer(email="g@example.jp"))
    factories.deposit(target, 100, posted_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    posting_notices_process()
    notice = PostingNotice.objects.get()
    assert notice.processed_at is not None and notice.message is None


def test_the_counter_deposit_through_admin_produces_its_notice(staff_client):
    customer = factories.customer(email="adm@example.jp")
    account = factories.account(owner=customer)
    url = f"/admin/accounts/account/{account.pk}/deposit/"
    fields = counter_deposit_confirm_fields(
        staff_client.post(url, {"amount": "５０，０００", "reference": "A1"}).content.decode())
    staff_client.post(url, fields)
    staff_client.post(url, fields)  # double submit of the confirm page: one posting
    posting_notices_process()
    message = OutboxMessage.objects.get(customer=customer)
    assert message.event == "deposit" and "50,000円" in message.body and "窓口入金" in message.body


def test_the_deposit_mail_of_a_returned_transfer_names_the_processing_time():
    """NOTE-1, XFER-12: the credit of a 振込資金返却 (docs/interbank.md) is told with
    「処理日時」, the time the bank processed the return, like the 振込資金返却 mail; any
    other ご入金 keeps 「取引日時」 (walk22)."""
    customer = factories.customer(email="r@example.jp")
    account = factories.account(owner=customer)
    factories.deposit(account, 19_670, description="振込資金返却 ﾅﾆﾜ ｼﾞﾛｳ")
    factories.deposit(account, 5_000)
    posting_notices_process()
    returned, plain = OutboxMessage.objects.filter(customer=customer, event="deposit").order_by("id")
    assert "摘要　　：振込資金返却 ﾅﾆﾜ ｼﾞﾛｳ" in returned.body
    assert "処理日時：" in returned.body and "取引日時" not in returned.body and "受付日時" not in returned.body
    assert "取引日時：" in plain.body and "処理日時" not in plain.body


def test_one_notice_that_cannot_be_processed_does_not_stop_the_others(monkeypatch):
    """NOTE-1, NOTE-3 (dbprobe26 F6): one customer row Python could not read (a timestamp
    of 'infinity') made every batch of 入出金 notices fail — no mail at all left the bank.
    A failed batch is done again a row at a time: the bad row is logged and left out for a
    while; every other notice becomes its mail."""
    from notifications import services

    poisoned = factories.customer(email="poisoned@example.jp")
    factories.account(owner=poisoned, balance=1_000)
    others = [factories.account(owner=factories.customer(email=f"fine{index}@example.jp"), balance=2_000)
              for index in range(3)]
    write = services._outbox_write

    def failing_for_one(*, customer, **kwargs):
        if customer.pk == poisoned.pk:
            raise ValueError("a row Python cannot take")
        return write(customer=customer, **kwargs)

    monkeypatch.setattr(services, "_outbox_write", failing_for_one)
    monkeypatch.setattr(services, "_notices_failing", {})
    assert posting_notices_process() == 3
    assert posting_notices_process() == 0  # the bad row is left out for now, not retried at once
    told = set(OutboxMessage.objects.filter(event="deposit").values_list("to", flat=True))
    assert told == {f"fine{index}@example.jp" for index in range(3)}
    assert PostingNotice.objects.get(account__customer=poisoned).processed_at is None  # not lost: waiting
    assert all(PostingNotice.objects.get(account=account).message_id for account in others)
    monkeypatch.setattr(services, "_outbox_write", write)
    services._notices_failing.clear()  # its time out has passed
    assert posting_notices_process() == 1
    assert OutboxMessage.objects.filter(event="deposit", to="poisoned@example.jp").exists()
