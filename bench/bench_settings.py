"""Settings of the gunicorn server that transfer_confirm.py starts: the test profile on
the bench database, with one extra URL (the minimal ORM transfer view) and quiet logs."""

from cosei_ib.settings.test import *  # noqa: F401,F403

ROOT_URLCONF = "bench_urls"
LOGGING = {"version": 1, "disable_existing_loggers": True}

import os  # noqa: E402

DEBUG = os.environ.get("BENCH_DEBUG") == "1"  # a failing request's traceback in its body
