"""Money rules at their boundaries (review6): the second the service closes, the last day
of the booking horizon, the day's limit across midnight JST, the fee band and 先方負担.
LEDGER-6, XFER-4, XFER-5, XFER-8, XFER-11."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from accounts.models import Journal
from cosei_ib import bankcalendar
from tests import factories
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from transfers import scheduled, services
from transfers.models import Transfer
from transfers.selectors import transfer_limit_view

pytestmark = pytest.mark.django_db

JST_MIDNIGHT = timezone.make_aware(dt.datetime(2027, 3, 2))  # Tuesday 00:00 JST = Monday 15:00 UTC


def tokyo(*args) -> dt.datetime:
    return timezone.make_aware(dt.datetime(*args))


@pytest.fixture
def enforced(settings):
    settings.SERVICE_HOURS_ENFORCED = True


# --- service hours to the second (LEDGER-6) --------------------------------------------------


@pytest.mark.parametrize(("moment", "service", "open_"), [
    (tokyo(2027, 3, 1, 6, 59, 59), "default", False), (tokyo(2027, 3, 1, 7), "default", True),
    (tokyo(2027, 3, 1, 21, 59, 59), "default", True), (tokyo(2027, 3, 1, 22), "default", False),
    (tokyo(2027, 3, 1, 21, 44, 59), "payeasy", True), (tokyo(2027, 3, 1, 21, 45), "payeasy", False),
    (tokyo(2027, 3, 6, 7, 59, 59), "default", False), (tokyo(2027, 3, 6, 8), "default", True),  # Saturday
    (tokyo(2027, 3, 6, 20, 59, 59), "default", True), (tokyo(2027, 3, 6, 21), "default", False),
    (tokyo(2027, 2, 11, 20, 44, 59), "payeasy", True), (tokyo(2027, 2, 11, 20, 45), "payeasy", False),  # 建国記念の日
    # the same moments given in UTC: the JST clock decides
    (dt.datetime(2027, 3, 1, 12, 59, 59, tzinfo=dt.UTC), "default", True),
    (dt.datetime(2027, 3, 1, 13, tzinfo=dt.UTC), "default", False),
])
def test_service_hours_at_the_second(enforced, moment, service, open_):
    assert bankcalendar.is_service_open(service, moment) is open_


def test_a_transfer_at_the_closing_second_is_refused_with_the_hours_one_second_before_it_posts(enforced):
    customer, account = payer(balance=100_000)
    with time_machine.travel(tokyo(2027, 3, 1, 21, 59, 59), tick=False):
        execute(customer, content_for(customer, account, other_bank_payee(), 10_000))
        late = content_for(customer, account, other_bank_payee(), 10_000)
    with time_machine.travel(tokyo(2027, 3, 1, 22), tick=False), pytest.raises(services.TransferRefused) as refused:
        execute(customer, late)
    assert refused.value.message == services.OUTSIDE_HOURS.format(hours=bankcalendar.hours_text())
    assert Transfer.objects.count() == 1


# --- the booking horizon (XFER-11) -----------------------------------------------------------


def test_the_sixtieth_day_may_be_booked_and_the_sixty_first_not():
    today = dt.date(2027, 3, 3)  # the first day from it whose days 60 and 61 are both business days
    last = today + dt.timedelta(days=60)
    while bankcalendar.is_bank_holiday(last) or bankcalendar.is_bank_holiday(last + dt.timedelta(days=1)):
        today += dt.timedelta(days=1)
        last = today + dt.timedelta(days=60)
    assert scheduled.schedule_date_problem(last, today=today) == ""
    assert scheduled.schedule_date_problem(last + dt.timedelta(days=1), today=today) == \
        f"振込日は{last.year}年{last.month}月{last.day}日までの営業日を指定してください（ご予約は60日先までの営業日です）。"


def test_a_booking_confirmed_after_midnight_for_that_day_is_refused_not_made_a_same_day_transfer():
    """XFER-5 (sched35): refused first of all, as final (back to the input page to choose
    the date again) — also when the service hours have closed by then — whichever service
    is asked: a 予約 is never booked for a day begun, nor executed at once."""
    customer, account = payer(balance=100_000)
    with time_machine.travel(JST_MIDNIGHT - dt.timedelta(seconds=1), tick=False):
        content = content_for(customer, account, other_bank_payee(), 10_000, day=JST_MIDNIGHT.date(), check=False)
        assert content["scheduled"] is True and services.transfer_is_scheduled(content)
        assert services.transfer_date_passed(content) == ""
    passed = services.SCHEDULE_DATE_PASSED.format(day="2027年3月2日")
    for moment in (JST_MIDNIGHT, JST_MIDNIGHT + dt.timedelta(days=1)):  # the day itself, and after it
        for hours_enforced in (False, True):
            with override_settings(SERVICE_HOURS_ENFORCED=hours_enforced), time_machine.travel(moment, tick=False):
                assert services.transfer_is_scheduled(content)  # as made, whatever the clock says
                assert services.transfer_date_passed(content) == passed
                with pytest.raises(services.TransferRefused) as refused:
                    factories.confirmed(customer, "transfer", content, lambda stepup_id: (
                        scheduled.scheduled_transfer_create(customer=customer, stepup_id=stepup_id, content=content)))
                assert refused.value.message == passed and refused.value.final
                with pytest.raises(services.TransferRefused) as refused:
                    execute(customer, content)
                assert refused.value.message == passed and refused.value.final
    assert not Transfer.objects.exists() and not Journal.objects.filter(kind=Journal.Kind.TRANSFER).exists()
    account.refresh_from_db()
    assert account.balance == 100_000


def test_whether_a_content_is_a_booking_is_decided_when_it_is_made():
    """XFER-5 (sched35): the flag is set by ``transfer_content`` from the day it was made —
    a content for today is a same-day transfer and stays one; a content held from before the
    flag (no key) is judged by its date as the view did."""
    customer, account = payer(balance=100_000)
    with time_machine.travel(JST_MIDNIGHT - dt.timedelta(seconds=1), tick=False):
        today = content_for(customer, account, other_bank_payee(), 10_000)
        tomorrow = content_for(customer, account, other_bank_payee(), 10_000, day=JST_MIDNIGHT.date(), check=False)
    assert (today["scheduled"], tomorrow["scheduled"]) == (False, True)
    legacy = {key: value for key, value in tomorrow.items() if key != "scheduled"}
    with time_machine.travel(JST_MIDNIGHT - dt.timedelta(seconds=1), tick=False):
        assert services.transfer_is_scheduled(legacy)
    with time_machine.travel(JST_MIDNIGHT, tick=False):
        assert not services.transfer_is_scheduled(legacy) and not services.transfer_is_scheduled(today)
        assert services.transfer_is_scheduled(tomorrow)
        # the same date made into a content now: today's, a same-day transfer
        assert content_for(customer, account, other_bank_payee(), 10_000, day=JST_MIDNIGHT.date())["scheduled"] is False


# --- the day's limit across midnight JST (XFER-8) ---------------------------------------------


def test_the_days_limit_starts_again_at_midnight_jst_not_utc():
    """00:00 JST is 15:00 UTC of the day before: a UTC date would count both transfers on one day."""
    customer, account = payer(balance=3_000_000)  # limit 1,000,000 (the default)
    with time_machine.travel(JST_MIDNIGHT - dt.timedelta(seconds=1), tick=False):
        first = execute(customer, content_for(customer, account, other_bank_payee(), 600_000))
    with time_machine.travel(JST_MIDNIGHT, tick=False):
        second = execute(customer, content_for(customer, account, other_bank_payee(), 600_000))
        assert transfer_limit_view(customer=customer, today=JST_MIDNIGHT.date())["used"] == 600_000
        with pytest.raises(services.TransferRefused):
            content_for(customer, account, other_bank_payee(), 400_001)
        execute(customer, content_for(customer, account, other_bank_payee(), 400_000))  # exactly the limit
    assert (first.transfer_date, second.transfer_date) == (dt.date(2027, 3, 1), dt.date(2027, 3, 2))


def test_a_raise_made_at_the_last_second_of_the_day_counts_from_midnight_jst():
    customer, account = payer(balance=5_000_000)
    with time_machine.travel(JST_MIDNIGHT - dt.timedelta(seconds=1), tick=False):
        services.transfer_limit_change(customer=customer, new_limit=3_000_000)
        with pytest.raises(services.TransferRefused):
            content_for(customer, account, other_bank_payee(), 1_000_001)
    with time_machine.travel(JST_MIDNIGHT, tick=False):
        execute(customer, content_for(customer, account, other_bank_payee(), 3_000_000))


def test_a_same_day_transfer_confirmed_before_midnight_is_refused_after_it():
    """review33 F6: refused as final — the confirm page goes, and the customer chooses the
    date again on the input page (tests/transfers/test_scheduled_views.py) — also when the
    service hours have closed by then (a day past is never to be)."""
    customer, account = payer(balance=100_000)
    with time_machine.travel(JST_MIDNIGHT - dt.timedelta(seconds=1), tick=False):
        content = content_for(customer, account, other_bank_payee(), 10_000)
    for hours_enforced in (False, True):
        with override_settings(SERVICE_HOURS_ENFORCED=hours_enforced), time_machine.travel(JST_MIDNIGHT, tick=False), \
                pytest.raises(services.TransferRefused) as refused:
            execute(customer, content)
        assert refused.value.message == services.DATE_PASSED.format(day="2027年3月1日") and refused.value.final
    assert not Transfer.objects.exists()


# --- the fee band and 先方負担 (XFER-4) -------------------------------------------------------


@pytest.mark.parametrize(("amount", "fee"), [(29_999, 330), (30_000, 550)])
def test_the_fee_band_changes_at_thirty_thousand_yen(amount, fee):
    customer, account = payer(balance=100_000)
    transfer = execute(customer, content_for(customer, account, other_bank_payee(), amount))
    account.refresh_from_db()
    assert (transfer.fee, account.balance) == (fee, 100_000 - amount - fee)


@pytest.mark.parametrize("amount", [1, 329, 330])
def test_payee_bearing_a_fee_as_large_as_the_amount_is_refused_with_a_message(amount):
    customer, account = payer(balance=100_000)
    with pytest.raises(services.TransferRefused) as refused:
        content_for(customer, account, other_bank_payee(), amount, borne=True)
    assert refused.value.message == services.FEE_NOT_BELOW_AMOUNT.format(fee=330)
    # a content forged past the quote is refused again under the lock
    with pytest.raises(services.TransferRefused):
        execute(customer, content_for(customer, account, other_bank_payee(), amount, borne=True, check=False))
    assert not Transfer.objects.exists()


def test_payee_bearing_the_fee_of_one_yen_more_than_it_receives_one_yen():
    customer, account = payer(balance=100_000)
    transfer = execute(customer, content_for(customer, account, other_bank_payee(), 331, borne=True))
    account.refresh_from_db()
    assert (transfer.credited_amount, account.balance) == (1, 100_000 - 331)
    assert transfer.outgoing.amount == 1


# --- when the batch runs (XFER-5) ------------------------------------------------------------


def test_the_daily_batch_fires_at_five_past_midnight_tokyo_time():
    """XFER-5 (review6): the scheduled batch must run at the start of the transfer's date.
    Its cron "5 0 * * *" was read by procrastinate in UTC, so it ran at 9:05 JST: for nine
    hours a customer's same-day transfers could spend what the day's bookings were funded
    with, the bookings could no longer be cancelled, and the nightly ledger_check (1:30)
    ran before it."""
    from procrastinate.contrib.django import app

    (periodic,) = [task for task in app.periodic_registry.periodic_tasks.values()
                   if task.periodic_id == "scheduled_transfers"]
    for start in (JST_MIDNIGHT - dt.timedelta(hours=1), JST_MIDNIGHT + dt.timedelta(minutes=4)):
        fired = periodic.croniter.get_next(ret_type=float, start_time=start.timestamp())
        assert timezone.localtime(dt.datetime.fromtimestamp(fired, dt.UTC)) == JST_MIDNIGHT + dt.timedelta(minutes=5)
