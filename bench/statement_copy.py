"""ACCT-3 against the database's own limit (issue 14): the 1,000,000-row statement CSV
through the real view (cp932, streamed) vs ``COPY (the same SELECT) TO STDOUT (FORMAT csv)``
through psycopg on the same connection settings, same run. Goal: the view ≥ 50 % of
COPY's rows/s, peak RSS < 100 MB. Uses balances.py's 1,000,000-entry account."""

from __future__ import annotations

import resource
import time

from balances import history_account, logged_in_client  # sets Django up on the bench DB
from statement_csv import ROWS, download

from django.db import connection  # noqa: E402
from django.db.models.functions import TruncDate  # noqa: E402

from accounts import selectors  # noqa: E402


def copy_rows(account, today) -> tuple[int, int]:
    """The exact SELECT of the view's CSV (period: retention start to today, newest
    first), streamed by the server's COPY: (bytes, rows)."""
    query = selectors.StatementQuery(account=account, mode=selectors.MODE_PERIOD,
                                     start=selectors.retention_start(today), end=today)
    columns = (selectors._statement_queryset(query, today)  # noqa: SLF001 - the same SELECT
               .annotate(local_date=TruncDate("posted_at"))
               .values_list("local_date", "description", "amount", "balance_after"))
    sql, params = columns.query.sql_with_params()
    statement = f"COPY ({connection.ops.compose_sql(sql, params)}) TO STDOUT (FORMAT csv)"
    size = lines = 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for block in copy:
            size += len(block)
            lines += bytes(block).count(b"\n")
    return size, lines


def main() -> None:
    account = history_account(ROWS)
    client = logged_in_client(account.customer)
    today = selectors.local_now().date()
    copy_rows(account, today)  # warm the cache for both
    started = time.perf_counter()
    copy_size, copy_lines = copy_rows(account, today)
    copy_seconds = time.perf_counter() - started
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    csv_size, csv_rows = download(client, account, today)
    csv_seconds = time.perf_counter() - started
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert csv_rows == copy_lines == ROWS, (csv_rows, copy_lines)
    copy_rate, csv_rate = copy_lines / copy_seconds, csv_rows / csv_seconds
    print(f"statement_copy: {ROWS:,} rows, the view's SELECT")
    print(f"  COPY TO STDOUT (csv, UTF-8)  {copy_rate:10,.0f} rows/s  {copy_size / 1e6:6.1f} MB  {copy_seconds:.2f} s")
    print(f"  view CSV (cp932, streamed)   {csv_rate:10,.0f} rows/s  {csv_size / 1e6:6.1f} MB  {csv_seconds:.2f} s")
    print(f"  ratio view/COPY              {csv_rate / copy_rate:10.0%}   (goal >= 50%)")
    print(f"  peak RSS (process)           {rss_peak:10.1f} MB (goal < 100 MB; {rss_before:.1f} MB before the download,"
          f" Django and the project's apps imported: the download added {rss_peak - rss_before:.1f} MB)")


if __name__ == "__main__":
    main()
