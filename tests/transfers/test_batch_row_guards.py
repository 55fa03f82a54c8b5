"""XFER-5, XFER-6, XFER-7, XFER-8, XFER-12, LEDGER-7 (dbprobe26 F4, F5, F8, F13): rows the
outside review planted as the app's own database role (the role every test connects as) to
stop the nightly 予約振込 batch or the day's 仕向 file, or to repoint a registered payee: the
database refuses each, and one transfer the ledger refuses leaves the batch running."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection, transaction

from accounts.errors import InvalidPosting
from tests.accounts.test_ledger_lockdown import refused
from tests.transfers.scheduled_support import funded_payer, past_business_day, schedule
from tests.transfers.support import payer
from tests.transfers.test_record_guards import _copy_of, _stepup_for, future_day
from transfers import scheduled
from transfers.models import Transfer

pytestmark = pytest.mark.django_db

ROW = "CI211"


@pytest.fixture(autouse=True)
def as_the_app_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == settings.DATABASES["default"]["USER"]


def _tokyo_today() -> dt.date:
    with connection.cursor() as cursor:
        cursor.execute("SELECT (clock_timestamp() AT TIME ZONE 'Asia/Tokyo')::date")
        return cursor.fetchone()[0]


# --- F4: a 予約中 transfer the batch cannot post or load ----------------------------------------


@pytest.mark.parametrize("name, changes, columns, code", [
    # (a) 同一店宛 with no payee account at our bank: transfer_lines had a line with no account
    ("same branch, no payee account", {"route": "same_branch", "bank_code": "1633", "branch_code": "001"},
     {"credit_account_id": ("NULL", [])}, ROW),
    ("an unknown route", {"route": "teleport"}, {}, ROW),
    ("our bank's code as another bank", {"bank_code": "1633"}, {}, ROW),
    # (b) 振込日 44 BC: psycopg cannot load it, the claim itself failed
    ("a date BC", {"transfer_date": "0044-03-15 BC"}, {}, ROW),
    ("beyond the booking horizon", {"transfer_date": "+61"}, {}, ROW),
    ("booked in 2000 (first in the batch's order)", {}, {"created_at": ("'2000-01-01 00:00+00'", [])}, ROW),
    ("booked in the future", {}, {"created_at": ("clock_timestamp() + interval '1 hour'", [])}, ROW),
    ("a short account number", {"account_number": "12345"}, {}, "23514"),
    ("a bank code of letters", {"bank_code": "AB12"}, {}, "23514"),
])
@pytest.mark.django_db(transaction=True)  # the payer's account from before: no test's own (transfers 0020)
def test_a_transfer_row_the_batch_cannot_take_is_refused(name, changes, columns, code):
    """dbprobe26 F4 (transfers 0020): each row confirmed by a step-up of its own customer
    (so the confirmation rule, CI202, passes) — and still refused: the route and payee
    account are the ones transfer_route gives (CI211), the dates are the booking day to the
    horizon, booked now (CI211), the codes are digits of their length (23514)."""
    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=future_day())
    if changes.get("transfer_date") == "+61":
        changes = {"transfer_date": (_tokyo_today() + dt.timedelta(days=61)).isoformat()}
    with transaction.atomic():  # the step-up used by the row's own transaction (transfers 0012)
        stepup = _stepup_for(customer, booked, **changes)
        overrides = {column: ("%s", [value]) for column, value in changes.items()} | columns
        sql, params = _copy_of(booked, stepup_id=("%s", [stepup.pk]), **overrides)
        assert refused(sql, params) == code, name
    assert Transfer.objects.count() == 1


def test_a_same_bank_transfer_names_its_payee_account_by_route():
    """(transfers 0020) 同一店宛 only to an account of the debit account's branch, with its
    店番, 科目 and 口座番号; the booking itself passes."""
    customer, account = payer()
    _, payee_account = payer(email="payee@example.jp")
    from tests.transfers.support import our_payee
    booked = schedule(customer, account, 10_000, day=future_day(), payee=our_payee(payee_account))
    assert (booked.route, booked.credit_account_id) == ("same_branch", payee_account.pk)
    for changes in ({"account_number": "7654321"}, {"route": "other_branch"}, {"branch_code": "002"}):
        stepup = _stepup_for(customer, booked, **changes)
        sql, params = _copy_of(booked, stepup_id=("%s", [stepup.pk]),
                               **{column: ("%s", [value]) for column, value in changes.items()})
        assert refused(sql, params) == ROW, changes


def test_a_transfer_the_ledger_refuses_is_unprocessed_and_the_batch_goes_on(monkeypatch):
    """dbprobe26 F4: any LedgerError of one transfer's posting (here InvalidPosting, as the
    planted 同一店宛 row without an account gave) makes that transfer 未処理 「当金庫でのお取扱
    不可」 with its audit row and mail; the other customers' transfers execute."""
    from notifications.models import OutboxMessage

    day = past_business_day()
    with transaction.atomic():
        first, first_account = funded_payer(50_000, day=day, email="first@example.jp")
        second, second_account = funded_payer(50_000, day=day, email="second@example.jp")
    poisoned = schedule(first, first_account, 10_000, day=day)
    later = schedule(second, second_account, 10_000, day=day, hour=11)
    post = scheduled._post

    def refusing(transfer, internal=None):
        if transfer.pk == poisoned.pk:
            raise InvalidPosting("a line without an account")
        return post(transfer, internal)

    monkeypatch.setattr(scheduled, "_post", refusing)
    result = scheduled.transfers_execute_due(day=day)
    assert (result.executed, result.unprocessed) == (1, 1)
    poisoned.refresh_from_db()
    later.refresh_from_db()
    assert (poisoned.status, poisoned.unprocessed_reason, later.status) == (
        "unprocessed", Transfer.Reason.POSTING_REFUSED, "executed")
    first_account.refresh_from_db()
    assert first_account.balance == 50_000
    assert OutboxMessage.objects.filter(customer=first, event="transfer_unprocessed").count() == 1

