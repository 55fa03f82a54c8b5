"""取引履歴 dated back (SEC-13, ACCT-4): audit rows whose 日時 (the app's clock) is further
than --minutes from when the database wrote them (``recorded_at``, its own clock, set by
a trigger; security 0009). A row the app's role inserted with another date stands out.
For cron next to ledger_check: exits 1 when any row is found (docs/operations.md)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from security.selectors import audit_rows_dated_apart

DEFAULT_MINUTES = 5
# rows the database recorded in the last --hours: nightly with overlap, so a finding is
# reported on the night after it, not every night for ever
DEFAULT_HOURS = 26
LISTED = 50


class Command(BaseCommand):
    help = ("Report audit rows whose created_at is more than --minutes from the database's "
            "recorded_at (a row dated back or ahead). Exits 1 when any is found.")

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=int, default=DEFAULT_MINUTES,
                            help=f"allowed difference of the two clocks (default {DEFAULT_MINUTES})")
        parser.add_argument("--hours", type=int, default=DEFAULT_HOURS,
                            help=f"rows recorded in the last --hours (default {DEFAULT_HOURS}); "
                                 "0 reads the whole log")

    def handle(self, *args, minutes: int, hours: int, **options):
        if minutes < 1 or hours < 0:
            raise CommandError("--minutes must be at least 1 and --hours 0 or more")
        since = timezone.now() - dt.timedelta(hours=hours) if hours else None
        rows = audit_rows_dated_apart(minutes=minutes, since=since)
        scope = f"recorded in the last {hours} hours" if hours else "in the whole log"
        if not rows:
            self.stdout.write(f"audit check passed: every row {scope} is dated within {minutes} minutes "
                              "of when the database recorded it")
            return
        for row in rows[:LISTED]:
            self.stdout.write(f"[DATED] id {row.pk}: created_at={row.created_at.isoformat()} "
                              f"recorded_at={row.recorded_at.isoformat()} contract={row.contract_id or '-'} "
                              f"action={row.action}")
        if len(rows) > LISTED:
            self.stdout.write(f"        (+{len(rows) - LISTED} more)")
        self.stderr.write(f"audit check FAILED: {len(rows)} row(s) dated more than {minutes} minutes "
                          "from when the database recorded them")
        raise SystemExit(1)
