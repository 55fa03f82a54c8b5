"""The PostgreSQL-backed worker (procrastinate) really runs a deferred job."""

import threading

import pytest
from procrastinate.contrib.django import app

from accounts.models import WorkerHeartbeat
from accounts.tasks import worker_heartbeat

pytestmark = pytest.mark.django_db(transaction=True)


def test_deferred_heartbeat_job_runs_on_the_worker():
    job_id = worker_heartbeat.defer()
    assert job_id
    assert not WorkerHeartbeat.objects.exists()
    # the same connector `manage.py procrastinate worker` uses, on a thread of its own: the
    # worker runs its own event loop, and a browser test's Playwright loop may still be
    # running on this thread
    failures = []

    def work():
        try:
            with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
                worker_app.run_worker(wait=False, install_signal_handlers=False,
                                      listen_notify=False, queues=["default"])
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive() and not failures, failures
    # the worker may also have run the periodic beat of this minute ("periodic")
    assert WorkerHeartbeat.objects.filter(note="manual").count() == 1


def test_health_endpoint_checks_database(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]

