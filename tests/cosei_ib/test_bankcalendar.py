"""LEDGER-6: business days and service hours."""

import datetime as dt

import pytest
from django.utils import timezone

from cosei_ib import bankcalendar

D = dt.date


def test_year_end_closing_next_business_day():
    assert bankcalendar.next_business_day(D(2026, 12, 30)) == D(2027, 1, 4)


@pytest.mark.parametrize(("day", "settles"), [
    (D(2026, 12, 4), D(2026, 12, 4)), (D(2026, 12, 6), D(2026, 12, 7)),
    (D(2026, 12, 31), D(2027, 1, 4)), (D(2027, 1, 11), D(2027, 1, 12)),
])
def test_settlement_day_is_the_day_or_on_a_holiday_the_next_business_day(day, settles):
    """XFER-12: the 決済日 of a day's transfers to other banks (docs/interbank.md)."""
    assert bankcalendar.settlement_day(day) == settles


@pytest.mark.parametrize("day", [
    D(2026, 1, 1), D(2026, 1, 12), D(2026, 2, 11), D(2026, 2, 23), D(2026, 3, 20),
    D(2026, 4, 29), D(2026, 5, 6), D(2026, 7, 20), D(2026, 9, 21), D(2026, 9, 22),
    D(2026, 9, 23), D(2026, 11, 3), D(2026, 11, 23), D(2027, 1, 11), D(2027, 3, 21),
    D(2027, 3, 22), D(2027, 5, 3), D(2027, 5, 4), D(2027, 5, 5), D(2027, 11, 23),
])
def test_national_holidays_of_2026_and_2027_are_closed(day):
    assert bankcalendar.is_bank_holiday(day)


@pytest.mark.parametrize("day", [D(2026, 12, 31), D(2027, 1, 2), D(2027, 1, 3)])
def test_year_end_closing_days(day):
    assert bankcalendar.is_bank_holiday(day)


def test_weekdays_and_weekends():
    assert bankcalendar.is_business_day(D(2026, 11, 26))  # Thursday
    assert not bankcalendar.is_business_day(D(2026, 11, 28))  # Saturday
    assert bankcalendar.previous_business_day(D(2027, 1, 4)) == D(2026, 12, 30)


def at(year, month, day, hour, minute=0):
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


@pytest.fixture
def enforced(settings):
    settings.SERVICE_HOURS_ENFORCED = True


def test_hours_on_a_weekday(enforced):
    assert not bankcalendar.is_service_open("default", at(2026, 11, 26, 6, 59))
    assert bankcalendar.is_service_open("default", at(2026, 11, 26, 7, 0))
    assert bankcalendar.is_service_open("default", at(2026, 11, 26, 21, 59))
    assert not bankcalendar.is_service_open("default", at(2026, 11, 26, 22, 0))
    assert bankcalendar.is_service_open("payeasy", at(2026, 11, 26, 21, 44))
    assert not bankcalendar.is_service_open("payeasy", at(2026, 11, 26, 21, 45))


def test_hours_on_a_saturday(enforced):
    assert not bankcalendar.is_service_open("default", at(2026, 11, 28, 7, 30))
    assert bankcalendar.is_service_open("default", at(2026, 11, 28, 8, 0))
    assert not bankcalendar.is_service_open("default", at(2026, 11, 28, 21, 0))
    assert not bankcalendar.is_service_open("payeasy", at(2026, 11, 28, 20, 45))


def test_hours_on_a_holiday(enforced):
    # 2026-11-23 勤労感謝の日 (Monday): holiday hours
    assert not bankcalendar.is_service_open("default", at(2026, 11, 23, 7, 30))
    assert bankcalendar.is_service_open("default", at(2026, 11, 23, 20, 59))


def test_development_switch_opens_everything(settings):
    settings.SERVICE_HOURS_ENFORCED = False
    assert bankcalendar.is_service_open("default", at(2026, 11, 26, 3, 0))


def test_hours_text_for_the_refusal_message():
    assert bankcalendar.hours_text("payeasy") == "平日 7:00～21:45、土曜・日曜・祝日 8:00～20:45"
