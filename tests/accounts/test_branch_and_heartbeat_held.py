"""XFER-10, XFER-12, LEDGER-7, issue 14 (outside review dbprobe27 F1, F5, F9; accounts 0033):
our branches are the owner's reference data, and a worker beat is dated by the database."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection, connections

from accounts.models import Branch, WorkerHeartbeat
from accounts.reference_data import BANK_CODE
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db

INSUFFICIENT_PRIVILEGE = "42501"
CHECK_VIOLATION = "23514"


@pytest.mark.parametrize("statement", [
    # F1: a 支店名（カナ） the 全銀 writer cannot take stopped the day's 仕向 file (its header)
    "UPDATE accounts_branch SET name_kana = '本店営業部' WHERE code = '001'",
    "UPDATE accounts_branch SET code = 'ab1' WHERE code = '001'",
    # F5: two codes swapped inside one transaction fooled the payee guards
    "UPDATE accounts_branch SET code = 'tmp' WHERE code = '002'",
    "INSERT INTO accounts_branch (code, name, name_kana) VALUES ('900', '梅田', 'ｳﾒﾀﾞ')",
    "DELETE FROM accounts_branch WHERE code = '080'",
])
def test_the_app_role_never_writes_a_branch(statement):
    assert refused(statement) == INSUFFICIENT_PRIVILEGE
    assert Branch.objects.get(code="001").name_kana == "ホンテン"


def owner_refused(sql: str) -> str | None:
    """``sql`` as the owner on its own connection (rolled back); the SQLSTATE it failed with."""
    with psycopg.connect(**connections["owner"].get_connection_params()) as conn:
        try:
            conn.execute(sql)
        except psycopg.Error as error:
            return error.sqlstate
        finally:
            conn.rollback()
    return None


@pytest.mark.parametrize("statement", [
    "UPDATE accounts_branch SET name_kana = '本店営業部' WHERE code = '001'",
    "UPDATE accounts_branch SET name_kana = 'ヰド' WHERE code = '001'",  # no half-width form
    "UPDATE accounts_branch SET name_kana = '' WHERE code = '001'",
    "UPDATE accounts_branch SET code = 'ab1' WHERE code = '001'",
    "UPDATE accounts_branch SET code = '01' WHERE code = '001'",
    "INSERT INTO accounts_branch (code, name, name_kana) VALUES ('9a1', '梅田', 'ｳﾒﾀﾞ')",
])
def test_even_the_owner_writes_a_branch_the_zengin_file_can_carry(statement):
    assert owner_refused(statement) == CHECK_VIOLATION


def test_the_code_list_kana_and_the_zengin_set_are_a_branch_name():
    """What ensure_reference_data writes (the code list's full-width katakana) passes, and
    the half-width set of CI212 too."""
    import zengin_code

    assert Branch.objects.count() == len(zengin_code.Bank.all[BANK_CODE].branches)
    for kana in ("ホンテン", "ジユウソウ", "ｳﾒﾀﾞ ｴｷﾏｴ(2)", "ＡＴＭ　センター－１"):
        assert owner_refused(f"UPDATE accounts_branch SET name_kana = '{kana}' WHERE code = '001'") is None


@pytest.mark.parametrize("value", ["8999-12-31", "2000-01-01", "infinity"])
def test_a_worker_beat_of_the_app_role_is_dated_by_the_database(value):
    """F9: a beat dated 8999 made /health/ report a live worker for ever."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO accounts_workerheartbeat (beat_at, note) VALUES (%s, 'periodic')"
                       " RETURNING id, abs(extract(epoch FROM beat_at - clock_timestamp())) < 60", [value])
        beat_id, now = cursor.fetchone()
        assert now
        cursor.execute("UPDATE accounts_workerheartbeat SET beat_at = %s WHERE id = %s"
                       " RETURNING abs(extract(epoch FROM beat_at - clock_timestamp())) < 60", [value, beat_id])
        assert cursor.fetchone()[0]
    WorkerHeartbeat.objects.get(pk=beat_id)  # it loads


def test_health_reports_a_beat_ahead_of_the_clock_as_an_error(client, owner_sql_committed, no_job_waiting):
    WorkerHeartbeat.objects.create(beat_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), note="periodic")
    health = client.get("/health/").json()
    assert health["status"] == "ok" and 0 <= health["worker_last_beat_seconds"] < 60
    assert health["worker_beats_ahead_of_clock"] == 0
    owner_sql_committed("INSERT INTO accounts_workerheartbeat (beat_at, note) VALUES ('8999-12-31', 'owner')")
    response = client.get("/health/")
    health = response.json()
    assert response.status_code == 200 and health["status"] == "error"
    assert health["worker_beats_ahead_of_clock"] == 1 and 0 <= health["worker_last_beat_seconds"] < 60


def test_health_without_a_beat(client, no_job_waiting):
    health = client.get("/health/").json()
    assert health["status"] == "ok" and health["worker_last_beat_seconds"] is None


@pytest.fixture
def owner_sql_committed():
    """A row the owner commits, removed after the test (no foreign key points at it)."""
    done = []

    def run(sql: str) -> None:
        with psycopg.connect(**connections["owner"].get_connection_params(), autocommit=True) as conn:
            done.append(conn.execute(sql + " RETURNING id").fetchone()[0])

    yield run
    with psycopg.connect(**connections["owner"].get_connection_params(), autocommit=True) as conn:
        conn.execute("DELETE FROM accounts_workerheartbeat WHERE id = ANY(%s)", [done])
