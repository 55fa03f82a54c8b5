"""NOTE-1, NOTE-2, NOTE-3, LEDGER-7 (outside review dbprobe28 F2; notifications 0017): the
database compares a customer's addresses as ``address_same`` does (any letter case). An
address changed to the attacker's and back to the same mailbox in other letter case inside
one transaction (a ご出金 notice mailed to the attacker, none to the customer) is CI240."""

from __future__ import annotations

import re

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import Account, Journal
from accounts.services import PostingLine, journal_post
from notifications.models import OutboxMessage, PostingNotice
from notifications.services import (
    address_same,
    email_change_confirm,
    email_change_request,
    posting_notices_process,
)
from tests import factories
from tests.notifications.test_loadable_and_round_trip import SET_EMAIL, committed_refusal, serviced_round_trip

pytestmark = pytest.mark.django_db(transaction=True)

MAIL = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
        " next_attempt_at, created_at) VALUES (%s, %s, %s, 's', %s, %s, 0, now(), now()) RETURNING id")


@pytest.mark.parametrize(("to", "status", "code"), [
    ("collector@attacker.example", "pending", "CI244"),  # since notifications 0020: the mail itself
    ("", "skipped", "CI310"),  # CI240 before notifications 0022: the address changed by no service
])
def test_a_debit_notice_is_not_sent_elsewhere_by_a_round_trip_in_other_letter_case(to, status, code):
    """The repro of F2 (and of dbprobe27 F6c with an address of '' on the way). Since
    notifications 0020 (dbprobe30 F7) the mail to the attacker's address is refused as it is
    written (CI244); since notifications 0022 (dbprobe31 F2) the round trip through '' is
refused as an address changed by no service (CI310) — through the services it is CI240."""
    owner = factories.customer(email="yamada@example.jp")
    account = factories.account(owner=owner, balance=50_000)
    assert address_same("Yamada@example.jp", owner.email)
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        journal_post(lines=[PostingLine(account, -30_000), PostingLine(factories.internal(Account.Purpose.CASH), 30_000)],
                     kind=Journal.Kind.WITHDRAWAL, description="ATMお引出し", idempotency_key=factories.unique("f2-"))
        notice = PostingNotice.objects.get(account=account, amount=-30_000)
        with connection.cursor() as cursor:
            cursor.execute(SET_EMAIL, [to, owner.pk])
            cursor.execute(MAIL, [owner.pk, "withdrawal", to, "x\n金額　　：30,000円\n", status])
            cursor.execute("UPDATE notifications_postingnotice SET processed_at = now(), message_id = %s WHERE id = %s",
                           [cursor.fetchone()[0], notice.pk])
            cursor.execute(SET_EMAIL, ["Yamada@example.jp", owner.pk])
    assert getattr(caught.value.__cause__, "sqlstate", None) == code
    owner.refresh_from_db()
    assert owner.email == "yamada@example.jp" and not OutboxMessage.objects.filter(to=to, customer=owner).exists()


@pytest.mark.parametrize("back", ["YAMADA@EXAMPLE.JP", "Yamada@Example.jp"])
def test_an_address_is_not_changed_to_itself_in_other_letter_case(back):
    owner = factories.customer(email="yamada@example.jp")
    assert committed_refusal((SET_EMAIL, ["anyone@attacker.example", owner.pk]),
                             (MAIL, [owner.pk, "login", "anyone@attacker.example", "https://evil.example/", "pending"]),
                             (SET_EMAIL, [back, owner.pk])) == "CI244"  # the mail (0020)
    # a bare change is no service's (CI310, notifications 0022); through the services, CI240
    assert committed_refusal((SET_EMAIL, ["anyone@attacker.example", owner.pk]),
                             (SET_EMAIL, [back, owner.pk])) == "CI310"
    assert committed_refusal((SET_EMAIL, [back, owner.pk])) == "CI310"
    assert serviced_round_trip(owner, "anyone@attacker.example", back) == "CI240"


def test_the_guards_take_the_customers_mailbox_in_any_letter_case():
    """The outbox insert guard and the notice guard agree with address_same: a mail to the
    customer's address in other letter case is the customer's."""
    owner = factories.customer(email="Yamada@example.jp")
    account = factories.account(owner=owner, balance=10_000)
    journal_post(lines=[PostingLine(account, -1_000), PostingLine(factories.internal(Account.Purpose.CASH), 1_000)],
                 kind=Journal.Kind.WITHDRAWAL, description="ATM出金", idempotency_key=factories.unique("f2-guard-"))
    notice = PostingNotice.objects.get(account=account, amount=-1_000)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(MAIL, [owner.pk, "withdrawal", "yamada@example.jp", "x\n金額　　：1,000円\n", "pending"])
        cursor.execute("UPDATE notifications_postingnotice SET processed_at = now(), message_id = %s WHERE id = %s",
                       [cursor.fetchone()[0], notice.pk])
    assert committed_refusal((MAIL, [owner.pk, "login", "yamada@attacker.example", "x", "pending"])) == "CI204"


def test_the_service_still_changes_an_address_and_sends_the_notices():
    owner = factories.customer(email="old@example.jp")
    account = factories.account(owner=owner, balance=10_000)
    email_change_request(customer=owner, new_email="New@Example.jp", ip=None)
    mail = OutboxMessage.objects.filter(event="email_verify", customer=owner).latest("id")
    code = re.search(r"確認コード：(\d{6})", mail.body).group(1)
    email_change_confirm(customer=owner, code=code, ip=None)
    owner.refresh_from_db()
    assert address_same(owner.email, "new@example.jp")
    assert OutboxMessage.objects.filter(event="email_change", to="old@example.jp").exists()
    journal_post(lines=[PostingLine(account, -1_000), PostingLine(factories.internal(Account.Purpose.CASH), 1_000)],
                 kind=Journal.Kind.WITHDRAWAL, description="ATM出金", idempotency_key=factories.unique("f2-svc-"))
    posting_notices_process()
    assert OutboxMessage.objects.filter(event="withdrawal", to=owner.email).exists()


@pytest.mark.parametrize("back", ["yamada+ib@example.jp", "taro@example.jp"])
def test_no_notice_goes_to_an_address_this_transaction_set(back):
    """dbprobe30 F7: address → the attacker's, a ご出金 mail to it, then "back" to
    yamada+ib@example.jp — no round trip for CI240 (another string), the customer's inbox at
    most providers, and the worker sent the mail to the attacker. The mail is refused as it
    is written (CI244), whatever address follows; the service's own address change (its
    code and its 変更 mails) still commits."""
    owner = factories.customer(email="yamada@example.jp")
    assert committed_refusal((SET_EMAIL, ["collector@attacker.example", owner.pk]),
                             (MAIL, [owner.pk, "withdrawal", "collector@attacker.example", "x", "pending"]),
                             (SET_EMAIL, [back, owner.pk])) == "CI244"
    assert committed_refusal((SET_EMAIL, ["Collector@Attacker.example", owner.pk]),
                             (MAIL, [owner.pk, "login", "collector@attacker.example", "x", "pending"])) == "CI244"
    owner.refresh_from_db()
    assert owner.email == "yamada@example.jp" and not OutboxMessage.objects.filter(customer=owner).exists()
    email_change_request(customer=owner, new_email="yamada+ib@example.jp", ip=None)
    code = re.search(r"確認コード：(\d{6})", OutboxMessage.objects.get(customer=owner, event="email_verify").body)[1]
    email_change_confirm(customer=owner, code=code, ip=None)
    owner.refresh_from_db()
    assert owner.email == "yamada+ib@example.jp"
    assert OutboxMessage.objects.filter(customer=owner, event="email_change").count() == 2
