"""NOTE-1, NOTE-2, SEC-7, LEDGER-7 (outside review dbprobe33 F1, F2; notifications 0029): "the
customer is told" is a mail the transaction *wrote*. An old mail touched by an UPDATE — a change
of nothing, or a step of its delivery — is no mail of the transaction, for every rule that asks
for one (CI310 the address, CI306 an image card, …); the transaction that wrote a mail is the
database's to record and never changes. And the address-change request is dated by the
database's clock when it is written.

These tests need mails written by an earlier, committed transaction, so they commit
(``transaction=True``: each statement outside ``at_commit`` is its own transaction)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from notifications.models import OutboxMessage
from tests import factories
from tests.notifications.test_address_and_choices_taken_by_their_service import (
    ADDRESS,
    REQUEST,
    SET_EMAIL,
    at_commit,
    audit,
    confirmed_request,
    mail,
)

pytestmark = pytest.mark.django_db(transaction=True)

TOUCHES = {
    "a change of nothing": "UPDATE notifications_outboxmessage SET status = status WHERE id = %s",
    "再送 of a failed mail": ("UPDATE notifications_outboxmessage SET status = 'pending', attempts = 0"
                             " WHERE id = %s AND status = 'failed'"),
    "a pending mail marked sent": ("UPDATE notifications_outboxmessage SET status = 'sent', attempts = attempts + 1,"
                                  " sent_at = now() WHERE id = %s AND status = 'pending'"),
}


def old_mail(customer, event: str, to: str, status: str) -> int:
    """A mail of ``event`` to ``to`` written (and delivered to ``status``) by earlier, committed
    transactions, as the service and the worker would have."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status,"
                       " attempts, next_attempt_at, created_at) VALUES (%s, %s, %s, 's', 'b', 'pending', 0, now(),"
                       " now()) RETURNING id", [customer.pk, event, to])
        (mail_id,) = cursor.fetchone()
        if status != "pending":
            cursor.execute("UPDATE notifications_outboxmessage SET status = %s, attempts = 1,"
                           " sent_at = CASE WHEN %s = 'sent' THEN now() END WHERE id = %s", [status, status, mail_id])
    return mail_id


@pytest.mark.parametrize("touch", TOUCHES)
def test_an_old_mail_touched_does_not_tell_of_an_address_change(touch):
    """The repro of dbprobe33 M2 (CI310): a forged confirmed request, its audit row, and the old
    mail to the old address touched instead of written — refused; written, it is the forged
    class the rule accepts (the worker then sends it, or reports it unsealed)."""
    customer = factories.customer(email="suzuki@example.jp")
    status = {"再送 of a failed mail": "failed", "a pending mail marked sent": "pending"}.get(touch, "sent")
    earlier = old_mail(customer, "email_change", "suzuki@example.jp", status)
    new = "collector@attacker.example"
    steps = [*confirmed_request(customer, new), (SET_EMAIL, [new, customer.pk]),
             audit(customer, "アドレス変更 su***@example.jp → co***@attacker.example")]
    assert at_commit(*steps, (TOUCHES[touch], [earlier])) == ADDRESS
    assert at_commit(*steps, mail(customer, "suzuki@example.jp")) is None
    customer.refresh_from_db()
    assert customer.email == "suzuki@example.jp"


def test_an_old_card_issue_mail_touched_does_not_tell_of_a_planted_card():
    """The repro of dbprobe33 K1 (CI306): a planted image card with its audit row and the
    customer's old 「カード発行」 mail touched — refused."""
    from tests.security.test_factors_taken_by_their_service import TAKEN
    from tests.security.test_factors_taken_by_their_service import audit as security_audit
    from tests.security.test_factors_taken_by_their_service import mail as security_mail

    customer = factories.customer(email="sato@example.jp")
    earlier = old_mail(customer, "card_issue", "sato@example.jp", "sent")
    card = ("INSERT INTO security_imagecard (layout, is_active, issued_at, issued_by, customer_id)"
            " VALUES ('[]', true, now(), '', %s)", [customer.pk])
    planted = [card, security_audit(customer, "card_issue")]
    assert at_commit(*planted, (TOUCHES["a change of nothing"], [earlier])) == TAKEN
    assert at_commit(*planted, security_mail(customer, "card_issue")) is None


def test_the_transaction_that_wrote_a_mail_is_the_databases():
    customer = factories.customer(email="sato@example.jp")
    earlier = old_mail(customer, "login", "sato@example.jp", "sent")
    with connection.cursor() as cursor:
        cursor.execute("SELECT inserted_xact::text::bigint FROM notifications_outboxmessage WHERE id = %s", [earlier])
        (written,) = cursor.fetchone()
    assert written > 0
    for change in ("inserted_xact = pg_current_xact_id()", "inserted_xact = NULL"):
        assert at_commit((f"UPDATE notifications_outboxmessage SET {change} WHERE id = %s", [earlier])) == "CI204"
    # named by the INSERT: the database's value all the same
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status,"
                       " attempts, next_attempt_at, created_at, inserted_xact) VALUES (%s, 'login', %s, 's', 'b',"
                       " 'pending', 0, now(), now(), %s::text::xid8) RETURNING inserted_xact = pg_current_xact_id()",
                       [customer.pk, "sato@example.jp", written])
        assert cursor.fetchone() == (True,)
    assert OutboxMessage.objects.filter(customer=customer).count() == 2


def test_no_rule_reads_a_mail_by_its_row_version():
    """Every function that asks for a mail of its transaction reads ``inserted_xact``: one
    written anew with the old condition (xmin) would let a touched mail count again."""
    with connection.cursor() as cursor:
        cursor.execute(r"""SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                            WHERE n.nspname = 'public' AND (p.prosrc ~ 'transfers_row_of_this_xact\(m\.xmin\)'
                                                            OR p.prosrc ~ '\mo\.xmin\M')""")
        assert cursor.fetchall() == []
        cursor.execute("SELECT count(*) FROM pg_proc WHERE prosrc LIKE '%%m.inserted_xact IS NOT DISTINCT FROM%%'")
        assert cursor.fetchone()[0] >= 14


# --- dbprobe33 F2: the request is dated when it is written (CI241) ------------------------------

@pytest.mark.parametrize("dates", ["'2000-01-01', '2100-01-01'", "now(), now() + interval '2 days'",
                                   "now() + interval '1 hour', now() + interval '2 hours'"])
def test_a_request_is_dated_by_the_database_and_lives_a_day_at_most(dates, database_clock_strict):
    customer = factories.customer(email="suzuki@example.jp")
    forged = ("INSERT INTO notifications_emailchangerequest (customer_id, new_email, code_hash, failures, created_at,"
              f" expires_at) VALUES (%s, 'collector@attacker.example', 'x', 0, {dates})", [customer.pk])
    assert at_commit(forged) == "CI241"
    assert at_commit((REQUEST, [customer.pk, "collector@attacker.example"])) is None


def test_a_request_confirmed_long_ago_is_not_confirmed_again():
    """dbprobe33 R1: the customer's own confirmed request touched by a change of nothing."""
    customer = factories.customer(email="suzuki@example.jp")
    factories.address_changed(customer, "sato@example.jp")
    touch = ("UPDATE notifications_emailchangerequest SET outcome = outcome WHERE customer_id = %s", [customer.pk])
    assert at_commit(touch) == "CI241"
