"""Issue 14: the job worker comes back without manual steps (XFER-5, NOTE-3).

``manage.py jobs_worker`` restarts a worker that died, and the periodic
``accounts.jobs_retry_stalled`` puts back in the queue the job the dead worker had claimed:
real processes on the test database — the supervisor, its worker killed with SIGKILL in the
middle of the scheduled batch, the batch finished by the worker started in its place, each
transfer executed exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from asgiref.sync import sync_to_async
from django.db import connection, connections, transaction
from procrastinate import exceptions as procrastinate_exceptions

from accounts.ledger_check import ledger_check
from accounts.management.commands.jobs_worker import restart_delay, supervise
from accounts.models import Journal
from accounts.tasks import STALLED_MAX_ATTEMPTS, jobs_retry_stalled
from notifications.models import OutboxMessage
from notifications.tasks import outbox_send
from tests.reliability.processes import children_of, job_workers_of, run_on_own_thread
from tests.transfers.scheduled_support import funded_payer, past_business_day, schedule
from transfers.models import Transfer
from transfers.tasks import scheduled_execute

SCHEDULED = 300
PATIENCE = 180  # seconds a step may take on a loaded machine before the test gives up


def _until(condition, what: str, log: Path | None = None):
    began = time.monotonic()
    while time.monotonic() - began < PATIENCE:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"{what} did not happen within {PATIENCE} s" + (f"\n{log.read_text()[-4000:]}" if log else ""))


def _worker_env() -> dict[str, str]:
    """The worker's environment: the app's role on this test database, never the owner."""
    db = connection.settings_dict
    port = f":{db['PORT']}" if db["PORT"] else ""
    url = (f"postgresql://{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
           f"@{quote(db['HOST'], safe='')}{port}/{db['NAME']}")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_OWNER_URL"}
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="cosei_ib.settings.test", PYTHONUNBUFFERED="1")
    return env


def _job(job_id: int) -> tuple[str, int | None, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, worker_id, attempts FROM procrastinate_jobs WHERE id = %s", [job_id])
        return cursor.fetchone()


@pytest.fixture
def leaves_no_queued_jobs(transactional_db):
    """procrastinate's tables are not flushed between tests: the jobs this test's workers
    queued (their periodic runs) must not wait for a later test's worker."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
        before = cursor.fetchone()[0]
    yield
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_periodic_defers SET job_id = NULL WHERE job_id > %s", [before])
        cursor.execute("DELETE FROM procrastinate_jobs WHERE id > %s AND status <> 'doing'", [before])


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("leaves_no_queued_jobs")
def test_a_worker_killed_mid_batch_is_restarted_and_the_batch_finished_exactly_once(tmp_path):
    day = past_business_day()
    with transaction.atomic():  # the backdated deposits in one transaction (scheduled_support)
        payers = [funded_payer(5_000_000, day=day, email=f"supervised{index}@example.jp") for index in range(20)]
    ids = [schedule(*payers[index % len(payers)], 1_000 + index, day=day).pk for index in range(SCHEDULED)]
    log = tmp_path / "jobs_worker.log"
    with open(log, "wb") as output:
        supervisor = subprocess.Popen([sys.executable, "manage.py", "jobs_worker"], cwd=settings.BASE_DIR,
                                      env=_worker_env(), stdout=output, stderr=output, start_new_session=True)
    try:
        first = _until(lambda: job_workers_of(supervisor.pid), "the worker's start", log)[0]
        job_id = scheduled_execute.defer()
        pending = Transfer.objects.filter(pk__in=ids, status=Transfer.Status.SCHEDULED)
        _until(lambda: pending.count() <= SCHEDULED - 30, "the batch's progress", log)
        os.kill(first, signal.SIGKILL)  # in the middle of the batch
        done_at_kill = SCHEDULED - pending.count()
        status, dead_worker, _ = _job(job_id)
        assert status == "doing" and dead_worker is not None  # claimed by the dead worker, for ever
        second = _until(lambda: [pid for pid in job_workers_of(supervisor.pid) if pid != first],
                        "the supervisor's restart", log)[0]
        # the dead worker's heartbeat stopped; the 30 s after which it counts as dead pass
        # here at once (its last beat moved back), then the minute's periodic run comes
        with connection.cursor() as cursor:
            cursor.execute("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '5 minutes' "
                           "WHERE id = %s", [dead_worker])
        try:
            jobs_retry_stalled.defer()
        except procrastinate_exceptions.AlreadyEnqueued:
            pass  # this minute's periodic run is queued already: it does the same
        _until(lambda: _job(job_id)[0] == "succeeded", "the batch's retry", log)
        assert _job(job_id)[2] == 2  # two attempts: the one cut off, the retry that finished it
        assert supervisor.poll() is None and second != first
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            stopped = supervisor.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(supervisor.pid, signal.SIGKILL)
            stopped = None
    assert stopped == 0, log.read_text()[-4000:]  # SIGTERM: the worker and its supervisor stop cleanly
    assert not children_of(supervisor.pid)
    assert 0 < done_at_kill < SCHEDULED, "the kill came after the batch: the test lost its point"
    assert "exited with status -9" in log.read_text()

    transfers = Transfer.objects.filter(pk__in=ids)
    assert transfers.filter(status=Transfer.Status.EXECUTED).count() == SCHEDULED
    keys = list(Journal.objects.filter(idempotency_key__startswith="scheduled-transfer:")
                .values_list("idempotency_key", flat=True))
    assert sorted(keys) == sorted(f"scheduled-transfer:{pk}" for pk in ids)  # each once, none twice
    assert set(transfers.values_list("journal__idempotency_key", flat=True)) == set(keys)
    assert OutboxMessage.objects.filter(event="transfer_executed").count() == SCHEDULED
    assert all(result.ok for result in ledger_check())


def test_the_back_off_doubles_from_one_second_to_a_minute():
    assert [restart_delay(failures) for failures in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert restart_delay(1000) == 60


def _stop_when_ready(ready: Path, stop: threading.Event, *, on_run: int = 1):
    """An on_start hook: set ``stop`` once the ``on_run``-th child says it is ready."""
    started = []

    def on_start(child):
        started.append(child)
        if len(started) == on_run:
            def wait():
                while not ready.exists():
                    time.sleep(0.01)
                stop.set()
            threading.Thread(target=wait, daemon=True).start()

    on_start.started = started
    return on_start


def test_supervise_restarts_after_an_error_a_kill_and_an_unasked_clean_exit(tmp_path):
    runs, ready = tmp_path / "runs", tmp_path / "ready"
    # run 1 exits 3, run 2 is killed with SIGKILL, run 3 exits 0 by itself (as procrastinate's
    # worker does when its database goes); run 4 waits until the supervisor is stopped
    script = ("import os, pathlib, signal, sys, time; p = pathlib.Path(sys.argv[1]); "
              "n = len(p.read_text()) if p.exists() else 0; p.write_text('x' * (n + 1)); "
              "n == 1 and os.kill(os.getpid(), signal.SIGKILL); n == 0 and sys.exit(3); n == 2 and sys.exit(0); "
              "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); pathlib.Path(sys.argv[2]).touch(); "
              "time.sleep(120); sys.exit(5)")
    stop = threading.Event()
    on_start = _stop_when_ready(ready, stop, on_run=4)
    status = supervise([sys.executable, "-c", script, str(runs), str(ready)], stop=stop, first=0.01,
                       on_start=on_start)
    assert status == 0  # the fourth stopped gracefully by the supervisor's SIGTERM
    assert runs.read_text() == "xxxx"
    assert [child.returncode for child in on_start.started] == [3, -signal.SIGKILL, 0, 0]


def test_supervise_stops_the_worker_gracefully_when_asked(tmp_path):
    ready = tmp_path / "ready"
    script = ("import pathlib, signal, sys, time; "
              "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
              f"pathlib.Path({str(ready)!r}).touch(); time.sleep(120); sys.exit(5)")
    stop = threading.Event()
    on_start = _stop_when_ready(ready, stop)
    assert supervise([sys.executable, "-c", script], stop=stop, on_start=on_start) == 0
    assert len(on_start.started) == 1


def _doing_job_of_a_dead_worker(task_name: str, queueing_lock: str, attempts: int = 0) -> int:
    """A job left ``doing`` by a worker that is gone (its row pruned: worker_id NULL)."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, args, status, attempts) "
                       "VALUES ('default', %s, %s, '{}', 'doing', %s) RETURNING id",
                       [task_name, queueing_lock, attempts])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("leaves_no_queued_jobs")
def test_a_stalled_job_is_queued_again_unless_a_queued_copy_will_do_its_work_or_it_kills_workers():
    alone = _doing_job_of_a_dead_worker("transfers.scheduled_execute", "stalled-test-batch")
    twin = _doing_job_of_a_dead_worker("notifications.outbox_send", "outbox_send")
    # stalled as often as STALLED_MAX_ATTEMPTS allows: it is what kills its workers
    killer = _doing_job_of_a_dead_worker("transfers.scheduled_execute", "stalled-test-killer",
                                         attempts=STALLED_MAX_ATTEMPTS)
    try:
        outbox_send.defer()  # the next run, queued under the same queueing_lock
    except procrastinate_exceptions.AlreadyEnqueued:
        pass  # a periodic run is queued already
    retried = _retry_stalled()
    assert alone in retried and twin not in retried and killer not in retried
    assert _job(alone)[0] == "todo"  # a worker takes it again
    assert _job(twin)[0] == "failed"  # closed: the queued copy sends the same outbox
    assert _job(killer)[0] == "failed"  # closed, not retried for ever
    assert _retry_stalled() == []  # nothing stalled any more


def _retry_stalled() -> list[int]:
    """The periodic task's body, as the worker runs it (its queries on asgiref's thread,
    whose connection is closed afterwards)."""
    async def run():
        try:
            return await jobs_retry_stalled.func()
        finally:
            await sync_to_async(connections.close_all)()

    return run_on_own_thread(run())
