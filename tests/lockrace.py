"""Two real connections racing for a customer's row locks (docs/security.md, "Lock order").

``race`` runs ``first`` in one thread until it is about to send the SQL statement that
``pause_before(sql, params)`` picks — so it holds every lock it took before — then
``second`` in another thread until that one waits for a lock (or finishes), then lets
``first`` go on. When the two take their locks in opposite orders PostgreSQL finds the
cycle and fails one of them with DeadlockDetected (SQLSTATE 40P01): a 500 in the bank.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connection, connections

PAUSE_SECONDS = 10  # an upper bound: the wait ends as soon as ``second`` waits for a lock


def lock_wait_query(pid: int) -> str | None:
    """The statement the backend ``pid`` waits in for a lock (a row lock: its holder's
    transaction), or None when it does not wait for one. Asked from ``first``'s connection,
    inside its transaction: PostgreSQL keeps the backends' ``query`` from the transaction's
    first look at pg_stat_activity (only the wait event is read live), so the snapshot is
    dropped first — else the text could be the statement ``second`` ran before it waited."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT wait_event_type, query FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row[1] if row is not None and row[0] == "Lock" else None


def waiting_for_a_lock(pid: int) -> bool:
    """Whether the backend ``pid`` waits for a lock (a row lock: its holder's transaction)."""
    return lock_wait_query(pid) is not None


def locking(table: str, *params) -> Callable[[str, tuple], bool]:
    """Picks the statement that locks a row of ``table`` (``SELECT … FOR [NO KEY] UPDATE``)
    whose parameters include each of ``params``."""
    def picks(sql: str, values) -> bool:
        return (f'FROM "{table}"' in sql and "FOR " in sql and "UPDATE" in sql.rsplit("FOR ", 1)[1]
                and all(param in (values or ()) for param in params))
    return picks


def inserting(table: str) -> Callable[[str, tuple], bool]:
    """Picks the first INSERT into ``table``."""
    return lambda sql, values: sql.startswith(f'INSERT INTO "{table}"')


def writing(table: str) -> Callable[[str, tuple], bool]:
    """Picks the first UPDATE or DELETE of ``table``."""
    return lambda sql, values: sql.startswith((f'UPDATE "{table}"', f'DELETE FROM "{table}"'))


def race(first: Callable[[], object], second: Callable[[], object], *,
         pause_before: Callable[[str, tuple], bool], waited_in: list[str] | None = None,
         pause_seconds: float = PAUSE_SECONDS) -> dict:
    """Both outcomes, ``{"first": ("ok", result) | ("error", exception), "second": …}``,
    and ``"paused"``: whether ``first`` reached the statement (else nothing raced).
    ``waited_in`` gets the statement ``second`` was seen waiting in for a lock (none: it
    never waited while ``first`` was paused). ``pause_seconds``: the bound of the pause, for
    a test that asserts where ``second`` waited (a loaded machine is slow to get there)."""
    holding, second_done = threading.Event(), threading.Event()
    second_pid: list[int] = []
    outcomes: dict = {"paused": False}

    def pause_then_execute(execute, sql, params, many, context):
        if not holding.is_set() and pause_before(sql, params):
            outcomes["paused"] = True
            holding.set()
            deadline = time.monotonic() + pause_seconds
            while time.monotonic() < deadline and not second_done.is_set():
                query = lock_wait_query(second_pid[0]) if second_pid else None
                if query is not None:
                    if waited_in is not None:
                        waited_in.append(query)
                    break
                time.sleep(0.02)
        return execute(sql, params, many, context)

    def run(name, job, started=None, finished=None):
        try:
            if started:
                started()
            outcomes[name] = ("ok", job())
        except Exception as exc:  # noqa: BLE001 - a deadlock must show in the outcome
            outcomes[name] = ("error", exc)
        finally:
            connections.close_all()
            if finished:
                finished.set()

    def first_job():
        try:
            with connections["default"].execute_wrapper(pause_then_execute):
                return first()
        finally:
            holding.set()  # never paused: let ``second`` run anyway

    def second_started():
        holding.wait(pause_seconds)
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            second_pid.append(cursor.fetchone()[0])

    one = threading.Thread(target=run, args=("first", first_job))
    two = threading.Thread(target=run, args=("second", second, second_started, second_done))
    one.start()
    two.start()
    one.join(60)
    two.join(60)
    return outcomes
