"""LEDGER-6, STAFF-1 (outside review dbprobe26 F14, accounts 0030): the app's role INSERTed
2.9 million 臨時休業日 up to 9999-12-31 — every process's calendar read took 9.7 s and
2.3 GB, next_business_day ran 547 s into an OverflowError. The database keeps the dates
within today − 1 year … today + 3 years (its clock, Tokyo) and at most 100 in force
(CI112); the calendar reads a bounded window and its walks stop (bankcalendar). The window
widens by cosei_clock_slack() (accounts 0031): 100 years in the tests that travel in time,
five minutes here where it is tested (``database_clock_strict``)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection

from accounts.models import BankClosingDay
from accounts.services import CLOSING_DAYS_MAX, ClosingDayRefused, bank_closing_day_add
from cosei_ib import bankcalendar
from tests.accounts.closing_support import closing_days_audited
from tests.accounts.test_ledger_lockdown import refused
from tests.transfers.scheduled_support import at

pytestmark = pytest.mark.django_db

INSERT = "INSERT INTO accounts_bankclosingday (date, name, created_by, created_at) VALUES (%s, 'x', 'x', now())"


def db_today() -> dt.date:
    with connection.cursor() as cursor:
        cursor.execute("SELECT (clock_timestamp() AT TIME ZONE 'Asia/Tokyo')::date")
        return cursor.fetchone()[0]


def test_the_probes_rows_to_9999_are_refused_by_the_database(database_clock_strict):
    today = db_today()
    assert refused("INSERT INTO accounts_bankclosingday (date, name, created_by, created_at)"
                   " SELECT d::date, '臨時休業', 'staff01', now()"
                   " FROM generate_series(%s::date + 1, date '9999-12-31', interval '1 day') d", [today]) == "CI112"
    for day in (dt.date(9999, 12, 31), today.replace(year=today.year + 3) + dt.timedelta(days=1),
                today.replace(year=today.year - 1) - dt.timedelta(days=1), dt.date(1, 1, 1)):
        assert refused(INSERT, [day]) == "CI112", day
    assert not BankClosingDay.objects.exists()
    with connection.cursor() as cursor:  # the window's far end goes in
        cursor.execute(INSERT + " RETURNING id", [today.replace(year=today.year + 3)])
        last = cursor.fetchone()[0]
    # its near end is the past: only the owner writes one there (accounts 0036, CI114)
    assert refused(INSERT, [today.replace(year=today.year - 1)]) == "CI114"
    assert refused("UPDATE accounts_bankclosingday SET date = '9999-12-31' WHERE id = %s", [last]) == "CI112"
    assert BankClosingDay.objects.count() == 1
    closing_days_audited()


def test_at_most_100_closing_days_in_force_and_admin_says_so():
    today = db_today()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO accounts_bankclosingday (date, name, created_by, created_at)"
                       " SELECT %s::date + 30 + g, 'x', 'x', now() FROM generate_series(1, %s) g",
                       [today, CLOSING_DAYS_MAX])
    assert refused(INSERT, [today + dt.timedelta(days=10)]) == "CI112"
    bankcalendar.closing_days_clear()
    with time_machine.travel(at(today), tick=False), pytest.raises(ClosingDayRefused, match="100日まで登録できます"):
        bank_closing_day_add(day=today + dt.timedelta(days=3), name="システム更改", actor="staff-t")
    assert BankClosingDay.objects.count() == CLOSING_DAYS_MAX
    closing_days_audited()


def test_the_calendar_reads_only_the_window_around_today(django_assert_num_queries):
    today = db_today()
    with connection.cursor() as cursor:
        cursor.execute(INSERT, [today + dt.timedelta(days=10)])
    closing_days_audited()
    day = today + dt.timedelta(days=10)
    bankcalendar.closing_days_clear()
    assert bankcalendar.closing_day_name(day) == "x"
    with time_machine.travel(at(today.replace(year=today.year + 5)), tick=False):
        bankcalendar.closing_days_clear()
        with django_assert_num_queries(1):
            assert bankcalendar.closing_days() == {}  # five years on, that day is history


def test_the_walks_stop_instead_of_running_to_the_end_of_the_calendar():
    start = dt.date(2027, 2, 1)
    bankcalendar.closing_days_prime({start + dt.timedelta(days=n): "x" for n in range(5000)})
    try:
        with pytest.raises(bankcalendar.NoBusinessDay):
            bankcalendar.next_business_day(start)
        with pytest.raises(bankcalendar.NoBusinessDay):
            bankcalendar.settlement_day(start + dt.timedelta(days=10))
        with pytest.raises(bankcalendar.NoBusinessDay):
            bankcalendar.previous_business_day(start + dt.timedelta(days=4999))
    finally:
        bankcalendar.closing_days_clear()
    bankcalendar.closing_days_prime({})
    try:
        with pytest.raises(bankcalendar.NoBusinessDay):  # no OverflowError at the calendar's ends
            bankcalendar.next_business_day(dt.date.max)
        with pytest.raises(bankcalendar.NoBusinessDay):
            bankcalendar.previous_business_day(dt.date.min)
        assert bankcalendar.next_business_day(dt.date(2026, 12, 30)) == dt.date(2027, 1, 4)
    finally:
        bankcalendar.closing_days_clear()


@pytest.mark.django_db(transaction=True)
def test_a_closing_day_is_written_only_under_read_committed():
    """dbprobe31 (with F3): under REPEATABLE READ the count of the days in force read the
    transaction's snapshot from before the advisory lock, so two transactions could each
    take the last of the 100 places. The app's role writes a closing day only under READ
    COMMITTED (CI112, accounts 0038); admin's service says it in Japanese and writes
    nothing, and goes through under READ COMMITTED, as the app runs."""
    from accounts.services import CLOSING_DAY_REFUSED
    from tests.accounts.closing_support import staff_user
    from tests.transfers.test_dbprobe31_guards import _RepeatableRead

    staff_user("staff-rr")
    day = bankcalendar.next_business_day(db_today() + dt.timedelta(days=40))
    with _RepeatableRead(), pytest.raises(ClosingDayRefused) as refusal:
        bank_closing_day_add(day=day, name="臨時休業", actor="staff-rr")
    assert str(refusal.value) == CLOSING_DAY_REFUSED  # the database's refusal, not the form's
    assert not BankClosingDay.objects.filter(date=day).exists()
    assert bank_closing_day_add(day=day, name="臨時休業", actor="staff-rr").date == day
