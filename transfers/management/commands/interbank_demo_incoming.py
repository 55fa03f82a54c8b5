import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cosei_ib import bankcalendar
from transfers.interbank.demo import demo_incoming_file


class Command(BaseCommand):
    help = ("Write a demo 被仕向 file (全銀 総合振込, Shift_JIS, CRLF) for the demo accounts, to upload in "
            "admin (XFER-12). The same day and serial give the same bytes: change --serial to get a new file.")

    def add_arguments(self, parser):
        parser.add_argument("output", nargs="?", default="interbank-demo-incoming.txt")
        parser.add_argument("--day", help="取組日 YYYY-MM-DD (default today)")
        parser.add_argument("--serial", type=int, default=1, help="振込依頼人コード: another number, another file")

    def handle(self, *args, output, day, serial, **options):
        try:
            when = dt.date.fromisoformat(day) if day else bankcalendar.local_now().date()
        except ValueError as error:
            raise CommandError(f"--day: {error}") from error
        data = demo_incoming_file(when, serial=serial)
        Path(output).write_bytes(data)
        self.stdout.write(f"{output}: {len(data)} bytes, 3 records")
