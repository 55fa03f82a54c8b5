"""NOTE-1, NOTE-2, NOTE-3, LEDGER-7 (outside review dbprobe27 F2, F6; notifications 0015): as
the app's role, no date Python cannot load in these tables, a mail that cannot be loaded
fails alone, and no address or choice of notices changed and changed back in one
transaction to slip a mail through."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, DataError, connection, transaction

from accounts.models import Account, Journal
from accounts.services import PostingLine, journal_post
from notifications import tasks
from notifications.models import OutboxMessage, PostingNotice
from notifications.services import notice_enqueue
from tests import factories
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db

CHECK_VIOLATION = "23514"
UNLOADABLE = ["infinity", "-infinity", "0044-03-15 BC", "9999-12-31 23:00+00"]
# written by the database's own triggers (clock_timestamp()), never by the app
HELD_OTHERWISE = {("notifications_emailaddresschange", "changed_at"),
                  ("notifications_noticepreferencechange", "changed_at")}

INSERT_MAIL = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
               " next_attempt_at, created_at) VALUES (%s, 'login', %s, 's', 'b', 'pending', 0, %s, %s)"
               " RETURNING id")


def test_every_date_and_time_column_of_the_notifications_tables_is_held_loadable():
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.table_name, c.column_name FROM information_schema.columns c
             WHERE c.table_schema = 'public' AND c.data_type IN ('date', 'timestamp with time zone')
               AND c.table_name LIKE 'notifications\\_%%'
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                                WHERE k.conrelid = ('public.' || c.table_name)::regclass AND k.contype = 'c'
                                  AND k.conname = c.table_name || '_' || c.column_name || '_loadable')""")
        assert set(cursor.fetchall()) == HELD_OTHERWISE


@pytest.mark.parametrize("value", UNLOADABLE)
def test_a_mail_is_loadable_and_dated_by_the_database_when_the_app_is_far_off(value, database_clock_strict):
    """F2a: a pending mail dated 'infinity' due first stopped every outbox run."""
    customer = factories.customer(email="a@example.jp")
    with connection.cursor() as cursor:
        cursor.execute(INSERT_MAIL + ", abs(extract(epoch FROM created_at - clock_timestamp())) < 60",
                       [customer.pk, "a@example.jp", "now", value])
        mail_id, now = cursor.fetchone()
    assert now
    if value in ("-infinity", "0044-03-15 BC"):  # a later first try is made now (notifications 0014)
        assert refused(INSERT_MAIL, [customer.pk, "a@example.jp", value, "now"]) == CHECK_VIOLATION
    OutboxMessage.objects.get(pk=mail_id)  # it loads
    assert refused("UPDATE notifications_outboxmessage SET status = 'sent', attempts = 1, sent_at = %s WHERE id = %s",
                   [value, mail_id]) == CHECK_VIOLATION


def test_a_mail_dated_within_the_clock_slack_keeps_its_time(database_clock_strict):
    customer = factories.customer(email="a@example.jp")
    written = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    with connection.cursor() as cursor:
        cursor.execute(INSERT_MAIL, [customer.pk, "a@example.jp", "now", written])
        mail_id = cursor.fetchone()[0]
    assert OutboxMessage.objects.get(pk=mail_id).created_at == written


@pytest.mark.parametrize("value", UNLOADABLE)
def test_a_choice_a_request_and_a_processed_notice_are_loadable(value):
    customer = factories.customer(email="a@example.jp")
    assert refused("INSERT INTO notifications_noticepreference (customer_id, postings, receipts, login, updated_at)"
                   " VALUES (%s, true, true, false, %s)", [customer.pk, value]) == CHECK_VIOLATION
    request = ("INSERT INTO notifications_emailchangerequest (customer_id, new_email, code_hash, failures, expires_at,"
               " created_at) VALUES (%s, 'b@example.jp', 'x', 0, %s, %s)")
    # refused by its CHECK, or first by the request's own dates (notifications 0026, CI241)
    assert refused(request, [customer.pk, value, "now"]) in (CHECK_VIOLATION, "CI241")
    assert refused(request, [customer.pk, "now", value]) in (CHECK_VIOLATION, "CI241")
    account = factories.account(owner=customer)
    journal_post(lines=[PostingLine(factories.internal(Account.Purpose.CASH), -1_000), PostingLine(account, 1_000)],
                 kind=Journal.Kind.DEPOSIT, description="入金", idempotency_key=factories.unique("loadable-"))
    notice = PostingNotice.objects.get(account=account)
    assert refused("UPDATE notifications_postingnotice SET processed_at = %s WHERE id = %s",
                   [value, notice.pk]) in (CHECK_VIOLATION, "CI204")


def test_the_sender_fails_alone_a_mail_it_cannot_load(monkeypatch):
    """F2a: the sender reads the due ids first and loads each mail on its own; one it cannot
    load (DataError: a date out of Python's range — the CHECKs keep new ones out) is 送信失敗
    after one try and the mails behind it are sent in the same run."""
    customer = factories.customer(email="a@example.jp")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    bad = OutboxMessage.objects.create(customer=customer, event="login", to="a@example.jp", subject="s", body="b",
                                       next_attempt_at=past)
    good = notice_enqueue(customer=customer, event="password_change", lines=["x"])
    loaded = OutboxMessage.from_db.__func__

    def from_db(cls, db, field_names, values):
        if values[0] == bad.pk:
            raise DataError("timestamp too large (after year 10K)")
        return loaded(cls, db, field_names, values)

    monkeypatch.setattr(OutboxMessage, "from_db", classmethod(from_db))
    assert tasks.outbox_send_pending() == 1
    monkeypatch.undo()
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (bad.status, bad.attempts) == ("failed", 1) and good.status == "sent"


def committed_refusal(*statements) -> str | None:
    """``statements`` (sql, params) in one transaction of the app's role; the SQLSTATE its
    commit — or a statement — failed with."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
    return getattr(caught.value.__cause__, "sqlstate", None)


SET_EMAIL = "UPDATE accounts_customer SET email = %s WHERE id = %s"


@pytest.mark.django_db(transaction=True)
def test_an_address_changed_and_changed_back_in_one_transaction_is_refused():
    """F6a: a bank-signed mail to any address — the address changed, the mail written to it,
    the address put back. F6c/F6d (a ご出金 notice made 送信対象外, or sent elsewhere) took
    the same round trip."""
    customer = factories.customer(email="yamada@example.jp")
    mail = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
            " next_attempt_at, created_at) VALUES (%s, 'login', %s, 's', 'https://evil.example/', 'pending', 0,"
            " now(), now())")
    assert committed_refusal((SET_EMAIL, ["anyone@attacker.example", customer.pk]),
                             (mail, [customer.pk, "anyone@attacker.example"]),
                             (SET_EMAIL, ["yamada@example.jp", customer.pk])) == "CI244"  # the mail: 0020
    # a bare change is no service's since notifications 0022 (CI310, dbprobe31 F2), round trip or not
    assert committed_refusal((SET_EMAIL, ["anyone@attacker.example", customer.pk]),
                             (SET_EMAIL, ["yamada@example.jp", customer.pk])) == "CI310"
    assert committed_refusal((SET_EMAIL, ["", customer.pk]), (SET_EMAIL, ["x@example.jp", customer.pk]),
                             (SET_EMAIL, ["yamada@example.jp", customer.pk])) == "CI310"
    # the round trip with each step's service writes (request, code, audit row, mails) is CI240
    assert serviced_round_trip(customer, "anyone@attacker.example", "yamada@example.jp") == "CI240"
    assert serviced_round_trip(customer, "", "yamada@example.jp") == "CI240"
    assert not OutboxMessage.objects.filter(to="anyone@attacker.example").exists()
    customer.refresh_from_db()
    assert customer.email == "yamada@example.jp"
    # one change a transaction, as the service makes it, and two changes that end elsewhere
    factories.address_changed(customer, "new@example.jp")
    with transaction.atomic():
        factories.address_changed(customer, "x@example.jp")
        factories.address_changed(customer, "third@example.jp")
    customer.refresh_from_db()
    assert customer.email == "third@example.jp"


def serviced_round_trip(customer, away: str, back: str) -> str | None:
    """The customer's address changed to ``away`` and then to ``back`` by the services
    (``tests.factories.address_changed``: '' is a removal) in one transaction; the SQLSTATE
    its commit failed with."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        factories.address_changed(customer, away)
        factories.address_changed(customer, back)
    return getattr(caught.value.__cause__, "sqlstate", None)


SET_CHOICE = ("INSERT INTO notifications_noticepreference (customer_id, postings, receipts, login, updated_at)"
              " VALUES (%s, %s, true, false, now()) ON CONFLICT (customer_id) DO UPDATE SET postings = EXCLUDED.postings")


@pytest.mark.django_db(transaction=True)
def test_a_choice_of_notices_changed_and_changed_back_in_one_transaction_is_refused():
    """The F6 variant dbprobe27 read in the notice guard: 入出金のお知らせ off, a notice
    processed into a 送信対象外 mail, and on again."""
    customer = factories.customer(email="yamada@example.jp")
    assert committed_refusal((SET_CHOICE, [customer.pk, False]), (SET_CHOICE, [customer.pk, True])) == "CI240"
    assert committed_refusal(
        (SET_CHOICE, [customer.pk, False]),
        ("DELETE FROM notifications_noticepreference WHERE customer_id = %s", [customer.pk])) == "CI240"
    # a bare change is no service's since notifications 0022 (CI311, dbprobe31 F5); the round
    # trip with each step's service writes (step-up, audit row, mail) is still CI240
    assert committed_refusal((SET_CHOICE, [customer.pk, False])) == "CI311"
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        factories.notices_chosen(customer, postings=False)
        factories.notices_chosen(customer, postings=True)
    assert getattr(caught.value.__cause__, "sqlstate", None) == "CI240"
    factories.notices_chosen(customer, postings=False)
    factories.notices_chosen(customer, postings=True)


# --- F6b: an address-change request is never deleted, only ended (notifications 0016) ------

REQUEST = ("INSERT INTO notifications_emailchangerequest (customer_id, new_email, code_hash, failures, expires_at,"
           " created_at, ended_at, outcome) VALUES (%s, %s, 'x', %s, now() + interval '10 minutes', now(), %s, %s)"
           " RETURNING id")
CODE_MAIL = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
             " next_attempt_at, created_at) VALUES (%s, 'email_verify', %s, 's', 'any text, signed by the bank',"
             " 'pending', 0, now(), now())")


@pytest.mark.django_db(transaction=True)
def test_the_request_of_a_code_mail_stays():
    """F6b: the app's role wrote a request and a code mail with any text to its address,
    committed, and deleted the request next — no trace but the mail. The request stays."""
    customer = factories.customer(email="owner@example.jp")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(REQUEST, [customer.pk, "someone@elsewhere.example", 0, None, ""])
        request_id = cursor.fetchone()[0]
        cursor.execute(CODE_MAIL, [customer.pk, "someone@elsewhere.example"])
    assert refused("DELETE FROM notifications_emailchangerequest WHERE id = %s", [request_id]) == "CI241"
    for change in ("new_email = 'other@example.jp'", "code_hash = 'y'", "failures = 3", "created_at = now()",
                   "expires_at = now() + interval '1 day'", "ended_at = now()", "outcome = 'confirmed'",
                   "outcome = 'mine', ended_at = now()"):
        assert refused(f"UPDATE notifications_emailchangerequest SET {change} WHERE id = %s", [request_id]) == "CI241"
    with connection.cursor() as cursor:  # a wrong code, then its end
        cursor.execute("UPDATE notifications_emailchangerequest SET failures = 1 WHERE id = %s", [request_id])
        cursor.execute("UPDATE notifications_emailchangerequest SET ended_at = '2000-01-01', outcome = 'expired'"
                       " WHERE id = %s RETURNING abs(extract(epoch FROM ended_at - clock_timestamp())) < 60",
                       [request_id])
        assert cursor.fetchone()[0]  # dated by the database
    assert refused("UPDATE notifications_emailchangerequest SET failures = 2 WHERE id = %s", [request_id]) == "CI241"
    assert refused("DELETE FROM notifications_emailchangerequest WHERE id = %s", [request_id]) == "CI241"
    # born open, and a code mail only to an open one's address
    for ended_at, outcome, failures in ((None, "", 1), ("now", "replaced", 0), (None, "expired", 0)):
        assert committed_refusal((REQUEST, [customer.pk, "n@example.jp", failures, ended_at, outcome])) == "CI241"
    assert committed_refusal((CODE_MAIL, [customer.pk, "someone@elsewhere.example"])) == "CI204"


def test_the_services_end_a_request_and_keep_it():
    from notifications.models import EmailChangeRequest
    from notifications.services import EmailSettingError, email_change_confirm, email_change_request, email_remove

    customer = factories.customer(email="old@example.jp")
    email_change_request(customer=customer, new_email="first@example.jp", ip=None)
    email_change_request(customer=customer, new_email="second@example.jp", ip=None)
    with pytest.raises(EmailSettingError):
        email_change_confirm(customer=customer, code="000000x", ip=None)
    email_change_request(customer=customer, new_email="third@example.jp", ip=None)
    email_remove(customer=customer, email="old@example.jp", ip=None)
    kept = list(EmailChangeRequest.objects.filter(customer=customer).order_by("id").values_list(
        "new_email", "outcome", "failures"))
    assert kept == [("first@example.jp", "replaced", 0), ("second@example.jp", "replaced", 1),
                    ("third@example.jp", "removed", 0)]
    assert not EmailChangeRequest.objects.open().exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("to", "status", "code"), [
    ("", "skipped", "CI310"),  # CI240 before notifications 0022: the address changed by no service
    ("collector@attacker.example", "pending", "CI244"),  # the mail to it, as written (notifications 0020)
])
def test_a_debit_notice_is_not_silenced_or_sent_elsewhere_by_a_round_trip(to, status, code):
    """F6c, F6d: in the posting's transaction the address was set to none (or the
    attacker's), the ご出金 notice processed into a 送信対象外 mail (or a mail to that
    address), and the address put back."""
    owner = factories.customer(email="yamada@example.jp")
    account = factories.account(owner=owner, balance=10_000)
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        journal_post(lines=[PostingLine(account, -1_000), PostingLine(factories.internal(Account.Purpose.CASH), 1_000)],
                     kind=Journal.Kind.WITHDRAWAL, description="ATM出金", idempotency_key=factories.unique("f6c-"))
        notice = PostingNotice.objects.get(account=account, amount=-1_000)
        with connection.cursor() as cursor:
            cursor.execute(SET_EMAIL, [to, owner.pk])
            cursor.execute("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status,"
                           " attempts, next_attempt_at, created_at) VALUES (%s, 'withdrawal', %s, 'ご出金のお知らせ',"
                           " %s, %s, 0, now(), now()) RETURNING id", [owner.pk, to, "x\n金額　　：1,000円\n", status])
            cursor.execute("UPDATE notifications_postingnotice SET processed_at = now(), message_id = %s WHERE id = %s",
                           [cursor.fetchone()[0], notice.pk])
            cursor.execute(SET_EMAIL, ["yamada@example.jp", owner.pk])
    assert getattr(caught.value.__cause__, "sqlstate", None) == code
    assert not PostingNotice.objects.filter(account=account, amount=-1_000).exists()  # the posting went too
