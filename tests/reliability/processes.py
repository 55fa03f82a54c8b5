"""Real processes for the reliability tests and the fault script: finding a supervisor's
children (the gunicorn worker under its master, the job worker under ``jobs_worker``)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def children_of(pid: int, *, running: str | None = None) -> list[int]:
    """The live processes whose parent is ``pid`` (from /proc; Linux), those whose command
    line contains ``running`` if given. A supervisor has short-lived children of its own
    too: croniter, imported with procrastinate, runs ``file -b python`` while Django starts
    (``platform.architecture()``) — a test that took that for the worker killed nothing."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) != pid or fields[0] == "Z":
                    continue
                if running is not None and running not in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    continue
            except OSError:
                continue
            found.append(int(entry.name))
    return found


def job_workers_of(supervisor_pid: int) -> list[int]:
    """The procrastinate workers ``manage.py jobs_worker`` runs (``manage.py procrastinate
    worker``), not its other children."""
    return children_of(supervisor_pid, running="procrastinate worker")


def run_on_own_thread(coroutine):
    """``asyncio.run(coroutine)`` on a thread of its own: in the whole suite the browser
    tests' Playwright keeps an event loop running on the main thread, and asyncio.run()
    refuses to nest."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
