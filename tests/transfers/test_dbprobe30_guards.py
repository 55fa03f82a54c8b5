"""XFER-1, XFER-5, XFER-8, STAFF-1, LEDGER-6, LEDGER-7 (outside review dbprobe30 F6, F4), as
the app's own role: closing days written by SQL for months no longer meet the customer as a
500 nor crash the 0:05 batch (CI221 mapped); the transfer limit and the bank maximum move
only as their services move them (CI235, CI236)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import Account, Journal
from cosei_ib import bankcalendar
from notifications.models import OutboxMessage
from security.models import AuditEvent
from tests.accounts.closing_support import closing_days_audited
from tests.conftest import clock_strict
from tests.transfers.scheduled_support import funded_payer, schedule
from tests.transfers.test_batch_row_guards import _tokyo_today, as_the_app_role  # noqa: F401 - autouse fixture
from tests.transfers.test_interbank_guards import at_commit
from tests.transfers.test_views import _card, _to_details, signed_in  # noqa: F401 - the fixture
from transfers import scheduled, services
from transfers.models import OutgoingTransfer, Transfer

pytestmark = pytest.mark.django_db


# --- F6: 臨時休業日 for months: a clear refusal, not a 500 (CI221) ---------------------------


def _closed_for_months() -> None:
    """The review's INSERT: 100 weekdays closed from today (the app's role, under the
    tests' clock slack; with the staff audit rows CI114 asks for by commit)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_bankclosingday (date, name, created_by, created_at)"
            " SELECT d::date, '臨時休業', 'staff01', now()"
            "   FROM generate_series((clock_timestamp() AT TIME ZONE 'Asia/Tokyo')::date,"
            "                        (clock_timestamp() AT TIME ZONE 'Asia/Tokyo')::date + 200, interval '1 day') d"
            "  WHERE extract(isodow FROM d) < 6 LIMIT 100")
    closing_days_audited()
    bankcalendar.closing_days_clear()


def test_a_transfer_the_settlement_rule_refuses_is_told_in_japanese_and_posts_nothing(signed_in):  # noqa: F811
    """dbprobe30 F6: an other-bank 振込 confirmed while closing days run on for 100
    weekdays: its 仕向 record's 決済日 is refused (CI221). The customer reads why on the
    confirm page's answer; no transfer, no posting, no record, no mail of it."""
    client, customer, debit = signed_in
    _closed_for_months()
    balance, journals = debit.balance, Journal.objects.count()
    mails = OutboxMessage.objects.filter(customer=customer).count()
    with clock_strict():
        assert _to_details(client, debit).url == reverse("transfers:details")
        response = client.post(reverse("transfers:details"), {"amount": "2000", "sender_name": "ﾔﾏﾀﾞ"})
        assert response.url == reverse("transfers:confirm")
        confirmation = re.search(r'name="confirmation" value="([^"]+)"',
                                 client.get(response.url).content.decode())[1]
        response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)},
                               follow=True)
    assert response.status_code == 200
    assert services.SETTLEMENT_UNAVAILABLE in response.content.decode()
    assert Account.objects.get(pk=debit.pk).balance == balance
    assert not Transfer.objects.filter(customer=customer).exists()
    assert not OutgoingTransfer.objects.exists()
    assert Journal.objects.count() == journals
    assert OutboxMessage.objects.filter(customer=customer).count() == mails
    assert not AuditEvent.objects.filter(customer=customer, action="transfer", outcome="success").exists()


@pytest.mark.parametrize("customers", [1, 2])  # alone, and a chunk of two (abandoned, then one by one)
def test_the_batch_makes_a_reservation_it_cannot_settle_unprocessed_and_goes_on(customers):
    """dbprobe30 F6: the 0:05 batch met the same CI221 and stopped. Each such 予約 is now
    未処理 (当金庫でのお取扱不可), told and audited (CI232 at commit), nothing posted."""
    today = _tokyo_today()
    booked = []
    for n in range(customers):
        customer, account = funded_payer(100_000, day=today, email=f"payer{n}@example.jp")
        booked.append((schedule(customer, account, 10_000, day=today), account))
    _closed_for_months()
    with clock_strict():
        result = scheduled.transfers_execute_due(day=today)
        at_commit()
    assert (result.executed, result.unprocessed) == (0, customers)
    for transfer, account in booked:
        transfer.refresh_from_db()
        account.refresh_from_db()
        assert (transfer.status, transfer.unprocessed_reason, transfer.journal_id) == (
            "unprocessed", Transfer.Reason.POSTING_REFUSED, None)
        assert account.balance == 100_000
        assert OutboxMessage.objects.filter(customer=transfer.customer, event="transfer_unprocessed").count() == 1
    assert not OutgoingTransfer.objects.exists()
