"""ACCT-3: the CSV of a 1,000,000-row statement, streamed through the real view (cp932).
Prints rows per second (goal ≥ 100,000) and the process's peak memory (goal < 150 MB),
measured with resource.getrusage so the timing carries no tracing overhead; a second,
shorter pass under tracemalloc shows that Python's own allocations stay flat.
Uses the 1,000,000-entry account built by balances.py (built here if missing)."""

from __future__ import annotations

import datetime as dt
import resource
import time
import tracemalloc

from balances import history_account, logged_in_client  # sets Django up on the bench DB

from accounts import selectors  # noqa: E402

ROWS = 1_000_000


def download(client, account, today: dt.date, *, encoding: str = "sjis", count_rows: bool = True):
    start = selectors.retention_start(today)
    response = client.get("/accounts/statements/csv/", {
        "account": account.pk, "mode": "period", "date_from": f"{start:%Y-%m-%d}",
        "date_to": f"{today:%Y-%m-%d}", "encoding": encoding,
    })
    assert response.status_code == 200 and response.streaming
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        if count_rows:
            lines += chunk.count(b"\n")
    response.close()
    return size, lines - 1  # minus the header


def main() -> None:
    account = history_account(ROWS)
    client = logged_in_client(account.customer)
    today = selectors.local_now().date()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    size, rows = download(client, account, today)
    seconds = time.perf_counter() - started
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"statement_csv: {rows:,} rows, {size / 1e6:.1f} MB cp932, {seconds:.2f} s")
    print(f"  rows/s                 {rows / seconds:10,.0f}   (goal >= 100,000)")
    print(f"  peak RSS (process)     {rss_peak:10.1f} MB (goal < 150 MB; {rss_before:.1f} MB before the download)")

    tracemalloc.start()
    started = time.perf_counter()
    download(client, account, today, encoding="utf8", count_rows=False)
    traced_seconds = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  tracemalloc peak       {traced_peak / 1e6:10.1f} MB (UTF-8 pass, {traced_seconds:.1f} s under tracing)")


if __name__ == "__main__":
    main()
