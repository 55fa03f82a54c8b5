"""Business days and service hours (LEDGER-6).

A business day (営業日) is not a Saturday or Sunday, not a Japanese national holiday
(``jpholiday``, which also knows substitute and citizens' holidays), not in the bank's
year-end closing from Dec 31 to Jan 3, and not one of the bank's own closing days
(臨時休業日, ``accounts.BankClosingDay``, added by staff in admin — STAFF-1).

The closing days are read from the database once per process and kept for at most
``CLOSING_DAYS_REFRESH_SECONDS``, and only those of a bounded window around today
(``closing_days_window``: the database takes days from a year back to three years ahead,
at most 100 of them, accounts 0030 — dbprobe26 F14: 2.9 million rows to 9999-12-31 took
9.7 s and 2.3 GB a read). The walks to the next or previous business day stop after
``MAX_CLOSED_RUN`` days (``NoBusinessDay``) instead of running to the end of the calendar: ``is_bank_holiday`` runs in loops (next_business_day, the
date check of a 予約, the batch) and must not query each time. A save or delete in admin
clears this process's copy at once (``accounts.signals``); other workers see the change
within a minute (docs/operations.md). Service hours come from ``settings.SERVICE_HOURS``
and are checked only when ``settings.SERVICE_HOURS_ENFORCED`` is true (production always).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import zoneinfo
from dataclasses import dataclass

import jpholiday
from django.conf import settings
from django.utils import timezone

YEAR_END_CLOSING = {(12, 31), (1, 1), (1, 2), (1, 3)}

MESSAGE_OUTSIDE_HOURS = "ただいまの時間はご利用いただけません。ご利用時間：{hours}"


CLOSING_DAYS_REFRESH_SECONDS = 60
CLOSING_DAYS_PAST_YEARS = 1    # the database's window (accounts 0030), by its clock in Tokyo
CLOSING_DAYS_FUTURE_YEARS = 3
CLOSING_DAYS_READ_SLACK = dt.timedelta(days=31)  # this process's clock against the database's
CLOSING_DAYS_READ_MAX = 1000  # more than the database's 100 in force: a read stays small
MAX_CLOSED_RUN = 400  # no run of closed days is longer: the walks below stop there


class NoBusinessDay(ValueError):
    """No business day within ``MAX_CLOSED_RUN`` days (or before the calendar's end)."""


def _years_from(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # Feb 29 → Feb 28, or past the calendar's end
        return dt.date(min(max(day.year + years, dt.MINYEAR), dt.MAXYEAR), day.month, 28)


def closing_days_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day the database lets a 臨時休業日 be, seen from ``today``."""
    return _years_from(today, -CLOSING_DAYS_PAST_YEARS), _years_from(today, CLOSING_DAYS_FUTURE_YEARS)

_clock = time.monotonic  # tests move it
_closing_lock = threading.Lock()
_closing: dict = {"days": None, "loaded_at": 0.0}


def closing_days() -> dict[dt.date, str]:
    """The bank's own closing days (date → 名称・理由), at most a minute old."""
    days, loaded_at = _closing["days"], _closing["loaded_at"]
    now = _clock()
    if days is not None and now - loaded_at < CLOSING_DAYS_REFRESH_SECONDS:
        return days
    from accounts.models import BankClosingDay

    first, last = closing_days_window(local_now().date())
    with _closing_lock:
        rows = (BankClosingDay.objects.filter(date__gte=first - CLOSING_DAYS_READ_SLACK,
                                              date__lte=last + CLOSING_DAYS_READ_SLACK)
                .order_by("date").values_list("date", "name")[:CLOSING_DAYS_READ_MAX])
        days = dict(rows)
        _closing["days"], _closing["loaded_at"] = days, now
    return days


def closing_days_clear(**_kwargs) -> None:
    """Forget this process's copy: the next look reads the table again (signals, tests)."""
    _closing["days"] = None


def closing_days_prime(days: dict[dt.date, str]) -> None:
    """Take ``days`` as freshly loaded (tests without a database)."""
    _closing["days"], _closing["loaded_at"] = dict(days), _clock()


def closing_day_name(day: dt.date) -> str:
    """The 名称・理由 of ``day`` if it is one of the bank's own closing days, else ''."""
    return closing_days().get(day, "")


def is_bank_holiday(day: dt.date) -> bool:
    """True on weekends, national holidays, Dec 31 – Jan 3 and the bank's own closing days
    (days the bank is closed)."""
    return (
        day.weekday() >= 5
        or (day.month, day.day) in YEAR_END_CLOSING
        or jpholiday.is_holiday(day)
        or day in closing_days()
    )


def closed_reason(day: dt.date) -> str:
    """Why the bank is closed on ``day``, in the customer's words ('' on a business day)."""
    if day.weekday() == 5:
        return "土曜日"
    if day.weekday() == 6:
        return "日曜日"
    if (day.month, day.day) in YEAR_END_CLOSING:
        return "年末年始（12月31日～1月3日）の休業日"
    if jpholiday.is_holiday(day):
        return "祝日"
    name = closing_day_name(day)
    return f"当金庫の臨時休業日（{name}）" if name else ""


def is_business_day(day: dt.date) -> bool:
    return not is_bank_holiday(day)


def _business_day_walk(day: dt.date, step: int) -> dt.date:
    """The first business day from ``day`` on in direction ``step`` (+1/−1), ``day``
    excluded; ``NoBusinessDay`` after ``MAX_CLOSED_RUN`` closed days or at the calendar's end."""
    candidate = day
    for _ in range(MAX_CLOSED_RUN):
        try:
            candidate += dt.timedelta(days=step)
        except OverflowError:
            break
        if not is_bank_holiday(candidate):
            return candidate
    raise NoBusinessDay(f"no business day within {MAX_CLOSED_RUN} days of {day} (step {step})")


def next_business_day(day: dt.date) -> dt.date:
    """The first business day strictly after ``day``."""
    return _business_day_walk(day, 1)


def settlement_day(day: dt.date) -> dt.date:
    """The business day a transaction of ``day`` settles on: ``day`` itself, or on a bank
    holiday the next business day (a transfer to another bank made on a Sunday leaves in
    Monday's 仕向 file)."""
    return day if is_business_day(day) else next_business_day(day)


def previous_business_day(day: dt.date) -> dt.date:
    """The last business day strictly before ``day``."""
    return _business_day_walk(day, -1)


def local_now() -> dt.datetime:
    return timezone.localtime(timezone.now())


@dataclass(frozen=True)
class ServiceWindow:
    start: dt.time
    end: dt.time

    def contains(self, moment: dt.time) -> bool:
        return self.start <= moment < self.end

    def label(self) -> str:
        return f"{self.start:%-H:%M}～{self.end:%-H:%M}"


def _parse(value: str) -> dt.time:
    hour, minute = value.split(":")
    return dt.time(int(hour), int(minute))


def service_window(service: str, day: dt.date) -> ServiceWindow:
    """The opening hours of ``service`` ("default" or "payeasy") on ``day``.

    The guide's hours distinguish weekdays from Saturdays, Sundays and national holidays.
    """
    hours = settings.SERVICE_HOURS.get(service, settings.SERVICE_HOURS["default"])
    is_weekday = day.weekday() < 5 and not jpholiday.is_holiday(day)
    start, end = hours["weekday" if is_weekday else "holiday"]
    return ServiceWindow(_parse(start), _parse(end))


def hours_text(service: str = "default") -> str:
    hours = settings.SERVICE_HOURS.get(service, settings.SERVICE_HOURS["default"])
    weekday = ServiceWindow(*map(_parse, hours["weekday"])).label()
    holiday = ServiceWindow(*map(_parse, hours["holiday"])).label()
    return f"平日 {weekday}、土曜・日曜・祝日 {holiday}"


def is_service_open(service: str = "default", at: dt.datetime | None = None) -> bool:
    """Whether ``service`` is open at ``at`` (default: now). Always true when the
    development switch ``SERVICE_HOURS_ENFORCED`` is off."""
    if not settings.SERVICE_HOURS_ENFORCED:
        return True
    moment = timezone.localtime(at) if at is not None else local_now()
    return service_window(service, moment.date()).contains(moment.time())


def start_of_day(day: dt.date) -> dt.datetime:
    """00:00 of ``day`` in the bank's time zone, as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def daily_cron(hour: int, minute: int) -> str:
    """The cron line of a job run every day at ``hour``:``minute`` of the bank's clock.
    procrastinate reads cron lines in UTC, so "5 0 * * *" would run at 9:05 in Tokyo;
    Asia/Tokyo keeps no summer time, so one offset holds all year."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = dt.datetime(2000, 1, 1, hour, minute, tzinfo=zone)
    if local.utcoffset() != dt.datetime(2000, 7, 1, tzinfo=zone).utcoffset():
        raise ValueError(f"{settings.TIME_ZONE} changes its offset in the year: no fixed UTC cron line")
    moment = local.astimezone(dt.UTC)
    return f"{moment.minute} {moment.hour} * * *"
