"""Password spraying check (SEC-8, SEC-13): client addresses that failed the login
password against many distinct contract IDs in a recent window. For cron and monitoring:
exits 1 when any address is found (docs/operations.md), 0 otherwise."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from security.selectors import login_failure_spread, login_failures_without_address, login_spray_sources

DEFAULT_MINUTES = 60
DEFAULT_THRESHOLD = 10
# distinct contract IDs failing in the window over all addresses (docs/operations.md: set it
# above the bank's normal peak, which the passing line prints)
DEFAULT_WIDE_THRESHOLD = 100
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
        parser.add_argument("--wide-threshold", type=int, default=DEFAULT_WIDE_THRESHOLD,
                            help="distinct contract IDs with a failed login from all addresses "
                                 "together that make a finding: a spray spread over many "
                                 f"addresses (default {DEFAULT_WIDE_THRESHOLD})")

    def handle(self, *args, minutes: int, threshold: int, wide_threshold: int, **options):
        if minutes < 1 or threshold < 2 or wide_threshold < threshold:
            raise CommandError("--minutes must be at least 1, --threshold at least 2 and "
                               "--wide-threshold at least --threshold")
        now = timezone.now()
        since = now - dt.timedelta(minutes=minutes)
        window = f"{_local(since)} .. {_local(now)}"
        sources = login_spray_sources(since=since, threshold=threshold)
        spread = login_failure_spread(since=since)
        unattributed = login_failures_without_address(since=since)
        if unattributed:
            self.stdout.write(f"note: {unattributed} failed login(s) in the window have no client "
                              "address and are not attributed (check SECURITY_TRUSTED_PROXY_COUNT)")
        wide = spread.contract_ids >= wide_threshold
        if not sources and not wide:
            self.stdout.write(f"login spray check passed: no address failed logins on {threshold} "
                              f"or more contract IDs in {window}; all addresses together failed on "
                              f"{spread.contract_ids} contract IDs (finding at {wide_threshold})")
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
        if wide:
            self.stdout.write(f"[SPRAY-WIDE] contract_ids={spread.contract_ids} addresses={spread.addresses} "
                              f"failures={spread.failures}: failed logins on many contracts from "
                              "many addresses (a botnet?) — read the audit log's ログイン failures")
        findings = [f"{len(sources)} address(es) failed logins on {threshold} or more contract IDs"] if sources else []
        if wide:
            findings.append(f"all addresses together failed on {spread.contract_ids} contract IDs "
                            f"(>= {wide_threshold})")
        self.stderr.write(f"login spray check FAILED: {'; '.join(findings)} in {window}")
        raise SystemExit(1)
