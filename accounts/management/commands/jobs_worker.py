"""``manage.py jobs_worker [worker options]``: the procrastinate job worker, kept running.

Issue 14: the app serves again without manual steps. The worker exits when its database
connection goes (a PostgreSQL restart) and dies when it is killed; this supervisor starts
it again, after 1, 2, 4 … seconds (at most a minute) while it keeps failing, and from one
second again once it has run for a minute. Options after ``--`` go to
``procrastinate worker`` unchanged (``manage.py jobs_worker -- --concurrency 2``).

SIGTERM or SIGINT to the supervisor stops the worker gracefully (it finishes its current
jobs) and then the supervisor, with the worker's status. Any other exit of the worker is
started again, status 0 included: procrastinate 3.10's worker exits 0 when its database
connection goes (tests/reliability/faults.py saw it). Stop it through the supervisor
(compose and systemd signal the supervisor, not the worker). Above it, compose's
``restart: unless-stopped`` or systemd's ``Restart=always`` restart the supervisor itself
(docs/operations.md). Jobs the dead worker had claimed are put back in the queue by the
periodic ``accounts.jobs_retry_stalled`` (accounts/tasks.py).
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
STABLE_AFTER = 60.0  # a worker that ran this long failed afresh: back-off starts over
_PR_SET_PDEATHSIG = 1


def restart_delay(failures: int, *, first: float = FIRST_DELAY, maximum: float = MAX_DELAY) -> float:
    """Seconds to wait before the next start after ``failures`` failures in a row:
    1, 2, 4 … capped at ``maximum``."""
    return min(first * 2 ** min(max(failures - 1, 0), 16), maximum)


def _die_with_parent() -> None:
    """In the worker before it runs: SIGTERM when the supervisor dies (even by SIGKILL), so
    no orphan worker keeps running beside the supervisor's successor (Linux only)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the service manager kills the group
        pass


def supervise(argv: list[str], *, stop: threading.Event, first: float = FIRST_DELAY,
              maximum: float = MAX_DELAY, stable_after: float = STABLE_AFTER,
              on_start: Callable[[subprocess.Popen], None] | None = None) -> int:
    """Run ``argv`` until ``stop`` is set, then SIGTERM it and return its status. Whenever
    it exits before that — a non-zero status, killed by a signal, or 0 (procrastinate's
    worker exits 0 when its database goes) — start it again after ``restart_delay``."""
    failures = 0
    while not stop.is_set():
        began = time.monotonic()
        # its own session: a terminal's Ctrl-C reaches the supervisor, which forwards one
        # SIGTERM (procrastinate treats a second signal as "abort the running jobs")
        child = subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with_parent)
        if on_start is not None:
            on_start(child)
        logger.info("job worker started (pid %s)", child.pid)
        while child.poll() is None:
            if stop.wait(0.5):
                child.send_signal(signal.SIGTERM)
                return child.wait()
        status = child.returncode
        failures = 1 if time.monotonic() - began >= stable_after else failures + 1
        delay = restart_delay(failures, first=first, maximum=maximum)
        logger.error("job worker (pid %s) exited with status %s (failure %s in a row); starting it again "
                     "in %.0f s", child.pid, status, failures, delay)
        stop.wait(delay)
    return 0


class Command(BaseCommand):
    help = "ジョブワーカー（procrastinate worker）を起動し、止まったら待ち時間を延ばしながら再起動する"

    def add_arguments(self, parser):
        parser.add_argument("worker_options", nargs="*", help="procrastinate worker に渡すオプション")

    def handle(self, *args, worker_options=(), **options):
        stop = threading.Event()

        def request_stop(signal_number, _frame):
            logger.info("signal %s: stopping the job worker", signal_number)
            stop.set()

        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, request_stop)
        argv = [sys.executable, str(settings.BASE_DIR / "manage.py"), "procrastinate", "worker",
                *worker_options]
        status = supervise(argv, stop=stop)
        if status:
            raise SystemExit(status if status > 0 else 128 - status)
