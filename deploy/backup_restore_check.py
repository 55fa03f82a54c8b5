#!/usr/bin/env python3
"""Backup drill of the ledger (docs/operations.md, "Backup and restore"): take a base
backup of the embedded development cluster, verify it, restore it into a fresh folder,
start the restored copy on its own socket and run ``manage.py ledger_check`` on it as the
app's role. Everything is removed afterwards unless --keep.

    python3 deploy/backup_restore_check.py [--database cosei_ib] [--keep]

A production drill is the same with the production tools (pgBackRest or pg_basebackup +
the WAL archive, restored to a point in time); this script proves the ledger of a restored
copy checks clean, and what it costs, on any developer machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dev  # noqa: E402  (the project's bootstrap: venv, embedded server, roles)


def backup_restore_check(*, primary_host: str, database: str, app_password: str,
                         workdir: Path, env: dict[str, str], probe=None) -> int:
    """Back up the cluster on ``primary_host``, restore it under ``workdir``, run
    ledger_check on ``database`` there; returns ledger_check's exit status. ``probe``:
    called with the restored copy's socket folder while it runs (the test compares)."""
    from cosei_ib.testing import pgcluster

    pgcluster.workdir_make(workdir)
    backup, restored = workdir / "backup", workdir / "restored"
    started = time.monotonic()
    pgcluster.base_backup(primary_host=primary_host, data=backup, standby=False)
    pgcluster.run("pg_verifybackup", "--quiet", str(backup))
    took_backup = time.monotonic() - started
    # restore: a fresh folder, as from the backup store; the server's user owns it
    shutil.copytree(backup, restored, symlinks=True)
    user = pgcluster.server_user()
    if user:
        for path in [restored, *restored.rglob("*")]:
            shutil.chown(path, user, user)
    restored.chmod(0o700)
    (restored / "backup_manifest").unlink(missing_ok=True)
    host = pgcluster.start(restored, log=workdir / "restored.log")
    try:
        with pgcluster.superuser_connect(host) as conn:
            in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        dev.say(f"restored copy up on {host} (in recovery: {in_recovery}); "
                f"backup + verify took {took_backup:.1f} s")
        url = f"postgresql://{dev.APP_ROLE}:{quote(app_password, safe='')}@{quote(host, safe='')}/{database}"
        check_env = {key: value for key, value in env.items() if key != "DATABASE_OWNER_URL"}
        check_env.update(DATABASE_URL=url)
        if probe is not None:
            probe(host)
        return subprocess.call([sys.executable, str(ROOT / "manage.py"), "ledger_check"],
                               env=check_env, cwd=ROOT)
    finally:
        pgcluster.stop(restored)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=dev.DB_NAME)
    parser.add_argument("--keep", action="store_true", help="keep the backup and the copy")
    options = parser.parse_args(argv)
    if not dev.running_in_venv():
        dev.ensure_venv()
        python = str(dev.venv_python())
        os.execv(python, [python, str(Path(__file__).resolve()), *argv])
    if os.environ.get("DATABASE_URL"):
        dev.say("this drill backs up the embedded cluster; unset DATABASE_URL")
        return 2
    urls = dev.embedded_database_urls(options.database)
    env = dev.app_env(urls, "cosei_ib.settings.dev")
    dev.migrate(urls, env)  # the tables exist even on a fresh clone
    primary_host = dev._embedded_server.get_postmaster_info().socket_dir  # noqa: SLF001
    workdir = Path(tempfile.mkdtemp(prefix="cosei-restore-"))
    try:
        status = backup_restore_check(
            primary_host=str(primary_host), database=options.database,
            app_password=dev._role_passwords()[dev.APP_ROLE], workdir=workdir, env=env)
    finally:
        if options.keep:
            dev.say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    dev.say("backup drill " + ("passed" if status == 0 else "FAILED"))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
