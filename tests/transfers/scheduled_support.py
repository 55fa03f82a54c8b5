"""Helpers for the scheduled-transfer tests (issue 9, XFER-5/6).

The database stamps postings with its own clock, so these tests use real past dates: a
transfer is scheduled with Python's clock frozen the day before its date, the payer's money
is deposited with a backdated ``posted_at``, and the batch then runs for that past date (a
missed day, which the batch catches up with the same rule)."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.db import transaction
from django.utils import timezone

from cosei_ib import bankcalendar
from tests import factories
from tests.transfers.support import content_for, other_bank_payee, payer
from transfers import scheduled


def past_business_day(days_back: int = 10) -> dt.date:
    """A business day well before the real today (the database's clock)."""
    return bankcalendar.previous_business_day(dt.date.today() - dt.timedelta(days=days_back))


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return bankcalendar.start_of_day(day) + dt.timedelta(hours=hour, minutes=minute)


def funded_payer(balance: int, *, day: dt.date, email: str = "payer@example.jp"):
    """A customer whose account got ``balance`` two days before ``day`` (backdated), from
    the cash account. Several payers in a transactional test: call it for all of them inside
    one ``transaction.atomic()`` — a backdated posting may not touch the cash account once
    it has an entry from another transaction (accounts 0026)."""
    # one transaction: ledger_post() backdates only onto accounts opened with the posting
    # (LEDGER-7; a transactional test commits each statement otherwise)
    with transaction.atomic():
        customer, account = payer(balance=0, email=email)
        if balance:
            factories.deposit(account, balance, posted_at=at(day - dt.timedelta(days=2), 12))
    account.refresh_from_db()
    return customer, account


def schedule(customer, account, amount: int, *, day: dt.date, payee: dict | None = None, hour: int = 10):
    """Schedule a transfer for ``day``, made at ``hour`` o'clock the day before — or now, when
    that is still to come and ``day`` within the booking horizon from now: the database
    takes a booking made now, or before (the tests' past days), of an account opened
    earlier (transfers 0020: a transactional test's)."""
    when = at(day - dt.timedelta(days=1), hour)
    if when > timezone.now() and day <= timezone.localdate() + dt.timedelta(days=scheduled.horizon_days()):
        when = timezone.now()
    with time_machine.travel(when, tick=False):
        content = content_for(customer, account, payee or other_bank_payee(), amount, day=day, check=False)
        return book(customer, content)


def book(customer, content: dict):
    """``scheduled_transfer_create`` confirmed by a step-up of ``customer`` (transfers 0012)."""
    return factories.confirmed(customer, "transfer", content, lambda stepup_id: scheduled.scheduled_transfer_create(
        customer=customer, stepup_id=stepup_id, content=content))


def told_as_the_batch(transfer_id: int) -> None:
    """The batch's audit row and mail of a 予約 a test moved to 未処理 or 振込済 itself, as
    the batch writes them with the step (transfers 0034, CI232)."""
    from transfers.models import Transfer

    scheduled.result_told(Transfer.objects.select_related("customer", "debit_account").get(pk=transfer_id))
