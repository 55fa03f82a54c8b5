"""Where a posting's time goes (issue 14): CPU per posting, not wall time, so the figures
hold on a shared machine. One client, one connection at a time, random pairs of the
10,000 accounts of ``ledger_pgbench.py``:

* client CPU (this process, ``time.process_time``) and server CPU (the backend's
  utime + stime from /proc) per call, for ``journal_post`` through Django and for the
  bare ``SELECT … FROM ledger_post(…)`` on a raw psycopg connection (prepared);
* the same for pgbench's TPC-B transaction (its five statements from a prepared psycopg
  client) on ``pgbench_bench``, the baseline's server cost;
* the self time of every PL/pgSQL function a posting runs — ``ledger_post()`` and the
  triggers — from ``track_functions`` (superuser session, the bench database only).

``BENCH_COST_POSTINGS`` (default 2,000) postings per figure."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from ledger_pgbench import PGBENCH_SCALE, bench_accounts, pgbench_prepare  # sets Django up

import psycopg  # noqa: E402
from django.db import connection, connections  # noqa: E402

from accounts.models import Journal  # noqa: E402
from accounts.services import PostingLine, journal_post  # noqa: E402

POSTINGS = int(os.environ.get("BENCH_COST_POSTINGS", "2000"))
RUN = str(time.time_ns())
LEDGER_POST_SQL = "SELECT journal_id, created, posted_at FROM ledger_post(%s, %s, %s, %s, %s, %s, %s)"
TPCB = [
    "UPDATE pgbench_accounts SET abalance = abalance + %(delta)s WHERE aid = %(aid)s",
    "SELECT abalance FROM pgbench_accounts WHERE aid = %(aid)s",
    "UPDATE pgbench_tellers SET tbalance = tbalance + %(delta)s WHERE tid = %(tid)s",
    "UPDATE pgbench_branches SET bbalance = bbalance + %(delta)s WHERE bid = %(bid)s",
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (%(tid)s, %(bid)s, %(aid)s,"
    " %(delta)s, CURRENT_TIMESTAMP)",
]


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(name: str, pid: int, run) -> None:
    wall, client, server = time.perf_counter(), time.process_time(), backend_cpu(pid)
    run()
    wall, client, server = (time.perf_counter() - wall, time.process_time() - client,
                            backend_cpu(pid) - server)
    print(f"  {name:<46} client {client / POSTINGS * 1e6:6.0f} µs   server {server / POSTINGS * 1e6:6.0f} µs"
          f"   wall {wall / POSTINGS * 1e6:6.0f} µs  per transaction", flush=True)


def pairs(ids: list[int], seed: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    return [tuple(rng.sample(ids, 2)) for _ in range(POSTINGS)]


def via_journal_post(ids: list[int], round_: int) -> None:
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    todo = pairs(ids, 1)

    def run():
        for n, (source, target) in enumerate(todo):
            journal_post(lines=[PostingLine(source, -1, "振込"), PostingLine(target, 1, "振込")],
                         kind=Journal.Kind.TRANSFER, description="振込",
                         idempotency_key=f"bench-cost-{RUN}-dj-{round_}-{n}")

    measure("journal_post (Django)", pid, run)


def via_raw_call(ids: list[int], dsn: dict, round_: int) -> None:
    todo = pairs(ids, 2)
    with psycopg.connect(**dsn, autocommit=True) as conn:
        pid = conn.info.backend_pid

        def run():
            for n, (source, target) in enumerate(todo):
                conn.execute(LEDGER_POST_SQL, ["transfer", "振込", f"bench-cost-{RUN}-raw-{round_}-{n}",
                                               [source, target], [-1, 1], ["振込", "振込"], None],
                             prepare=True).fetchone()

        measure("SELECT ledger_post(…), raw psycopg, prepared", pid, run)


def via_tpcb(admin_url: str) -> None:
    rng = random.Random(3)
    todo = [{"aid": rng.randint(1, 100_000 * PGBENCH_SCALE), "bid": rng.randint(1, PGBENCH_SCALE),
             "tid": rng.randint(1, 10 * PGBENCH_SCALE), "delta": rng.randint(-5000, 5000)}
            for _ in range(POSTINGS)]
    with psycopg.connect(admin_url.rsplit("/", 1)[0] + "/pgbench_bench") as conn:
        pid = conn.info.backend_pid

        def run():
            for params in todo:
                with conn.transaction():
                    for statement in TPCB:
                        conn.execute(statement, params, prepare=True)

        measure("pgbench TPC-B transaction, psycopg, prepared", pid, run)


def function_times(ids: list[int], admin_url: str) -> None:
    """Self time of each PL/pgSQL function per posting (superuser: track_functions)."""
    todo = pairs(ids, 4)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SET track_functions = 'all'")
        conn.execute("SELECT pg_stat_reset()")
        for n, (source, target) in enumerate(todo):
            conn.execute(LEDGER_POST_SQL, ["transfer", "振込", f"bench-cost-{RUN}-fn-{n}",
                                           [source, target], [-1, 1], ["振込", "振込"], None],
                         prepare=True)
        conn.execute("SELECT pg_stat_force_next_flush()")
        time.sleep(0.5)
        rows = conn.execute(
            "SELECT funcname, calls, self_time, total_time FROM pg_stat_user_functions"
            " ORDER BY self_time DESC").fetchall()
    print(f"  track_functions over {POSTINGS:,} postings (per posting):")
    for name, calls, self_time, total_time in rows:
        print(f"    {name:<36} calls {calls / POSTINGS:4.1f}   self {self_time / POSTINGS * 1000:6.0f} µs"
              f"   total {total_time / POSTINGS * 1000:6.0f} µs")


def main() -> None:
    admin_url = os.environ["BENCH_ADMIN_URL"]
    params = connections["default"].get_connection_params()
    dsn = {key: value for key, value in params.items() if key in {"host", "port", "dbname", "user", "password"}}
    ids = bench_accounts()
    pgbench_prepare(admin_url, {"host": params["host"]})
    print(f"ledger_cost: {POSTINGS:,} transactions per figure, one client; CPU per transaction")
    for round_ in range(2):  # the first round warms caches and plans
        via_journal_post(ids, round_)
        via_raw_call(ids, dsn, round_)
        via_tpcb(admin_url)
    function_times(ids, admin_url)


if __name__ == "__main__":
    main()
