"""Issue 14: where one request of the pages of pages.py spends its time, in-process.

The same pages as pages.py — 残高照会, the statement's first page and the bare baseline
page (pages_urls.py) — under the same production profile (pages_settings.py, the manifest
static storage after ``collectstatic``), sent through Django's test client to one
customer of pages.py's kind, logged in as after password and OTP. For each page it prints
the queries of one request, and the Python CPU time (``time.process_time``) per request
over ``BENCH_PROFILE_REQUESTS`` (default 300) requests after a warm-up, sent in three
interleaved rounds (load from elsewhere on the machine hits every page alike), as a ratio
to the bare page's: the part of pages.py's ratio that is this process's own work (wrk's is
not in it). Beside it, the CPU per request of the PostgreSQL backend serving this process
(from /proc, the mean over the same requests; the kernel counts in ticks of 10 ms, so
±0.03 ms at 300 requests; "n/a" if the connection was opened again in between) and the
size of the answer, which the server writes and wrk reads and checks. ``BENCH_PROFILE=1``
adds cProfile's top functions per page (cumulative and own time).

    python3 dev.py bench pages_profile
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import time

os.environ["DJANGO_SETTINGS_MODULE"] = "pages_settings"  # the production profile
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")

import pages  # noqa: E402  (sets the secret key, sets Django up, migrates)
from _setup import backend_cpu_seconds  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from cosei_ib.bankcalendar import local_now  # noqa: E402
from tests.accounts.test_statements_support import login  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_PROFILE_REQUESTS", "300"))
ROUNDS = 3  # the pages' requests in interleaved rounds, as pages.py times them
WARM_UP = 30
PROFILE = os.environ.get("BENCH_PROFILE") == "1"


def cpu_per_request(client: Client, url: str, count: int) -> list[float]:
    """Milliseconds of this process's CPU per request, each checked for status 200."""
    timings = []
    for _ in range(count):
        start = time.process_time()
        response = client.get(url)
        timings.append((time.process_time() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return timings


def queries_of(client: Client, url: str) -> list[dict]:
    """The statements of one request. (Not CaptureQueriesContext: the connection may be
    closed and opened again within the request, which empties its log.)"""
    connection.force_debug_cursor = True
    connection.queries_log.clear()
    try:
        client.get(url)
        return list(connection.queries_log)
    finally:
        connection.force_debug_cursor = False


def profile(client: Client, url: str) -> str:
    profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on the database
    profiler.enable()
    for _ in range(REQUESTS):
        client.get(url)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    return out.getvalue()


def cpu_ms(function, repeat: int = REQUESTS) -> float:
    """Median milliseconds of this process's CPU per call of ``function``."""
    timings = []
    for _ in range(repeat):
        start = time.process_time()
        function()
        timings.append((time.process_time() - start) * 1000)
    return statistics.median(timings)


def parts(client: Client, urls: dict[str, str]) -> list[tuple[str, float]]:
    """The pages' own steps, each alone: the selectors and the rendering (with the context
    processors) of the template, on the request of a real answer."""
    from django.shortcuts import render

    from accounts import forms, selectors, views

    figures = []
    response = client.get(urls["balances"])
    request, customer = response.wsgi_request, response.wsgi_request.customer
    summary = selectors.balance_summary_for_customer(customer=customer)
    figures.append(("balances: selector", cpu_ms(lambda: selectors.balance_summary_for_customer(customer=customer))))
    figures.append(("balances: render", cpu_ms(lambda: render(request, "accounts/balances.html",
                                                              {"summary": summary}))))
    captured = {}  # the view's context (the test client records none for Jinja2 templates)

    def capturing_render(request, template_name, context=None, *args, **kwargs):
        captured.update(context or {})
        return render(request, template_name, context, *args, **kwargs)

    views.render = capturing_render
    try:
        response = client.get(urls["statement page 1"])
    finally:
        views.render = render
    request, context = response.wsgi_request, captured
    figures.append(("statements: account list",
                    cpu_ms(lambda: selectors.accounts_for_customer(customer=customer))))
    figures.append(("statements: statement_page",
                    cpu_ms(lambda: selectors.statement_page(query=context["query"], today=local_now().date()))))
    flat = {key: context[key] for key in ("form", "accounts", "account", "query", "page", "is_first_page",
                                          "next_url", "first_url", "download_params", "as_of",
                                          "retention_start", "retention_months", "page_size")}
    figures.append(("statements: render", cpu_ms(lambda: render(request, "accounts/statements.html", flat))))
    form = flat["form"]
    figures.append(("statements: the query's parsing", cpu_ms(
        lambda: forms.StatementQueryInput(request.GET, accounts=flat["accounts"], today=form.today,
                                          smartphone=form.smartphone))))
    figures.append(("statements: whole view", cpu_ms(lambda: views.statements(request))))
    return figures


def main() -> None:
    call_command("collectstatic", "--noinput", verbosity=0)  # the manifest of the production storage
    customer = pages.customers_prepare()[0]
    from accounts.models import Customer

    client = Client()
    login(client, Customer.objects.get(contract_id=customer.contract_id))
    bare_client = Client()
    today = local_now().date()
    since = today - pages.dt.timedelta(days=30)
    urls = {
        "bare page": f"/bench/bare/?account={customer.main.pk}",
        "balances": "/accounts/balances/",
        "statement page 1": (f"/accounts/statements/?account={customer.main.pk}&mode=period"
                             f"&date_from={since:%Y-%m-%d}&date_to={today:%Y-%m-%d}"),
    }
    clients = {name: bare_client if name == "bare page" else client for name in urls}
    found = {}
    for name, url in urls.items():
        for _ in range(WARM_UP):
            clients[name].get(url)
        found[name] = (queries_of(clients[name], url), len(clients[name].get(url).content))
    # the pages in interleaved rounds: load from elsewhere on the machine hits all alike
    timings = {name: [] for name in urls}
    backend = dict.fromkeys(urls, 0.0)
    pid = connection.connection.info.backend_pid
    for _ in range(ROUNDS):
        for name, url in urls.items():
            before = backend_cpu_seconds()
            timings[name] += cpu_per_request(clients[name], url, REQUESTS // ROUNDS)
            backend[name] += backend_cpu_seconds() - before
    same_backend = connection.connection.info.backend_pid == pid
    results = {}
    for name, url in urls.items():
        queries, size = found[name]
        results[name] = (statistics.median(timings[name]), statistics.mean(timings[name]), len(queries), queries,
                         backend[name] * 1000 / len(timings[name]) if same_backend else None, size)
        if PROFILE:
            print(f"--- {name}: cProfile over {REQUESTS} requests")
            print(profile(clients[name], url))
    steps = parts(client, urls)
    bare = results["bare page"][0]
    print(f"pages_profile: Python CPU per request in-process (production profile, test client), "
          f"{REQUESTS} requests per page; load average {os.getloadavg()[0]:.2f}")
    for name, (median, mean, count, captured, backend, size) in results.items():
        print(f"  {name:18} median {median:6.2f} ms  mean {mean:6.2f} ms  {count} queries  "
              f"bare/page {bare / median:5.0%}  PostgreSQL {'  n/a' if backend is None else f'{backend:5.2f}'} ms  "
              f"{size:,} bytes")
        for query in captured:
            print(f"      {query['sql'][:150]}")
    for name, figure in steps:
        print(f"  {name:40} {figure:6.2f} ms")


if __name__ == "__main__":
    main()
