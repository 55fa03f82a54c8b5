"""``manage.py transfers_execute [--date YYYY-MM-DD]``: run the scheduled-transfer batch by
hand (XFER-5). Safe to repeat: a transfer already executed or 未処理 is never taken again."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from cosei_ib import bankcalendar
from security.audit import audit_record
from transfers.scheduled import transfers_execute_due


class Command(BaseCommand):
    help = "予約振込を実行する（指定日以前の予約中の振込）"

    def add_arguments(self, parser):
        parser.add_argument("--date", help="振込日 YYYY-MM-DD（既定: 本日）")

    def handle(self, *args, **options):
        today = bankcalendar.local_now().date()
        try:
            day = dt.date.fromisoformat(options["date"]) if options["date"] else today
        except ValueError:
            raise CommandError("--date は YYYY-MM-DD で指定してください。") from None
        if day > today:
            raise CommandError("未来の日付の予約振込は実行できません。")
        result = transfers_execute_due(day=day)
        summary = (f"{day:%Y-%m-%d} 以前: 振込済 {result.executed}件 未処理 {result.unprocessed}件 "
                   + " ".join(f"{reason}={count}" for reason, count in sorted(result.reasons.items())))
        audit_record(action="transfer_batch", outcome="success", actor="manage.py", summary=summary)
        self.stdout.write(summary)
