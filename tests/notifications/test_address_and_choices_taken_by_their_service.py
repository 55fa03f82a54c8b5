"""NOTE-1, NOTE-2, SEC-7, LEDGER-7 (outside review dbprobe31 F2, F5; notifications 0022): as the
app's role, a customer's address changes only with the address-change request confirmed for
it, the ``email_change`` audit row and the mail to the old address of its transaction (CI310
at the commit), and the choice of notices only with its used step-up, audit row 「通知の選択 …」
and mail (CI311 at the commit). What the services write still commits."""

from __future__ import annotations

import re

import pytest
from django.db import DatabaseError, connection, transaction

from notifications.models import EmailAddressChange, NoticePreference, NoticePreferenceChange, OutboxMessage
from notifications.services import email_remove
from security.stepup import stepup_seed_used
from tests import factories
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db

ADDRESS, CHOICE, UNSENT = "CI310", "CI311", "CI243"

SET_EMAIL = "UPDATE accounts_customer SET email = %s WHERE id = %s"
AUDIT = ("INSERT INTO security_auditevent (contract_id, action, outcome, summary, actor, created_at, customer_id)"
         " VALUES ('', 'email_change', 'success', %s, '', now(), %s)")
MAIL = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
        " next_attempt_at, created_at) VALUES (%s, %s, %s, 's', 'b', %s, 0, now(), now())")
REQUEST = ("INSERT INTO notifications_emailchangerequest (customer_id, new_email, code_hash, failures, expires_at,"
           " created_at) VALUES (%s, %s, 'x', 0, now() + interval '10 minutes', now())")
REQUEST_END = ("UPDATE notifications_emailchangerequest SET ended_at = now(), outcome = %s"
               " WHERE customer_id = %s AND new_email = %s AND ended_at IS NULL")
# dbprobe31 f_pref.sql: 入出金 and 受付 off in one statement
SWITCH_OFF = ("INSERT INTO notifications_noticepreference (customer_id, postings, receipts, login, updated_at)"
              " VALUES (%s, false, false, false, now()) ON CONFLICT (customer_id) DO UPDATE"
              " SET postings = false, receipts = false, updated_at = now()")


def at_commit(*steps) -> str | None:
    """``steps`` — (sql, params), or a callable run as the app's Python would — and their
    commit's checks (SET CONSTRAINTS ALL IMMEDIATE), rolled back; the SQLSTATE they failed
    with, or None."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for step in steps:
                if callable(step):
                    step()
                else:
                    cursor.execute(*step)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            transaction.set_rollback(True)
    except DatabaseError as error:
        return getattr(error.__cause__, "sqlstate", None)
    return None


def audit(customer, summary):
    return (AUDIT, [summary, customer.pk])


def mail(customer, to, status="pending", event="email_change"):
    """A mail of ``event`` (the address's ``email_change``; ``notice_choice`` tells a choice of
    notices, dbprobe32 F3)."""
    return (MAIL, [customer.pk, event, to, status])


def choice_mail(customer, to, status="pending"):
    return mail(customer, to, status, event="notice_choice")


CODE_MAIL = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
             " next_attempt_at, created_at) VALUES (%s, 'email_verify', %s, 's', 'b', 'pending', 0, now(), now())")


WRONG_CODE = ("UPDATE notifications_emailchangerequest SET failures = failures + 1"
              " WHERE customer_id = %s AND new_email = %s AND ended_at IS NULL")


def confirmed_request(customer, address, outcome="confirmed", *, request=REQUEST, code_mailed=True, failures=0):
    """An address-change request for ``address``, its code mailed (as ``email_change_request``
    writes it), ``failures`` wrong codes, ended ``outcome`` by this transaction."""
    return [(request, [customer.pk, address]), *([(CODE_MAIL, [customer.pk, address])] if code_mailed else []),
            *[(WRONG_CODE, [customer.pk, address])] * failures, (REQUEST_END, [outcome, customer.pk, address])]


# --- F2: an address (CI310) ----------------------------------------------------------------

def test_an_address_moved_by_one_update_is_refused_at_the_commit():
    """The repro of F2 (T1): the address moved to the attacker's, no audit row, no mail."""
    customer = factories.customer(email="suzuki@example.jp")
    assert at_commit((SET_EMAIL, ["collector@attacker.example", customer.pk])) == ADDRESS
    customer.refresh_from_db()
    assert customer.email == "suzuki@example.jp"


def test_a_new_address_needs_its_confirmed_request_audit_row_and_mail_to_the_old_one():
    customer = factories.customer(email="suzuki@example.jp")
    new = "collector@attacker.example"
    move = (SET_EMAIL, [new, customer.pk])
    request = confirmed_request(customer, new)
    changed = audit(customer, "アドレス変更 su***@example.jp → co***@attacker.example")
    told = mail(customer, "suzuki@example.jp")
    assert at_commit(*request, move, changed) == ADDRESS, "no mail to the old address"
    assert at_commit(*request, move, told) == ADDRESS, "no audit row"
    assert at_commit(move, changed, told) == ADDRESS, "no request"
    assert at_commit(*confirmed_request(customer, "other@attacker.example"), move, changed, told) == ADDRESS, \
        "a request for another address"
    assert at_commit(*confirmed_request(customer, new, "replaced"), move, changed, told) == ADDRESS, \
        "a request not confirmed"
    assert at_commit(*request, move, audit(customer, "アドレス変更受付（確認コード送信先 co***@attacker.example）"),
                     told) == ADDRESS, "the audit row of the request, not of the change"
    assert at_commit(*request, move, audit(customer, "アドレス削除 su***@example.jp"), told) == ADDRESS
    assert at_commit(*request, move, changed, mail(customer, new)) == ADDRESS, "told the new address only"
    assert at_commit(*request, choice_mail(customer, "suzuki@example.jp"), move, changed) == ADDRESS, \
        "a 通知の選択 mail (written while the address was still the old one) tells no address change (dbprobe32 F3)"
    other = factories.customer(email="other@example.jp")
    assert at_commit(*request, move, audit(other, "アドレス変更 x"), told) == ADDRESS, "another customer's audit row"
    assert at_commit(*request, move, changed, told) is None  # the forged class, as the service writes


def test_a_removal_needs_its_audit_row_and_the_mail_to_the_old_address():
    customer = factories.customer(email="suzuki@example.jp")
    remove = (SET_EMAIL, ["", customer.pk])
    removed, told = audit(customer, "アドレス削除 su***@example.jp"), mail(customer, "suzuki@example.jp")
    assert at_commit(remove) == ADDRESS
    assert at_commit(remove, removed) == ADDRESS, "no mail"
    assert at_commit(remove, told) == ADDRESS, "no audit row"
    assert at_commit(remove, audit(customer, "アドレス変更 su***@example.jp → （未登録）"), told) == ADDRESS
    assert at_commit(choice_mail(customer, "suzuki@example.jp"), remove, removed) == ADDRESS, "a choices mail"
    assert at_commit(remove, removed, told) is None


def test_a_first_address_tells_the_new_one():
    customer = factories.customer(email="")
    new = "suzuki@example.jp"
    steps = [*confirmed_request(customer, new), (SET_EMAIL, [new, customer.pk]),
             audit(customer, "アドレス変更 （未登録） → su***@example.jp")]
    assert at_commit(*steps) == ADDRESS
    assert at_commit(*steps, mail(customer, new)) is None


def test_each_step_of_a_chain_in_one_transaction_is_told():
    """dbprobe31 F2's variant: A → '' → A′ in one transaction, the mail of the removal
    written 送信対象外 while the address is '' — A is never told. Each step needs its own."""
    customer = factories.customer(email="yamada@example.jp")
    plus = "yamada+ib@example.jp"
    removal = [(SET_EMAIL, ["", customer.pk]), audit(customer, "アドレス削除 ya***@example.jp")]
    back = [*confirmed_request(customer, plus), (SET_EMAIL, [plus, customer.pk]),
            audit(customer, "アドレス変更 （未登録） → ya***@example.jp"), mail(customer, plus)]
    assert at_commit(*removal, mail(customer, "yamada@example.jp", "skipped")) == UNSENT  # as written, 0019
    assert at_commit(*removal, *back) == ADDRESS
    assert at_commit(*removal, mail(customer, "yamada@example.jp"), *back) is None


def test_the_services_still_change_and_remove_an_address():
    """What email_change_request / email_change_confirm and email_remove write passes."""
    customer = factories.customer(email="old@example.jp")
    factories.address_changed(customer, "new@example.jp")
    assert at_commit() is None
    customer.refresh_from_db()
    assert customer.email == "new@example.jp"
    assert set(OutboxMessage.objects.filter(customer=customer, event="email_change").values_list("to", flat=True)) \
        == {"old@example.jp", "new@example.jp"}
    email_remove(customer=customer, email="new@example.jp", ip=None)
    assert at_commit() is None
    factories.address_changed(customer, "again@example.jp")  # a first address after the removal
    assert at_commit() is None
    assert list(EmailAddressChange.objects.filter(customer=customer).order_by("id").values_list(
        "old_email", "new_email")) == [("old@example.jp", "new@example.jp"), ("new@example.jp", ""),
                                       ("", "again@example.jp")]


def test_a_customer_created_with_an_address_is_no_change():
    """The seed and the tests' factories INSERT a customer whole, address included."""
    assert at_commit(lambda: factories.customer(email="new.contract@example.jp")) is None


@pytest.mark.django_db(transaction=True)
def test_the_address_rules_hold_at_a_real_commit_and_bind_no_dba(owner_sql):
    customer = factories.customer(email="suzuki@example.jp")
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SET_EMAIL, ["collector@attacker.example", customer.pk])
    assert getattr(caught.value.__cause__, "sqlstate", None) == ADDRESS
    factories.address_changed(customer, "new@example.jp")  # committed through the service
    owner_sql(SET_EMAIL, ["dba@example.jp", customer.pk])  # a DBA's repair, recorded
    customer.refresh_from_db()
    assert customer.email == "dba@example.jp"
    assert EmailAddressChange.objects.filter(customer=customer).count() == 2


# --- F5: the choice of notices (CI311) -------------------------------------------------------

def stepup(customer, *, kind="email_change", operation="preferences", postings=False, receipts=False,
           login=False):
    content = {"operation": operation, "postings": postings, "receipts": receipts, "login": login}
    return lambda: stepup_seed_used(customer=customer, kind=kind, content=content)


@pytest.mark.django_db(transaction=True)  # the service's choice committed before: no round trip (CI240) to see
def test_notices_switched_off_by_one_statement_are_refused_at_the_commit():
    """The repro of F5 (f_pref.sql): 入出金 and 受付 off with no step-up, audit row or mail."""
    customer = factories.customer(email="yamada@example.jp")
    assert at_commit((SWITCH_OFF, [customer.pk])) == CHOICE
    factories.notices_chosen(customer, login=True)
    assert at_commit((SWITCH_OFF, [customer.pk])) == CHOICE, "the UPDATE of an existing row"
    assert at_commit(("DELETE FROM notifications_noticepreference WHERE customer_id = %s", [customer.pk])) == CHOICE
    assert NoticePreference.objects.get(customer=customer).postings


def test_a_choice_needs_its_step_up_audit_row_and_mail():
    customer = factories.customer(email="yamada@example.jp")
    switch = (SWITCH_OFF, [customer.pk])
    chosen, told = audit(customer, "通知の選択 入出金=受け取らない、振込・ペイジーの受付=受け取らない、ログイン=受け取らない"), \
        choice_mail(customer, "yamada@example.jp")
    assert at_commit(stepup(customer), switch, chosen) == CHOICE, "no mail"
    assert at_commit(stepup(customer), switch, told) == CHOICE, "no audit row"
    assert at_commit(switch, chosen, told) == CHOICE, "no step-up"
    assert at_commit(stepup(customer, postings=True), switch, chosen, told) == CHOICE, "a step-up of other choices"
    assert at_commit(stepup(customer, kind="transfer"), switch, chosen, told) == CHOICE, "a step-up of another kind"
    assert at_commit(stepup(customer, operation="remove"), switch, chosen, told) == CHOICE
    assert at_commit(stepup(factories.customer()), switch, chosen, told) == CHOICE, "another customer's step-up"
    assert at_commit(stepup(customer), switch, audit(customer, "アドレス削除 ya***@example.jp"), told) == CHOICE
    assert at_commit(stepup(customer), switch, chosen, choice_mail(customer, "yamada@example.jp", "skipped")) == UNSENT
    assert at_commit(stepup(customer), switch, chosen, mail(customer, "yamada@example.jp")) == CHOICE, \
        "an address's mail (email_change) is no notice of the choices (dbprobe32 F3)"
    assert at_commit(stepup(customer), switch, chosen, told) is None  # the forged class, as the service writes


def test_a_customer_with_no_address_is_told_by_the_skipped_mail():
    customer = factories.customer(email="")
    steps = [stepup(customer), (SWITCH_OFF, [customer.pk]), audit(customer, "通知の選択 …")]
    assert at_commit(*steps) == CHOICE
    assert at_commit(*steps, mail(customer, "", "skipped")) == CHOICE, "the address's event"
    assert at_commit(*steps, choice_mail(customer, "", "skipped")) is None


def test_the_defaults_need_nothing():
    """A row equal to the defaults (no row means them: the service's get_or_create writes
    one) and a write that changes no choice are no change of choice."""
    customer = factories.customer(email="yamada@example.jp")
    assert at_commit(lambda: NoticePreference.objects.create(customer=customer)) is None
    assert at_commit(lambda: NoticePreference.objects.create(customer=customer),
                     ("UPDATE notifications_noticepreference SET updated_at = now() WHERE customer_id = %s",
                      [customer.pk]),
                     ("DELETE FROM notifications_noticepreference WHERE customer_id = %s", [customer.pk])) is None
    assert at_commit(lambda: NoticePreference.objects.create(customer=customer, postings=False)) == CHOICE


def test_the_service_still_changes_the_choice():
    customer = factories.customer(email="yamada@example.jp")
    factories.notices_chosen(customer, postings=False, login=True)
    assert at_commit() is None
    factories.notices_chosen(customer, postings=True)
    assert at_commit() is None
    assert NoticePreferenceChange.objects.filter(customer=customer).count() == 2
    preference = NoticePreference.objects.get(customer=customer)
    assert (preference.postings, preference.receipts, preference.login) == (True, True, True)
    assert OutboxMessage.objects.filter(customer=customer, event="notice_choice", to="yamada@example.jp",
                                        status="pending").count() == 2
    assert not OutboxMessage.objects.filter(customer=customer, event="email_change").exists()



# --- dbprobe32 F2: a choice moved to another customer (CI313) ----------------------------------

MOVED = "CI313"


def test_a_choice_moved_to_another_customer_is_refused():
    """The repro of dbprobe32 F2 (f_pref_move_2.sql): customer 2's choices (all off) moved to
    customer 1 by one UPDATE — no history row, so CI311 never ran."""
    attacker, victim = factories.customer(email="sato@example.jp"), factories.customer(email="yamada@example.jp")
    factories.notices_chosen(attacker, postings=False, receipts=False)
    move = ("UPDATE notifications_noticepreference SET customer_id = %s WHERE customer_id = %s",
            [victim.pk, attacker.pk])
    assert at_commit(move) == MOVED
    assert at_commit(("DELETE FROM notifications_noticepreference WHERE customer_id = %s", [victim.pk]), move) == MOVED
    assert at_commit(("INSERT INTO notifications_noticepreference (customer_id, postings, receipts, login, updated_at)"
                      " VALUES (%s, true, true, false, now()) ON CONFLICT (customer_id) DO UPDATE"
                      " SET customer_id = %s", [attacker.pk, victim.pk])) == MOVED
    assert NoticePreference.objects.get(customer=attacker).postings is False
    assert not NoticePreference.objects.filter(customer=victim).exists()
    # the service still saves the row whole (customer_id unchanged)
    factories.notices_chosen(attacker, postings=True)
    assert at_commit() is None
    assert NoticePreference.objects.get(customer=attacker).postings is True


@pytest.mark.django_db(transaction=True)
def test_a_dba_may_move_a_choice(owner_sql):
    first, second = factories.customer(email="sato@example.jp"), factories.customer(email="yamada@example.jp")
    NoticePreference.objects.create(customer=first)
    owner_sql("UPDATE notifications_noticepreference SET customer_id = %s WHERE customer_id = %s",
              [second.pk, first.pk])
    assert NoticePreference.objects.filter(customer=second).exists()



# --- dbprobe32 F3: the request as the service confirms it (CI310, 0025) --------------------------

def _request(expires: str) -> str:
    return REQUEST.replace("now() + interval '10 minutes'", expires)


def test_a_request_the_service_could_not_have_confirmed_is_no_evidence(database_clock_strict):
    """The repro of dbprobe32 A12: a request expired a day before, at the failure limit, or
    whose code was never mailed, ended 変更済 by SQL — refused; the one as the service
    writes it still passes (the forged class)."""
    from django.conf import settings

    customer = factories.customer(email="suzuki@example.jp")
    new = "collector@attacker.example"
    rest = [(SET_EMAIL, [new, customer.pk]), audit(customer, "アドレス変更 su***@example.jp → co***@attacker.example"),
            mail(customer, "suzuki@example.jp")]
    expired = _request(expires="now() - interval '1 day'")
    assert at_commit(*confirmed_request(customer, new, request=expired), *rest) == ADDRESS, "expired"
    at_limit = settings.NOTIFICATIONS_EMAIL_CODE_MAX_FAILURES
    assert at_commit(*confirmed_request(customer, new, failures=at_limit), *rest) == ADDRESS, "at the failure limit"
    assert at_commit(*confirmed_request(customer, new, code_mailed=False), *rest) == ADDRESS, "no code mail"
    assert at_commit(*confirmed_request(customer, new, failures=at_limit - 1), *rest) is None


# --- dbprobe32 F3: the code mail of an earlier transaction (CI310, 0027) -----------------------

def test_a_code_mail_of_the_confirming_transaction_is_no_evidence(code_mail_apart_strict):
    """The request, its code mail and its confirmation written by one transaction — no code
    ever left — are refused, the code mail in a savepoint of it too."""
    customer = factories.customer(email="suzuki@example.jp")
    new = "collector@attacker.example"
    rest = [(SET_EMAIL, [new, customer.pk]), audit(customer, "アドレス変更 su***@example.jp → co***@attacker.example"),
            mail(customer, "suzuki@example.jp")]
    assert at_commit(*confirmed_request(customer, new), *rest) == ADDRESS

    def code_mailed_in_a_savepoint():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(CODE_MAIL, [customer.pk, new])

    request, _code, end = confirmed_request(customer, new)
    assert at_commit(request, code_mailed_in_a_savepoint, end, *rest) == ADDRESS


@pytest.mark.django_db(transaction=True)
def test_a_code_mail_committed_before_the_confirmation_is_evidence(code_mail_apart_strict):
    """The service's two transactions (the request with its code mail, then the confirmation)
    still change the address; so does SQL that commits the request and its code mail first —
    the forged class, now two commits with a code mail to the new address the sender sends."""
    from notifications.services import email_change_confirm, email_change_request

    customer = factories.customer(email="old@example.jp")
    email_change_request(customer=customer, new_email="new@example.jp", ip=None)
    code = OutboxMessage.objects.filter(customer=customer, event="email_verify").latest("id")
    assert email_change_confirm(customer=customer, code=re.search(r"確認コード：(\d{6})", code.body)[1],
                                ip=None) == "new@example.jp"
    customer.refresh_from_db()
    assert customer.email == "new@example.jp"

    new = "collector@attacker.example"
    with transaction.atomic(), connection.cursor() as cursor:
        request, code_mail, end = confirmed_request(customer, new)
        cursor.execute(*request)
        cursor.execute(*code_mail)
    assert at_commit(end, (SET_EMAIL, [new, customer.pk]),
                     audit(customer, "アドレス変更 ne***@example.jp → co***@attacker.example"),
                     mail(customer, "new@example.jp")) is None
