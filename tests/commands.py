"""Running a management command that reports through its exit status (cron checks)."""

from __future__ import annotations

from django.core.management import call_command


def command_run(capsys, name: str, *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``manage.py name args``."""
    try:
        call_command(name, *args)
        status = 0
    except SystemExit as exited:
        status = exited.code
    out, err = capsys.readouterr()
    return status, out, err
