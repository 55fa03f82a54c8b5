"""Issue 14, ACCT-1/ACCT-2: 残高照会 and the first page of 入出金明細照会 through the real
server, against a bare Django page doing one indexed SELECT with a database session.

One gunicorn with the production profile (pages_settings.py: cosei_ib.settings.prod with
TLS redirect, Secure cookies and service hours off), 3 sync workers as in the Dockerfile,
on the loopback, the app's database role; load from ``wrk`` (Debian's package, installed
here when missing — the application never needs it), 8 connections, one wrk thread each.
Each connection belongs to its own customer, logged in beforehand through the real login
pages over HTTP (password, then the OTP at login), so it sends its own session cookie; the
bare page's connections each have their own anonymous database session (pages_urls.py).
The wrk script (pages.lua) checks every answer: status 200, the page's own content and the
connection's own customer; any failure invalidates the run (exit status 1).

The three pages are timed in interleaved rounds (bare, balance, statement, ROUNDS times),
so load from elsewhere on the machine hits all alike. Prints requests/s, p50 and p99
latency, the ratio to the bare page, and the goals: balance and statement ≥ 70 % of the
bare page's requests/s, p99 < 50 ms at 8 connections. ``BENCH_SECONDS`` (default 5) is the
length of each timed round; ``BENCH_PORT`` the port (default: a free one)."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

CONNECTIONS = 8
WORKERS = 3  # the Dockerfile's and docker-compose.yml's gunicorn
ROUNDS = 3
SECONDS = max(int(float(os.environ.get("BENCH_SECONDS", "5"))), 1)
WARM_UP_SECONDS = 2
PASSWORD = "Pass1234"
LUA = Path(__file__).with_name("pages.lua")


def wrk_ensure() -> str:
    """wrk from Debian, installed for the benchmark only (never a dependency of the app)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("pages: wrk is missing; installing Debian's package: apt-get install -y wrk", flush=True)
    for command in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"], ["apt-get", "install", "-y", "wrk"]):
        try:
            subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=600)
        except (OSError, subprocess.TimeoutExpired):
            break
        if shutil.which("wrk"):
            return shutil.which("wrk")
    raise SystemExit("pages: wrk (the load generator) is not installed and could not be installed here.\n"
                     "       Install it as root with `apt-get install wrk` (Debian) and run the benchmark again.")


# This process prepares the customers (test settings, same database); the server runs the
# production profile. Both sign with the same, fresh secret key.
os.environ["DJANGO_SECRET_KEY"] = SECRET_KEY = secrets.token_urlsafe(50)

from _setup import ROOT, counter_account_open, django_setup  # noqa: E402

django_setup()

import django  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.test import override_settings  # noqa: E402

from accounts.models import Account, Journal  # noqa: E402
from accounts.services import LEDGER_POST_SQL  # noqa: E402
from cosei_ib.bankcalendar import local_now  # noqa: E402
from tests import factories  # noqa: E402
from tests.security.secondfactor import activate_otp, code_at_next_step, customer_with_card  # noqa: E402


@dataclass
class BenchCustomer:
    name: str
    contract_id: str
    main: Account
    otp_code: str
    cookie: str = ""  # the logged-in session (and CSRF) cookies, as a Cookie header
    bare_cookie: str = ""  # the bare page's own anonymous session


@dataclass
class Target:
    name: str
    marker: str  # every answer contains it
    rows: int  # every answer contains exactly this many "<tr>" (0: not checked)
    connections: list[tuple[str, str, str]]  # (path, Cookie header, identity) per connection
    rounds: list[dict] = field(default_factory=list)


# --- customers, history, logins -------------------------------------------------------------

def customers_prepare() -> list[BenchCustomer]:
    """CONNECTIONS customers with an image card and the OTP at login, each with an ordinary
    account of 40 entries over the last 45 days (more than a statement page in the last 30)
    and a savings account of 3. The postings go through ledger_post() against a counter
    account of this run (backdated postings need a counter account without later entries),
    opened by the owner (bench/_setup.py). The customers and their OTP first (its
    activation is a transaction of its own), then the accounts, then their history as the
    owner (the app's role backdates only onto customer accounts opened in the same
    transaction and internal ones of which no account has an earlier entry, accounts 0026)."""
    unique = time.time_ns() // 1000  # the bench database keeps earlier runs' rows
    names = [f"負荷{'一二三四五六七八'[index]}郎" for index in range(CONNECTIONS)]
    # the server hashes with Argon2 (production); this process's test profile uses MD5
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"]):
        customers = [customer_with_card(password=PASSWORD, contract_id=f"{(unique + index) % 10**10:010d}",
                                        name_kanji=name, name_kana="ﾌｶ ﾀﾛｳ")
                     for index, name in enumerate(names)]
    tokens = [activate_otp(customer, required_at_login=True) for customer in customers]
    # the counter account is the owner's (committed before the history, without entries)
    counter = counter_account_open(number=f"{unique % 10**7:07d}", name=f"ベンチ相手勘定 pages {unique}")
    with transaction.atomic():
        now = local_now()
        prepared, postings = [], []
        for index, (name, customer, token) in enumerate(zip(names, customers, tokens)):
            main = factories.account(owner=customer, number=f"{(unique + 1 + 2 * index) % 10**7:07d}")
            savings = factories.account(owner=customer, number=f"{(unique + 2 + 2 * index) % 10**7:07d}",
                                        type=Account.Type.SAVINGS)
            start = now - dt.timedelta(days=45, minutes=index)
            for step in range(40):  # every 26 hours; the last about 2.7 days ago
                amount = -12_000 if step % 3 == 2 else 30_000
                postings.append((start + step * dt.timedelta(hours=26), main, amount))
            for days in (40, 20, 3):
                postings.append((now - dt.timedelta(days=days, minutes=index), savings, 50_000))
            prepared.append(BenchCustomer(name=name, contract_id=customer.contract_id, main=main,
                                          otp_code=code_at_next_step(token)))
    # the history as the owner, who loads old data: ledger_post() backdates onto the bank's
    # own accounts for the app's role only while none of their family has an entry
    # (accounts 0026), and the cash account's has
    with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
        for number, (when, account, amount) in enumerate(sorted(postings, key=lambda posting: posting[0])):
            description = "給与 コウセイシヨウジ" if amount > 0 else "カード"
            cursor.execute(LEDGER_POST_SQL, [
                Journal.Kind.DEPOSIT if amount > 0 else Journal.Kind.WITHDRAWAL, description,
                f"bench-pages-{unique}-{number}", [counter.pk, account.pk], [-amount, amount],
                [description, description], when])
    return prepared


class Browser:
    """Just enough of a browser for the login pages: cookies, forms, the CSRF token."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        headers = {"Host": f"127.0.0.1:{self.port}", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) pages-bench"}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read().decode(errors="replace")
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, response.headers.get("Location", ""), content

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def form_post(self, path: str, fields: dict) -> tuple[int, str, str]:
        status, _location, page = self.request("GET", path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise SystemExit(f"pages: {path} answered {status} without a form")
        return self.request("POST", path, {"csrfmiddlewaretoken": token[1], **fields})


def login(port: int, customer: BenchCustomer) -> str:
    """The real login over HTTP: password (Argon2), then the OTP at login; the session's
    Cookie header, checked on the balance page."""
    browser = Browser(port)
    status, location, page = browser.form_post("/login/", {"contract_id": customer.contract_id, "password": PASSWORD})
    if status != 302:
        raise SystemExit(f"pages: login of {customer.contract_id} refused ({status}): {page[:2000]}")
    status, location, page = browser.form_post("/login/otp/", {"otp": customer.otp_code})
    if status != 302:
        raise SystemExit(f"pages: OTP at login of {customer.contract_id} refused ({status}): {page[:2000]}")
    status, _location, page = browser.request("GET", "/accounts/balances/")
    if status != 200 or f"{customer.name} 様" not in page:
        raise SystemExit(f"pages: {customer.contract_id} is not logged in after the OTP step ({status})")
    return browser.cookie_header()


def bare_session(port: int, customer: BenchCustomer) -> str:
    browser = Browser(port)
    status, _location, page = browser.request("GET", f"/bench/bare/?account={customer.main.pk}")
    if status != 200 or f"bench-bare {customer.main.number}" not in page:
        raise SystemExit(f"pages: the bare page answered {status}: {page[:2000]}")
    return browser.cookie_header()


# --- the server ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env() -> dict:
    """The production environment of the web: the app's role only (LEDGER-7)."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_OWNER_URL", "BENCH_ADMIN_URL", "DATABASE_REPLICA_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="pages_settings", DJANGO_SECRET_KEY=SECRET_KEY,
               DJANGO_ALLOWED_HOSTS="127.0.0.1",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "bench")]))
    return env


def serve(port: int, logs: Path) -> subprocess.Popen:
    env = server_env()
    # the production storage serves hashed, compressed files from STATIC_ROOT (as the image)
    subprocess.run([sys.executable, "-m", "django", "collectstatic", "--noinput", "-v", "0"],
                   env=env, cwd=ROOT, check=True)
    with open(logs / "server.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "cosei_ib.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(WORKERS), "--access-logfile", str(logs / "access.log"),
             "--forwarded-allow-ips", "*"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(150):
        if server.poll() is not None:
            break
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/login/", headers={"Host": f"127.0.0.1:{port}"})
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit(f"pages: gunicorn did not start; see {logs / 'server.log'}")


# --- load ------------------------------------------------------------------------------------

def wrk_run(wrk: str, port: int, target: Target, seconds: int) -> dict:
    command = [wrk, "-t", str(CONNECTIONS), "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "10s",
               "-s", str(LUA), f"http://127.0.0.1:{port}/", "--", target.marker, str(target.rows),
               *("\t".join(connection_) for connection_ in target.connections)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    line = next((row for row in finished.stdout.splitlines() if row.startswith("PAGES ")), None)
    if finished.returncode != 0 or line is None:
        raise SystemExit(f"pages: wrk failed ({finished.returncode}):\n{finished.stdout}\n{finished.stderr}")
    result = {key: int(float(value)) for key, value in (item.split("=") for item in line.split()[1:])}
    failure = next((row for row in finished.stdout.splitlines() if row.startswith("PAGES_FIRST_FAILURE")), "")
    if result["failures"] or result["socket_errors"]:
        print(f"  {target.name}: {result['failures']} failed checks, {result['socket_errors']} socket errors; "
              f"first: {failure[20:][:400]}", file=sys.stderr)
    return result


def summary(target: Target) -> dict:
    requests = sum(r["requests"] for r in target.rounds)
    seconds = sum(r["duration_us"] for r in target.rounds) / 1e6
    return {
        "rate": requests / seconds,
        "rates": [r["requests"] / r["duration_us"] * 1e6 for r in target.rounds],
        "p50": statistics.median(r["p50_us"] for r in target.rounds) / 1000,
        "p99": max(r["p99_us"] for r in target.rounds) / 1000,  # the worst round's
        "requests": requests,
        "failures": sum(r["failures"] + r["socket_errors"] for r in target.rounds),
        "checked": sum(r["checked"] for r in target.rounds),
    }


def versions(wrk: str) -> str:
    import gunicorn

    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.split("[")[0].strip()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return (f"Python {platform.python_version()}, Django {django.get_version()}, gunicorn {gunicorn.__version__}, "
            f"{wrk_version}, PostgreSQL {postgres}")


def main() -> None:
    wrk = wrk_ensure()  # before the slow set-up: no point preparing customers without it
    load_before = os.getloadavg()
    customers = customers_prepare()
    port = int(os.environ.get("BENCH_PORT") or free_port())
    logs = Path(tempfile.mkdtemp(prefix="cosei-pages-"))
    server = serve(port, logs)
    try:
        for customer in customers:
            customer.cookie = login(port, customer)
            customer.bare_cookie = bare_session(port, customer)
        today = local_now().date()
        since = today - dt.timedelta(days=30)
        targets = [
            Target("bare page", "", 0, [("/bench/bare/", c.bare_cookie, f"bench-bare {c.main.number}")
                                        for c in customers]),
            Target("balances", 'data-figure="previous-month-end"', 0,  # 残高照会
                   [("/accounts/balances/", c.cookie, f"{c.name} 様") for c in customers]),
            Target("statement page 1", 'class="data statement-table"', 21,  # 入出金明細; header + 20 rows
                   [(f"/accounts/statements/?account={c.main.pk}&mode=period&date_from={since:%Y-%m-%d}"
                     f"&date_to={today:%Y-%m-%d}", c.cookie, f"{c.name} 様") for c in customers]),
        ]
        for target in targets:  # warm-up: every worker's connection, templates, code paths
            wrk_run(wrk, port, target, WARM_UP_SECONDS)
        for _round in range(ROUNDS):
            for target in targets:
                target.rounds.append(wrk_run(wrk, port, target, SECONDS))
    finally:
        server.terminate()
        server.wait(timeout=30)
    load_after = os.getloadavg()
    bare, *pages = [summary(target) for target in targets]
    print(f"pages: gunicorn {WORKERS} sync workers (production profile, pages_settings.py), wrk {CONNECTIONS} "
          f"connections ({CONNECTIONS} threads), {ROUNDS} interleaved rounds of {SECONDS} s per page, "
          f"{os.cpu_count()} cores")
    print(f"  {versions(wrk)}")
    print(f"  load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print(f"  {'':22} {'req/s':>8} {'p50':>8} {'p99':>8}  {'vs bare':>7}   per round (req/s)")
    for target, figures in zip(targets, [bare, *pages]):
        rounds = " ".join(f"{rate:.0f}" for rate in figures["rates"])
        print(f"  {target.name:22} {figures['rate']:8.1f} {figures['p50']:6.1f}ms {figures['p99']:6.1f}ms"
              f"  {figures['rate'] / bare['rate']:7.0%}   {rounds}")
    for target, figures in zip(targets[1:], pages):
        ratio, p99 = figures["rate"] / bare["rate"], figures["p99"]
        print(f"  goal {target.name}: >= 70% of bare ({ratio:.0%}: {'met' if ratio >= 0.70 else 'NOT met'}), "
              f"p99 < 50 ms ({p99:.1f} ms: {'met' if p99 < 50 else 'NOT met'})")
    checked = sum(summary(target)["checked"] for target in targets)
    failed = sum(summary(target)["failures"] for target in targets)
    print(f"  every answer checked (200, the page's content, the connection's own customer): "
          f"{checked} checked, {failed} failed; p50 = median of the rounds, p99 = the worst round's")
    if failed:
        raise SystemExit(f"pages: {failed} requests failed their checks: the figures are not valid "
                         f"(server log in {logs})")
    shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()
