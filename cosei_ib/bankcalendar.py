"""Business days and service hours (LEDGER-6).

A business day (営業日) is not a Saturday or Sunday, not a Japanese national holiday
(``jpholiday``, which also knows substitute and citizens' holidays) and not in the bank's
year-end closing from Dec 31 to Jan 3. Service hours come from ``settings.SERVICE_HOURS``
and are checked only when ``settings.SERVICE_HOURS_ENFORCED`` is true (production always).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

import jpholiday
from django.conf import settings
from django.utils import timezone

YEAR_END_CLOSING = {(12, 31), (1, 1), (1, 2), (1, 3)}

MESSAGE_OUTSIDE_HOURS = "ただいまの時間はご利用いただけません。ご利用時間：{hours}"


def is_bank_holiday(day: dt.date) -> bool:
    """True on weekends, national holidays and Dec 31 – Jan 3 (days the bank is closed)."""
    return (
        day.weekday() >= 5
        or (day.month, day.day) in YEAR_END_CLOSING
        or jpholiday.is_holiday(day)
    )


def is_business_day(day: dt.date) -> bool:
    return not is_bank_holiday(day)


def next_business_day(day: dt.date) -> dt.date:
    """The first business day strictly after ``day``."""
    candidate = day + dt.timedelta(days=1)
    while is_bank_holiday(candidate):
        candidate += dt.timedelta(days=1)
    return candidate


def settlement_day(day: dt.date) -> dt.date:
    """The business day a transaction of ``day`` settles on: ``day`` itself, or on a bank
    holiday the next business day (a transfer to another bank made on a Sunday leaves in
    Monday's 仕向 file)."""
    return day if is_business_day(day) else next_business_day(day)


def previous_business_day(day: dt.date) -> dt.date:
    """The last business day strictly before ``day``."""
    candidate = day - dt.timedelta(days=1)
    while is_bank_holiday(candidate):
        candidate -= dt.timedelta(days=1)
    return candidate


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
