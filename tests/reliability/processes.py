"""Real processes for the reliability tests and the fault script: finding a supervisor's
children (the gunicorn worker under its master, the job worker under ``jobs_worker``)."""

from __future__ import annotations

from pathlib import Path


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (from /proc; Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found
