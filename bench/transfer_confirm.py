"""XFER-1, SEC-14: the transfer confirm POST through the full view (session, step-up
verify with the image card, posting, Transfer, Zengin record, audit, outbox) against a
minimal Django ORM view doing the same writes (bench_urls.minimal_transfer), both served
by the same gunicorn, 8 keep-alive connections. Prints requests/s of each, the ratio
(goal ≥ 75 %) and the full view's p99 latency (goal < 100 ms).

Every full-view request needs its own pending confirmation (a confirmation executes once),
so each one is prepared beforehand in its own logged-in session of its own customer (the
image-card challenge is per customer) through the real pages with Django's test client;
only the confirm POSTs are timed. Before the timed rounds, one request of each view is sent
in-process and its SQL statements and commits are counted, then ``BENCH_IN_PROCESS``
(default 20) more of each are sent in-process and their CPU is measured: this process's
(Python) and the PostgreSQL backend's (from /proc), per request — steadier than requests/s
on a shared machine. ``BENCH_IN_PROCESS_ONLY=1`` stops there; ``BENCH_CPROFILE=<file>``
also writes a cProfile of the full view's in-process requests to that file;
``BENCH_STATEMENTS=1`` prints the statements counted."""

from __future__ import annotations

import cProfile
import http.client
import logging
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from contextlib import contextmanager
from unittest import mock

from _setup import ROOT, account_number_unused, backend_cpu_seconds, django_setup

django_setup()
logging.getLogger("transfers").setLevel(logging.WARNING)  # a line per transfer, as _setup quiets the others

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.services import PostingLine, journal_post  # noqa: E402
from django.test import Client  # noqa: E402

from security import cards  # noqa: E402
from tests import factories  # noqa: E402
from tests.security.secondfactor import customer_with_card, right_answers  # noqa: E402
from transfers.banks import zengin_load  # noqa: E402
from transfers.demo import interbank_accounts_ensure, reference_ensure  # noqa: E402

CONNECTIONS = 8
PER_CONNECTION = int(os.environ.get("BENCH_TRANSFERS_PER_CONNECTION", "30"))
PORT = int(os.environ.get("BENCH_PORT", "8197"))
ROUNDS = 5
IN_PROCESS = int(os.environ.get("BENCH_IN_PROCESS", "20"))


def prepare(index: int) -> tuple[str, bytes]:
    """One customer at the confirm page: the Cookie header and the confirm POST body."""
    unique = time.time_ns() // 1000 + index  # the bench database keeps earlier runs' rows
    customer = customer_with_card(password="Pass1234", contract_id=f"{unique % 10**10:010d}")
    account = factories.account(owner=customer, number=account_number_unused())
    journal_post(lines=[PostingLine(factories.internal("cash"), -10_000_000), PostingLine(account, 10_000_000)],
                 kind="deposit", description="bench", idempotency_key=f"bench-confirm-seed-{unique}")
    client = Client()
    client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    client.post("/transfers/", {"debit_account": account.pk, "mode": "new"})
    client.post("/transfers/new/bank/0161/002/", {"account_type": "1", "account_number": "12345"})
    client.post("/transfers/details/", {"amount": "1", "sender_name": "ﾍﾞﾝﾁ"})
    page = client.get("/transfers/confirm/").content.decode()
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
    challenge = cards.image_card_challenge_current(customer=customer)
    answers = right_answers(challenge)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "confirmation": confirmation,
                                   "challenge": challenge.pk, "card_1": answers[0], "card_2": answers[1]})
    cookie = f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}"
    return cookie, body.encode(), customer.pk, account.pk


@contextmanager
def statements_counted():
    """Counts the statements and the commits on this process's connection while the block
    runs: outermost atomic blocks, and writes in autocommit (also a SELECT of a writing
    function: procrastinate's defer, the worker's wake-up after a posting)."""
    counted = {"queries": 0, "commits": 0}
    listing = os.environ.get("BENCH_STATEMENTS") == "1"  # print each statement counted

    def count(execute, sql, params, many, context):
        counted["queries"] += 1
        if listing:
            print(f"  {counted['queries']:2} {' '.join(sql.split())[:100]}")
        reads = sql.lstrip().upper().startswith("SELECT") and "procrastinate_defer" not in sql \
            and "ledger_post(" not in sql
        if not connection.in_atomic_block and not reads:
            counted["commits"] += 1
        return execute(sql, params, many, context)

    real_commit = connection.commit

    def commit():
        counted["commits"] += 1
        if listing:
            print("     COMMIT")
        return real_commit()

    with connection.execute_wrapper(count), mock.patch.object(connection, "commit", commit):
        yield counted


def profile(path: str, body: bytes, cookie: str = "") -> dict:
    """One request of a view in-process (Django's test client): statements and commits."""
    client = Client(HTTP_COOKIE=cookie) if cookie else Client()
    with override_settings(ROOT_URLCONF="bench_urls"), statements_counted() as counted:
        response = client.post(path, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (200, 302), response.status_code
    return counted


def cpu_per_request(views: dict[str, list[tuple[str, bytes, str]]], profile: str = "",
                    profile_to: str = "") -> dict[str, tuple[float, float]]:
    """Sends each view's requests in-process, the views interleaved in ``ROUNDS`` rounds
    (load from elsewhere hits them alike); returns per view the mean milliseconds of CPU
    per request of this process (Python, the test client's share included) and of the
    PostgreSQL backend (its connection stays open between requests: CONN_MAX_AGE).
    ``profile_to``: a cProfile of view ``profile``'s requests is written there."""
    spent = {name: [0.0, 0.0] for name in views}
    profiler = cProfile.Profile(time.process_time) if profile_to else None  # CPU, not waits
    with override_settings(ROOT_URLCONF="bench_urls"):
        connection.ensure_connection()
        reverse("transfers:start")  # the resolver of this URLconf, built before timing
        step = max(min(len(requests) for requests in views.values()) // ROUNDS, 1)
        for start in range(0, max(len(requests) for requests in views.values()), step):
            for name, requests in views.items():
                clients = [(path, body, Client(HTTP_COOKIE=cookie) if cookie else Client())
                           for path, body, cookie in requests[start:start + step]]
                profiling = profiler if name == profile else None
                backend, python = backend_cpu_seconds(), time.process_time()
                for path, body, client in clients:
                    if profiling:
                        profiling.enable()
                    response = client.post(path, body, content_type="application/x-www-form-urlencoded")
                    if profiling:
                        profiling.disable()
                    assert response.status_code in (200, 302), response.status_code
                spent[name][0] += time.process_time() - python
                spent[name][1] += backend_cpu_seconds() - backend
    if profiler:
        profiler.dump_stats(profile_to)
    return {name: (python * 1000 / len(views[name]), backend * 1000 / len(views[name]))
            for name, (python, backend) in spent.items()}


def run(requests_per_connection: list[list[tuple[str, bytes, dict]]], expect: int):
    """Each connection sends its requests one after another; returns (requests/s, latencies)."""
    latencies: list[float] = []
    failures: list[int] = []
    barrier = threading.Barrier(len(requests_per_connection) + 1)
    lock = threading.Lock()

    def connection_loop(requests):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        mine = []
        barrier.wait()
        for path, body, headers in requests:
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1", **headers})
            response = conn.getresponse()
            content = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != expect:
                failures.append(response.status)
                if len(failures) == 1:
                    print(content.decode(errors="replace")[:20000], file=sys.stderr)  # BENCH_DEBUG=1: the traceback
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=connection_loop, args=(requests,)) for requests in requests_per_connection]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"unexpected statuses: {sorted(set(failures))} ({len(failures)} requests)")
    return len(latencies) / elapsed, latencies


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] * 1000


def serve():
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench_settings",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "bench")]))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "gthread", "--threads", "4",
         "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning", "cosei_ib.wsgi:application"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/login/")
            conn.getresponse().read()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def main() -> None:
    zengin_load(codes={"1633", "0161"})
    reference_ensure()
    interbank_accounts_ensure()
    # One request of each view counted (and the in-process warm-up), then the CPU of more.
    in_process = [prepare(i) for i in range(IN_PROCESS + 1)]
    cookie, body, customer, account = in_process.pop()
    full_counted = profile("/transfers/confirm/", body, cookie)
    minimal_counted = profile("/bench/minimal-transfer/",
                              urllib.parse.urlencode({"customer": customer, "account": account}).encode())
    cpu = cpu_per_request({
        "full": [("/transfers/confirm/", body, cookie) for cookie, body, _c, _a in in_process],
        "minimal": [("/bench/minimal-transfer/", urllib.parse.urlencode(
            {"customer": customer, "account": account}).encode(), "") for _c, _b, customer, account in in_process],
    }, profile="full", profile_to=os.environ.get("BENCH_CPROFILE", ""))
    (full_python, full_backend), (minimal_python, minimal_backend) = cpu["full"], cpu["minimal"]
    counts_line = (f"  per request: full view {full_counted['queries']} statements, {full_counted['commits']} commits;"
                   f" minimal view {minimal_counted['queries']} statements, {minimal_counted['commits']} commits")
    cpu_line = (f"  in-process CPU per request ({IN_PROCESS} each, interleaved): full view {full_python:.1f} ms Python"
                f" + {full_backend:.1f} ms PostgreSQL; minimal view {minimal_python:.1f} ms + {minimal_backend:.1f} ms;"
                f" Python {full_python / minimal_python:.1f}x, both {(full_python + full_backend) / (minimal_python + minimal_backend):.1f}x")
    if os.environ.get("BENCH_IN_PROCESS_ONLY") == "1":
        print(f"transfer_confirm, in-process only\n{counts_line}\n{cpu_line}")
        return
    warm = 2  # per connection, for the full view's own warm-up (templates, code paths)
    base = IN_PROCESS + 1
    prepared = [[prepare(base + c * (PER_CONNECTION + warm) + i) for i in range(PER_CONNECTION + warm)]
                for c in range(CONNECTIONS)]
    warm_up, prepared = [row[:warm] for row in prepared], [row[warm:] for row in prepared]
    server = serve()
    try:
        minimal = [[("/bench/minimal-transfer/", urllib.parse.urlencode(
            {"customer": customer, "account": account}).encode(), {}) for _c, _b, customer, account in row]
            for row in prepared]
        run([row[:5] for row in minimal], 200)  # warm-up: both workers, connections, caches
        run([[("/transfers/confirm/", body, {"Cookie": cookie}) for cookie, body, _c, _a in row]
             for row in warm_up], 302)
        # Interleaved rounds, so that load from elsewhere on the machine hits both alike.
        full_requests = [[("/transfers/confirm/", body, {"Cookie": cookie}) for cookie, body, _c, _a in row]
                         for row in prepared]
        full_time = minimal_time = 0.0
        full_latencies, minimal_latencies = [], []
        step = max(PER_CONNECTION // ROUNDS, 1)
        for start in range(0, PER_CONNECTION, step):
            rate, latencies = run([row[start:start + step] for row in full_requests], 302)
            full_time += len(latencies) / rate
            full_latencies += latencies
            rate, latencies = run([row[start:start + step] for row in minimal], 200)
            minimal_time += len(latencies) / rate
            minimal_latencies += latencies
        full_rate, minimal_rate = len(full_latencies) / full_time, len(minimal_latencies) / minimal_time
    finally:
        server.terminate()
        server.wait(timeout=15)
    total = CONNECTIONS * PER_CONNECTION
    print(f"transfer_confirm: {CONNECTIONS} connections, {total} requests each way in {ROUNDS} interleaved rounds,"
          f" gunicorn 2 workers x 4 threads, {os.cpu_count()} cores")
    print(f"  full confirm view        {full_rate:8.1f} req/s   p99 {p99(full_latencies):6.1f} ms (goal < 100 ms)")
    print(f"  minimal ORM view         {minimal_rate:8.1f} req/s   p99 {p99(minimal_latencies):6.1f} ms")
    print(f"  ratio full/minimal       {full_rate / minimal_rate:8.0%}   (goal >= 75%)")
    print(counts_line)
    print(cpu_line)


if __name__ == "__main__":
    main()
