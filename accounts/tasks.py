"""Background jobs of the accounts app (procrastinate, PostgreSQL-backed)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from procrastinate.contrib.django import app

from .models import WorkerHeartbeat

HEARTBEAT_KEEP = dt.timedelta(days=1)


@app.periodic(cron="* * * * *", periodic_id="worker_heartbeat")
@app.task(name="accounts.worker_heartbeat", queueing_lock="worker_heartbeat")
def worker_heartbeat(timestamp: int | None = None) -> None:
    """Record that the worker runs (every minute); keep one day of beats."""
    now = timezone.now()
    WorkerHeartbeat.objects.create(beat_at=now, note="periodic" if timestamp else "manual")
    WorkerHeartbeat.objects.filter(beat_at__lt=now - HEARTBEAT_KEEP).delete()
