from django.core.management.base import BaseCommand

from accounts.ledger_check import ledger_check


class Command(BaseCommand):
    help = "Verify the ledger invariants (LEDGER-5); exits 1 when any is violated."

    def handle(self, *args, **options):
        results = ledger_check()
        failed = False
        for result in results:
            mark = "OK  " if result.ok else "FAIL"
            self.stdout.write(f"[{mark}] {result.name}")
            for row_id, detail in result.violations:
                self.stdout.write(f"         id {row_id}: {detail}")
            failed |= not result.ok
        if failed:
            self.stderr.write("ledger check FAILED")
            raise SystemExit(1)
        self.stdout.write("ledger check passed")
