"""Password spraying check (SEC-8, SEC-13): client addresses that failed the login
password against many distinct contract IDs in a recent window. For cron and monitoring:
exits 1 when any address is found (docs/operations.md), 0 otherwise."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from security.selectors import login_failures_without_address, login_spray_sources

DEFAULT_MINUTES = 60
DEFAULT_THRESHOLD = 10
# contract IDs listed per address; the rest are counted
LISTED_IDS = 20


def _local(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S%z}"


class Command(BaseCommand):
    help = ("Report client addresses whose failed logins name many distinct contract IDs in "
            "the last --minutes (password spraying, which the per-contract lockout does not "
            "catch). Exits 1 when any address reaches --threshold. Reads the audit log; "
            "prints contract IDs and addresses, never a password.")

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=int, default=DEFAULT_MINUTES,
                            help=f"the window, ending now (default {DEFAULT_MINUTES})")
        parser.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD,
                            help="distinct contract IDs with a failed login from one address "
                                 f"that make it a finding (default {DEFAULT_THRESHOLD})")

    def handle(self, *args, minutes: int, threshold: int, **options):
        if minutes < 1 or threshold < 2:
            raise CommandError("--minutes must be at least 1 and --threshold at least 2")
        now = timezone.now()
        since = now - dt.timedelta(minutes=minutes)
        window = f"{_local(since)} .. {_local(now)}"
        sources = login_spray_sources(since=since, threshold=threshold)
        unattributed = login_failures_without_address(since=since)
        if unattributed:
            self.stdout.write(f"note: {unattributed} failed login(s) in the window have no client "
                              "address and are not attributed (check SECURITY_TRUSTED_PROXY_COUNT)")
        if not sources:
            self.stdout.write(f"login spray check passed: no address failed logins on {threshold} "
                              f"or more contract IDs in {window}")
            return
        for source in sources:
            ids = source.contract_ids
            listed = " ".join(ids[:LISTED_IDS]) + (f" (+{len(ids) - LISTED_IDS} more)"
                                                   if len(ids) > LISTED_IDS else "")
            self.stdout.write(
                f"[SPRAY] ip={source.client_ip} contract_ids={len(ids)} failures={source.failures} "
                f"first={_local(source.first_at)} last={_local(source.last_at)}")
            self.stdout.write(f"        tried: {listed}")
            if source.accepted_contract_ids:
                self.stdout.write("        PASSWORD ACCEPTED from this address (check these "
                                  f"contracts first): {' '.join(source.accepted_contract_ids)}")
        self.stderr.write(f"login spray check FAILED: {len(sources)} address(es) failed logins on "
                          f"{threshold} or more contract IDs in {window}")
        raise SystemExit(1)
