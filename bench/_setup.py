"""Shared set-up: Django on the bench database, migrated."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cosei_ib.settings.test")
    import django

    django.setup()
    import logging

    # one INFO line per posting would drown the figures (and slow the clients down)
    for name in ("accounts", "security", "notifications"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from django.core.management import call_command

    # as the owner, who then grants the app's role (LEDGER-7); dev.py bench gives both URLs
    call_command("migrate", "--no-input", database="owner", verbosity=0)


def backend_cpu_seconds() -> float:
    """CPU time (user + system) of the default connection's PostgreSQL backend so far, from
    /proc (the bench's cluster runs on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def account_number_unused() -> str:
    """A 7-digit account number no account in the bench database has. Earlier runs' rows
    stay, and a number from the microsecond clock modulo 10**7 repeats every 10 seconds:
    runs started close together collided on ``account_number_per_branch``."""
    import secrets

    from accounts.models import Account

    while True:
        number = f"{secrets.randbelow(10**7):07d}"
        if not Account.objects.filter(number=number).exists():
            return number


def counter_account_open(*, number: str, name: str):
    """A bench-only counter account for postings with a history (a backdated posting needs
    a counter account without later entries): opened by the owner, since the app's role may
    not open the bank's own accounts (accounts 0024), as a stripe of the cash account —
    ledger_post() never picks it for a line on another account (only the fee income's and
    the Pay-easy collection's stripes take their lines); ledger_check reports it, and only
    the bench database has it."""
    from accounts.models import Account, Branch

    cash = Account.objects.get(purpose=Account.Purpose.CASH)
    return Account.objects.using("owner").create(
        branch_id=Branch.objects.get(code="001").pk, purpose=Account.Purpose.STRIPE, stripe_of_id=cash.pk,
        number=number, name=name, holder_kana="ﾍﾞﾝﾁ ｱｲﾃ")
