"""Profile of the 予約振込 batch in-process (not a benchmark: its name starts with ``_``, so
``python3 dev.py bench`` skips it; run it with ``python3 dev.py bench _scheduled_profile``).

Prepares ``BENCH_SCHEDULED_TRANSFERS`` (default 400) scheduled transfers as
``scheduled_batch.py`` does, runs ``transfers_execute_due`` in this process with a query
log (every statement's wall time, grouped by its first words) and the commit's time, then
prints per transfer: the database statements, the commits (with their WAL flush) and what
is left — Python. ``BENCH_PROFILE=1`` adds cProfile's top functions by cumulative time."""

from __future__ import annotations

import cProfile
import multiprocessing
import datetime as dt
import os
import pstats
import re
import time
from collections import defaultdict

os.environ.setdefault("BENCH_SCHEDULED_TRANSFERS", "400")

import scheduled_batch  # noqa: E402  (sets Django up)
from ledger_post import make_pair  # noqa: E402

from django.db import connection  # noqa: E402

from cosei_ib import bankcalendar  # noqa: E402
from transfers.models import TransferLimit  # noqa: E402
from transfers.scheduled import transfers_execute_due  # noqa: E402

STATEMENTS: dict[str, list[float]] = defaultdict(list)


def _label(sql: str) -> str:
    sql = " ".join(sql.split())
    if "ledger_post(" in sql:
        return "ledger_post()"
    if sql.startswith("SAVEPOINT") or sql.startswith("RELEASE SAVEPOINT") or sql.startswith("ROLLBACK TO"):
        return sql.split(" ")[0] + (" SAVEPOINT" if sql.startswith("RELEASE") else "")
    match = re.match(r"(SELECT|INSERT INTO|UPDATE|DELETE FROM|WITH)\s+\S+(?:.*?\bFROM\s+(\S+))?", sql)
    if not match:
        return sql[:40]
    return f"{match[1]} {match[2] or sql.split()[2 if match[1] == 'INSERT INTO' else 1][:40]}"[:60]


def _timed(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        STATEMENTS[_label(sql)].append(time.perf_counter() - started)


def main() -> None:
    count = scheduled_batch.COUNT
    pairs = [make_pair(index) for index in range(scheduled_batch.CUSTOMERS)]
    customers = [pair[0] for pair in pairs]
    from accounts.models import Account

    ids = list(Account.objects.filter(pk__in=customers).values_list("customer_id", flat=True))
    # loaded as the owner, as a DBA would: the app's role raises a limit only through its
    # service, a day ahead (transfers 0037, CI235)
    TransferLimit.objects.using("owner").bulk_create(
        [TransferLimit(customer_id=pk, daily_limit=10**15) for pk in ids], ignore_conflicts=True)
    TransferLimit.objects.using("owner").filter(customer_id__in=ids).update(daily_limit=10**15)
    day = bankcalendar.local_now().date() + dt.timedelta(days=400 + int(scheduled_batch.RUN[-6:]) % 10_000 * 2)
    scheduled_batch.prepare(pairs, day)
    workers = int(os.environ.get("BENCH_PROFILE_WORKERS", "0"))
    if workers:
        return sample_workers(workers, day)
    connection.ensure_connection()
    commits: list[float] = []
    inner = connection._commit

    def timed_commit():
        started = time.perf_counter()
        try:
            return inner()
        finally:
            commits.append(time.perf_counter() - started)

    connection._commit = timed_commit
    profiler = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
    with connection.execute_wrapper(_timed):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = transfers_execute_due(day=day)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    done = result.executed + result.unprocessed
    assert done == count, (result, count)
    database = sum(sum(times) for times in STATEMENTS.values())
    committing = sum(commits)
    print(f"{done} transfers in {elapsed:.2f} s: {done / elapsed:.0f}/s, {elapsed / done * 1000:.2f} ms each "
          f"(load average {os.getloadavg()[0]:.1f})")
    print(f"  statements {database / done * 1000:6.2f} ms  ({sum(map(len, STATEMENTS.values())) / done:.1f} a transfer)")
    print(f"  commits    {committing / done * 1000:6.2f} ms  ({len(commits) / done:.2f} a transfer)")
    print(f"  Python     {(elapsed - database - committing) / done * 1000:6.2f} ms")
    for label, times in sorted(STATEMENTS.items(), key=lambda item: -sum(item[1])):
        print(f"    {sum(times) / done * 1000:6.3f} ms  {len(times) / done:5.2f}×  {label}")
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(45)


def sample_workers(workers: int, day: dt.date) -> None:
    """``BENCH_PROFILE_WORKERS=N``: N worker processes instead, while this process samples
    what their database sessions wait for (pg_stat_activity) every few milliseconds."""
    from collections import Counter

    from django.db import connections

    connections.close_all()
    processes = [multiprocessing.get_context("fork").Process(target=scheduled_batch._worker, args=(day,))
                 for _ in range(workers)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    seen: Counter = Counter()
    with connection.cursor() as cursor:
        while any(process.is_alive() for process in processes):
            cursor.execute("SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU') || ' ' || state"
                           " FROM pg_stat_activity WHERE backend_type = 'client backend'"
                           " AND datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'")
            seen.update(row[0] for row in cursor.fetchall())
            time.sleep(0.005)
    elapsed = time.perf_counter() - started
    print(f"{workers} workers: {scheduled_batch.COUNT / elapsed:.0f} transfers/s "
          f"(load average {os.getloadavg()[0]:.1f}); their sessions, sampled:")
    total = sum(seen.values())
    for what, count in seen.most_common(12):
        print(f"  {count / total:6.1%}  {what}")


if __name__ == "__main__":
    main()
