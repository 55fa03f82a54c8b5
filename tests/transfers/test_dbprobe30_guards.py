"""XFER-1, XFER-5, XFER-8, STAFF-1, LEDGER-6, LEDGER-7 (outside review dbprobe30 F6, F4), as
the app's own role: closing days written by SQL for months no longer meet the customer as a
500 nor crash the 0:05 batch (CI221 mapped); the transfer limit and the bank maximum move
only as their services move them (CI235, CI236)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from accounts.models import Account, Journal
from cosei_ib import bankcalendar
from notifications.models import OutboxMessage
from security.models import AuditEvent
from tests import factories
from tests.accounts.closing_support import closing_days_audited
from security.audit import audit_record
from tests.accounts.test_ledger_lockdown import refused
from tests.conftest import clock_strict, limit_rules_held
from tests.security.test_staff_admin import staff, staff_client  # noqa: F401 - fixtures
from tests.transfers.support import payer
from tests.transfers.test_admin import settings_post
from tests.transfers.scheduled_support import funded_payer, schedule
from tests.transfers.test_batch_row_guards import _tokyo_today, as_the_app_role  # noqa: F401 - autouse fixture
from tests.transfers.test_interbank_guards import at_commit, refused_at_commit
from tests.transfers.test_views import _card, _to_details, signed_in  # noqa: F401 - the fixture
from transfers import scheduled, services
from transfers.models import OutgoingTransfer, Transfer, TransferLimit, TransferSettings
from transfers.selectors import daily_limit_in_force

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


# --- F4: the daily limit and the bank maximum move as their services move them (CI235, CI236) -


LIMIT_RULE, MAXIMUM_RULE = "CI235", "CI236"


def _sql(sql: str, params=None):
    def write():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    return write


def _limited(daily: int = 1_000_000):
    """A customer with a limit row of ``daily`` (written relaxed, as a DBA would)."""
    customer, _debit = payer()
    TransferLimit.objects.create(customer=customer, daily_limit=daily)
    return customer


def test_the_reviews_raise_to_a_billion_is_refused(limit_rules_strict, database_clock_strict):
    """dbprobe30 F4: the review's transaction — the bank maximum and customer 1's
    ``daily_limit`` to 10億円, no audit row — each refused; so is the same raise with the
    customer's audit row, a raise written as in force today, and a new row above the default."""
    customer = _limited()
    raise_now = "UPDATE transfers_transferlimit SET daily_limit = 1000000000, pending_limit = NULL, pending_from = NULL" \
                " WHERE customer_id = %s"
    assert refused(raise_now, [customer.pk]) == LIMIT_RULE
    assert refused_at_commit(_sql("UPDATE transfers_transfersettings SET bank_max_daily_limit = 1000000000,"
                                  " updated_at = now() WHERE id = 1")) == MAXIMUM_RULE
    audit_record(action="limit_change", outcome="success", customer=customer, summary="1,000,000円 → 1,000,000,000円")
    assert refused(raise_now, [customer.pk]) == LIMIT_RULE  # an audit row does not make it a cut
    today = _tokyo_today()
    for day in (today, today - dt.timedelta(days=1)):
        assert refused("UPDATE transfers_transferlimit SET pending_limit = 5000000, pending_from = %s"
                       " WHERE customer_id = %s", [day, customer.pk]) == LIMIT_RULE, day
    # a waiting raise moved into force before its day
    with connection.cursor() as cursor:
        cursor.execute("UPDATE transfers_transferlimit SET pending_limit = 5000000, pending_from = %s"
                       " WHERE customer_id = %s", [today + dt.timedelta(days=1), customer.pk])
    assert refused("UPDATE transfers_transferlimit SET daily_limit = pending_limit, pending_limit = NULL,"
                   " pending_from = NULL WHERE customer_id = %s", [customer.pk]) == LIMIT_RULE
    newcomer, _debit = payer()
    assert refused("INSERT INTO transfers_transferlimit (customer_id, daily_limit, updated_at)"
                   " VALUES (%s, 1000000000, now())", [newcomer.pk]) == LIMIT_RULE
    assert refused("INSERT INTO transfers_transferlimit (customer_id, daily_limit, pending_limit, pending_from,"
                   " updated_at) VALUES (%s, 1000000, 5000000, %s, now())",
                   [newcomer.pk, today + dt.timedelta(days=1)]) == LIMIT_RULE
    assert daily_limit_in_force(TransferLimit.objects.get(customer=customer), today) == 1_000_000


def test_a_change_without_the_customers_audit_row_is_refused_at_commit(limit_rules_strict, database_clock_strict):
    """dbprobe30 F4: a cut, or a raise written to wait for tomorrow, by SQL alone (no
    ``limit_change`` row of the customer in the transaction: CI235 at commit); another
    customer's row does not count."""
    customer, other = _limited(), _limited()
    tomorrow = _tokyo_today() + dt.timedelta(days=1)
    audit_record(action="limit_change", outcome="success", customer=other, summary="x")
    for sql, params in [
        ("UPDATE transfers_transferlimit SET daily_limit = 1000 WHERE customer_id = %s", [customer.pk]),
        ("UPDATE transfers_transferlimit SET pending_limit = 5000000, pending_from = %s WHERE customer_id = %s",
         [tomorrow, customer.pk]),
    ]:
        assert refused_at_commit(_sql(sql, params)) == LIMIT_RULE, sql


def test_the_bank_maximum_needs_a_staff_audit_row_naming_it(limit_rules_strict, staff):  # noqa: F811
    """dbprobe30 F4 (CI236): the maximum with an audit row of no staff user, of a staff user
    without transfers.manage_transfer_limit or inactive (transfers 0041), or naming another
    figure, is refused at commit; the admin's own row passes."""
    def written(actor, named):
        def write():
            _sql("UPDATE transfers_transfersettings SET bank_max_daily_limit = 20000000 WHERE id = 1")()
            audit_record(action="staff_transfer_settings", outcome="success", actor=actor,
                         summary=f"変更 利用限度額の上限 {named:,}円")
        return write
    assert refused_at_commit(written("staff01", 20_000_000)) == MAXIMUM_RULE  # no such staff user
    # transfers 0041: a staff user who may — not one holding another power, not an inactive one
    factories.staff_user_holding("staff-fees", "transfers.manage_fees")
    factories.staff_user_holding("staff-off", "transfers.manage_transfer_limit", is_active=False)
    for actor in ("staff-fees", "staff-off"):
        assert refused_at_commit(written(actor, 20_000_000)) == MAXIMUM_RULE, actor
    assert refused_at_commit(written("staff-t", 30_000_000)) == MAXIMUM_RULE
    written("staff-t", 20_000_000)()
    at_commit()


def test_staff_change_the_bank_maximum_in_admin_and_it_commits(limit_rules_strict, staff_client):  # noqa: F811
    """XFER-8, STAFF-1: the admin's change writes the staff audit row CI236 asks for."""
    response = settings_post(staff_client, {"bank_max_daily_limit": 5_000_000, "confirm_lower": "on"})
    assert response.status_code == 302
    at_commit()
    assert TransferSettings.objects.get(pk=1).bank_max_daily_limit == 5_000_000


def test_the_customers_cut_and_raise_commit_and_the_raise_counts_from_tomorrow(limit_rules_strict):
    """XFER-8: the service's cut (at once), raise (tomorrow 0:00) and, the next day, the
    raise in force and moved into the row by the next change — each commits (CI235)."""
    customer, _debit = payer()
    with clock_strict():
        services.transfer_limit_change(customer=customer, new_limit=300_000)
        at_commit()
        services.transfer_limit_change(customer=customer, new_limit=2_000_000)
        at_commit()
        limit = TransferLimit.objects.get(customer=customer)
        assert (limit.daily_limit, limit.pending_limit) == (300_000, 2_000_000)
        # the bare move of a raise not yet due is refused (by the database's clock)
        assert refused("UPDATE transfers_transferlimit SET daily_limit = pending_limit, pending_limit = NULL,"
                       " pending_from = NULL WHERE customer_id = %s", [customer.pk]) == LIMIT_RULE
    tomorrow = limit.pending_from
    # the app's clock on the raise's day (the database's stays today: the tests' slack)
    with time_machine.travel(dt.datetime.combine(tomorrow, dt.time(9), tzinfo=ZoneInfo("Asia/Tokyo")), tick=False):
        assert daily_limit_in_force(TransferLimit.objects.get(customer=customer), tomorrow) == 2_000_000
        services.transfer_limit_change(customer=customer, new_limit=1_500_000)  # moved in, then cut
        at_commit()
    limit.refresh_from_db()
    assert (limit.daily_limit, limit.pending_limit, limit.pending_from) == (1_500_000, None, None)


def test_a_due_raise_moves_into_force_without_an_audit_row():
    """XFER-8: the move of a raise on or after its day into ``daily_limit``, and nothing else,
    is no customer change (CI235 passes it with no audit row, by the database's clock)."""
    customer = _limited(300_000)
    TransferLimit.objects.filter(customer=customer).update(pending_limit=2_000_000, pending_from=_tokyo_today())
    at_commit()  # the raise written relaxed, as a DBA would, checked now
    with limit_rules_held(), clock_strict():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE transfers_transferlimit SET daily_limit = pending_limit, pending_limit = NULL,"
                           " pending_from = NULL WHERE customer_id = %s", [customer.pk])
        at_commit()
    assert TransferLimit.objects.get(customer=customer).daily_limit == 2_000_000


def test_the_customers_limit_change_through_the_pages_commits(limit_rules_strict, signed_in):  # noqa: F811
    """XFER-8: 利用限度額変更 on the pages (input, confirm with the card) commits."""
    client, customer, _debit = signed_in
    assert client.post(reverse("transfers:limit"), {"new_limit": "200000"}).url == reverse("transfers:limit_confirm")
    assert client.post(reverse("transfers:limit_confirm"), _card(customer)).url == reverse("transfers:limit_done")
    at_commit()
    assert TransferLimit.objects.get(customer=customer).daily_limit == 200_000
