"""XFER-5, NOTE-3, issue 14 (outside review dbprobe28 F1): a NOTIFY on procrastinate's channel
that is not its JSON — ``SELECT pg_notify('procrastinate_any_queue_v1', 'x')``, which any
SELECT of the app's role can send — is logged and dropped: the worker keeps running and
takes jobs. /health/ reports an error when a due job has waited more than a few minutes."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from accounts import job_listener
from accounts.tasks import worker_heartbeat
from cosei_ib.views import JOB_WAIT_LIMIT
from tests.reliability.processes import children_of, job_workers_of, run_on_own_thread
from tests.reliability.test_worker_supervision import _until, _worker_env, leaves_no_queued_jobs  # noqa: F401

BAD = ["x", "", "[]", "null", "42", '"job_inserted"', "{}", '{"type": "other"}', '{"type": "abort_job_requested"}',
       '{"type": "abort_job_requested", "job_id": "7"}', '{"type": "abort_job_requested", "job_id": true}', "{" * 5000]
GOOD = ['{"type": "job_inserted", "job_id": 1}', '{"type": "abort_job_requested", "job_id": 7}']


def test_only_procrastinates_own_notifications_are_read():
    assert [job_listener.notification_parsed(payload) for payload in BAD] == [None] * len(BAD)
    assert [job_listener.notification_parsed(payload)["type"] for payload in GOOD] == [
        "job_inserted", "abort_job_requested"]


class FakeConnector:
    def __init__(self, payloads):
        self.payloads = payloads

    async def listen_notify(self, *, on_notification, channels):
        for payload in self.payloads:
            await on_notification(channel="procrastinate_any_queue_v1", payload=payload)


def test_the_listener_drops_a_bad_payload_and_logs_it_at_most_once_a_minute(caplog):
    class Manager:
        connector = FakeConnector(BAD + GOOD + BAD)

    received = []

    async def on_notification(*, channel, notification):
        received.append(notification["type"])

    clock = iter([0.0] * len(BAD) + [61.0] * len(BAD))
    listen = job_listener.tolerant_listen_for_jobs(Manager, job_listener.BadPayloads(clock=lambda: next(clock)))
    with caplog.at_level(logging.WARNING, logger="accounts.job_listener"):
        run_on_own_thread(listen(on_notification=on_notification, queues=None))  # Playwright's loop may run on this one
    assert received == ["job_inserted", "abort_job_requested"]
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2 and lines[0].startswith("job listener: 1 notification(s)")
    assert lines[1].startswith(f"job listener: {len(BAD)} notification(s)")  # the 11 held back and the next


def test_the_django_app_listens_with_the_tolerant_listener():
    from procrastinate.contrib.django import app

    assert settings.PROCRASTINATE_ON_APP_READY == "accounts.job_listener.on_app_ready"
    assert app.job_manager.listen_for_jobs.__qualname__.startswith("tolerant_listen_for_jobs")


def _listening() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE query ILIKE '%%LISTEN%%procrastinate_any_queue%%'"
                       " AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0] > 0


def _job_status(job_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job_id])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("leaves_no_queued_jobs")
def test_the_worker_survives_a_bad_notify_and_still_runs_a_job(tmp_path):
    """The repro of F1, against a real ``manage.py jobs_worker`` on the test database."""
    log = tmp_path / "jobs_worker.log"
    with open(log, "wb") as output:
        supervisor = subprocess.Popen([sys.executable, "manage.py", "jobs_worker"], cwd=settings.BASE_DIR,
                                      env=_worker_env(), stdout=output, stderr=output, start_new_session=True)
    try:
        worker = _until(lambda: job_workers_of(supervisor.pid), "the worker's start", log)[0]
        _until(_listening, "the worker's LISTEN", log)
        with connection.cursor() as cursor:
            for payload in BAD:
                cursor.execute("SELECT pg_notify('procrastinate_any_queue_v1', %s)", [payload])
        _until(lambda: "ignored" in log.read_text(), "the bad payload's log line", log)
        time.sleep(1.5)  # the old listener died here and the supervisor restarted the worker after 1 s
        job_id = worker_heartbeat.configure(queueing_lock=f"f1-{os.getpid()}-{time.monotonic_ns()}").defer()
        _until(lambda: _job_status(job_id) == "succeeded", "the job after the bad NOTIFY", log)
        assert job_workers_of(supervisor.pid) == [worker], log.read_text()[-4000:]
        assert "exited with status" not in log.read_text()
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            supervisor.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(supervisor.pid, signal.SIGKILL)
    assert not children_of(supervisor.pid)


@pytest.mark.django_db
def test_health_reports_a_job_waiting_too_long(client, no_job_waiting):
    health = client.get("/health/").json()
    assert health["status"] == "ok" and health["jobs_oldest_waiting_seconds"] is None
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO procrastinate_jobs (queue_name, task_name, args, status)"
                       " VALUES ('default', 'accounts.worker_heartbeat', '{}', 'todo') RETURNING id")
        job_id = cursor.fetchone()[0]
    health = client.get("/health/").json()
    assert health["status"] == "ok" and 0 <= health["jobs_oldest_waiting_seconds"] < 60
    with connection.cursor() as cursor:  # one later in the future is not due: not waiting
        cursor.execute("INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, scheduled_at)"
                       " VALUES ('default', 'accounts.worker_heartbeat', '{}', 'todo', now() + interval '1 hour')")
        cursor.execute("UPDATE procrastinate_events SET at = at - %s - interval '1 minute' WHERE job_id = %s",
                       [JOB_WAIT_LIMIT, job_id])
    response = client.get("/health/")
    health = response.json()
    assert response.status_code == 200 and health["status"] == "error"
    assert health["jobs_oldest_waiting_seconds"] > JOB_WAIT_LIMIT.total_seconds()


@pytest.mark.django_db
def test_health_reports_a_job_holding_a_lock_of_the_app_ahead(client, no_job_waiting):
    """NOTE-1, XFER-5 (dbprobe30 F3): one job under ``outbox_send``'s queueing lock, scheduled
    for 2999, kept every later send out — procrastinate refuses a second waiting job under the
    lock — while /health/ said ``ok``: it was never due, so never "waiting"."""
    with connection.cursor() as cursor:  # due now, as the app's periodic defers are: not reported
        cursor.execute("INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, queueing_lock)"
                       " VALUES ('default', 'accounts.worker_heartbeat', '{}', 'todo', 'worker_heartbeat')")
        cursor.execute("INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, scheduled_at)"
                       " VALUES ('default', 'accounts.worker_heartbeat', '{}', 'todo', '2999-01-01')")  # no lock
    health = client.get("/health/").json()
    assert (health["status"], health["jobs_locked_ahead"]) == ("ok", 0)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, scheduled_at,"
                       " queueing_lock) VALUES ('default', 'notifications.outbox_send', '{}', 'todo', '2999-01-01',"
                       " 'outbox_send')")
    response = client.get("/health/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["jobs_locked_ahead"]) == ("error", 1)


@pytest.mark.django_db
def test_health_reports_mail_the_sender_left_waiting(client, no_job_waiting):
    """NOTE-1 (dbprobe30 F3): mail and 入出金 notices held back for minutes are an error, fresh
    ones and a retry not yet due are not."""
    import datetime as dt

    from django.utils import timezone

    from cosei_ib.views import MAIL_WAIT_LIMIT
    from notifications.models import OutboxMessage
    from tests import factories

    customer = factories.customer(email="yamada@example.jp")
    factories.account(owner=customer, balance=10_000)  # its ご入金 notice, unprocessed, fresh
    OutboxMessage.objects.create(customer=customer, event="password_change", to="yamada@example.jp", subject="s", body="b")
    health = client.get("/health/").json()
    assert health["status"] == "ok" and 0 <= health["mail_oldest_waiting_seconds"] < 60
    OutboxMessage.objects.create(customer=customer, event="password_change", to="yamada@example.jp", subject="s", body="b",
                                 next_attempt_at=timezone.now() - MAIL_WAIT_LIMIT - dt.timedelta(minutes=1))
    health = client.get("/health/").json()
    assert health["status"] == "error" and health["mail_oldest_waiting_seconds"] > MAIL_WAIT_LIMIT.total_seconds()
