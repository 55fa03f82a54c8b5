"""Sending the outbox (NOTE-3): each message is claimed with SKIP LOCKED, so several
workers can run at once; a message is marked sent only after the mail server took it."""

from __future__ import annotations

import logging

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from procrastinate.contrib.django import app

from .models import OutboxMessage

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BATCH = 50


def outbox_send_pending(*, limit: int = BATCH) -> int:
    """Send up to ``limit`` pending messages; returns how many were sent."""
    sent = 0
    for _ in range(limit):
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(status=OutboxMessage.Status.PENDING)
                .order_by("created_at", "id")
                .first()
            )
            if message is None:
                break
            message.attempts += 1
            try:
                EmailMessage(message.subject, message.body, to=[message.to]).send()
            except Exception:  # noqa: BLE001 - any mail failure is retried later
                logger.exception("mail %s failed (attempt %s)", message.id, message.attempts)
                if message.attempts >= MAX_ATTEMPTS:
                    message.status = OutboxMessage.Status.FAILED
                message.save(update_fields=["attempts", "status"])
                continue
            message.status = OutboxMessage.Status.SENT
            message.sent_at = timezone.now()
            message.save(update_fields=["attempts", "status", "sent_at"])
            sent += 1
    return sent


@app.periodic(cron="* * * * *", periodic_id="outbox_sweep")
@app.task(name="notifications.outbox_send", queueing_lock="outbox_send")
def outbox_send(timestamp: int | None = None) -> None:
    outbox_send_pending()
