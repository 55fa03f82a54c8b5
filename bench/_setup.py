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
