"""Reads of the outbox for other apps (views thin: /health/)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from .models import OutboxMessage

# an unsealed mail (written by SQL, dbprobe31 F1) is reported this long after it was written:
# staff have seen it on /health/ by then, and the check reads no older mail
UNSEALED_REPORTED_FOR = dt.timedelta(days=7)
UNSEALED_FIELDS = ("id", "customer_id", "event", "to", "subject", "body", "seal", "seal_nonce")
UNSEALED_READ_AT_MOST = 2000


def unsealed_mails_count() -> int:
    """How many mails the app did not seal (``OutboxMessage.is_sealed``: the database never holds
    the key, so each is checked here) are 送信失敗 or 未送信 and already tried by the sender, of
    those written in the last ``UNSEALED_REPORTED_FOR`` (dbprobe32 F1). The sender marks an
    unsealed mail 送信失敗 at its first try (after sending a told event's fixed notice), so a
    pending one not yet tried is at most a sweep away — and if the sender is stuck,
    ``mail_oldest_waiting_seconds`` says so; the thousands of pending mails of the 0:05 batch
    are not read at every check."""
    mails = (OutboxMessage.objects
             .filter(Q(status=OutboxMessage.Status.FAILED)
                     | Q(status=OutboxMessage.Status.PENDING, attempts__gt=0),
                     created_at__gte=timezone.now() - UNSEALED_REPORTED_FOR)
             .only(*UNSEALED_FIELDS).order_by("-id"))
    # a plain read, no server-side cursor (review33 F2: ``iterator()`` outside a transaction
    # breaks behind PgBouncer in transaction mode, and /health/ then said the database was
    # down); at most UNSEALED_READ_AT_MOST rows, the newest — above 0 is an alarm either way
    return sum(not mail.is_sealed() for mail in mails[:UNSEALED_READ_AT_MOST])
