"""Background jobs of the accounts app (procrastinate, PostgreSQL-backed): the worker's
heartbeat, and the retry of jobs a dead worker had claimed (issue 14: the app runs again
without manual steps; ``manage.py jobs_worker`` restarts the worker itself)."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from procrastinate import exceptions, jobs
from procrastinate.contrib.django import app

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)
HEARTBEAT_KEEP = dt.timedelta(days=1)


@app.periodic(cron="* * * * *", periodic_id="worker_heartbeat")
@app.task(name="accounts.worker_heartbeat", queueing_lock="worker_heartbeat")
def worker_heartbeat(timestamp: int | None = None) -> None:
    """Record that the worker runs (every minute); keep one day of beats."""
    now = timezone.now()
    WorkerHeartbeat.objects.create(beat_at=now, note="periodic" if timestamp else "manual")
    WorkerHeartbeat.objects.filter(beat_at__lt=now - HEARTBEAT_KEEP).delete()


# A worker sends a heartbeat every 10 s (procrastinate's update_heartbeat_interval). One
# silent for 120 s is dead — killed, its machine gone. Not procrastinate's 30 s: a worker
# that is stopping gracefully stops its heartbeat first and then finishes its running job
# (up to the 60 s the systemd unit and compose give it, docs/operations.md); retrying that
# job meanwhile would run it twice at once.
STALLED_AFTER_SECONDS = 120
# a job that has taken its worker down this often is killing it (out of memory, a crash in
# a library): stop retrying, close it as failed and say so in the log
STALLED_MAX_ATTEMPTS = 5


@app.periodic(cron="* * * * *", periodic_id="jobs_retry_stalled")
@app.task(name="accounts.jobs_retry_stalled", queueing_lock="jobs_retry_stalled")
async def jobs_retry_stalled(timestamp: int | None = None,
                             seconds_since_heartbeat: float = STALLED_AFTER_SECONDS) -> list[int]:
    """Every minute: put back in the queue the jobs a dead worker had claimed.

    A worker killed in the middle of a job (``kill -9``, the machine lost) leaves that job
    ``doing`` for ever: procrastinate does not retry it by itself. Its heartbeat stops, so
    after ``seconds_since_heartbeat`` the job counts as stalled (procrastinate's
    ``get_stalled_jobs``) and is retried now, on whichever worker is alive. Our jobs are
    safe to run again — the scheduled batch and the outbox claim their rows with SKIP
    LOCKED and commit each one alone, so a retry only finishes what the dead one left.

    A job whose ``queueing_lock`` is already held by a waiting copy (the next periodic run
    of the same task was queued meanwhile) is not queued a second time: the copy does the
    same work, so the stalled one is closed as failed; so is one that has stalled
    ``STALLED_MAX_ATTEMPTS`` times already (it is what kills its workers). Returns the ids
    retried."""
    retried = []
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds_since_heartbeat):
        if job.attempts >= STALLED_MAX_ATTEMPTS:
            logger.error("stalled job %s (%s) stalled %s times: closed as failed, not retried",
                         job.id, job.task_name, job.attempts)
            await app.job_manager.finish_job(job, status=jobs.Status.FAILED, delete_job=False)
            continue
        try:
            await app.job_manager.retry_job(job)
        except exceptions.UniqueViolation:
            logger.warning("stalled job %s (%s): a queued copy will do its work; closed as failed",
                           job.id, job.task_name)
            await app.job_manager.finish_job(job, status=jobs.Status.FAILED, delete_job=False)
            continue
        logger.warning("stalled job %s (%s) of dead worker %s: queued again", job.id, job.task_name,
                       job.worker_id)
        retried.append(job.id)
    return retried
