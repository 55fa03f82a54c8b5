"""Sending the outbox (NOTE-3): each message is claimed with SKIP LOCKED, so several
workers can run at once; a message is marked sent only after the mail server took it.

Delivery is at least once, not exactly once: the row stays locked while the mail server is
talked to, and it is marked sent in the same transaction afterwards. If the worker dies (or
the database connection drops) after the server accepted the mail but before that commit,
the row is still ``pending`` and the mail is sent again on a later run. A duplicate notice
is the accepted price; a lost one is not (NOTE-3: a crash loses nothing).

A failed send is retried with an exponential back-off (1, 2, 4 … minutes, at most an hour
apart); only after ``MAX_ATTEMPTS`` attempts — about four hours — is it marked failed.

A run of the job drains the outbox (``outbox_drain``): batch after batch until nothing is
due, for at most ``RUN_SECONDS`` — so the thousands of notices of the 0:05 scheduled batch
go out in minutes, not at one batch a minute, and a run still ends before the next
periodic one is due.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time

from django.conf import settings
from django.db import DataError, transaction
from django.db.models import F
from django.utils import timezone
from procrastinate.contrib.django import app

from .models import OutboxMessage
from .services import posting_notices_process, unsealed_notice
from .smime import SignedEmailMessage

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
FIRST_RETRY = dt.timedelta(minutes=1)
MAX_RETRY = dt.timedelta(hours=1)
BATCH = 50
RUN_SECONDS = 50  # one run of outbox_send; the periodic sweep comes every minute


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed send: 1, 2, 4, 8 … minutes, capped
    at one hour (attempts 1–9 add up to about four hours)."""
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 16), MAX_RETRY)


def _refused_by_a_live_server(failure: Exception) -> bool:
    """The server answered and refused this one message: its recipient (a dead address) or,
    at DATA, its content or policy with a permanent 5xx (a carrier's filter). The server is
    up, so the other messages are still worth trying. 421 and the like (the server closing
    or overloaded) and a connection failure mean it is not."""
    if isinstance(failure, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(failure, smtplib.SMTPDataError) and 500 <= failure.smtp_code < 600


def _message_cannot_be_built(failure: Exception) -> bool:
    """The mail could not be made from the row: a header with a line break
    (``BadHeaderError``), text the encoder refuses — a ``ValueError`` or ``TypeError``,
    never a network failure (``smtplib``'s errors and the socket's are ``OSError``). The
    same row fails the same way at every attempt, so retrying it only delays it; and it
    says nothing about the server (dbprobe26 F3: twenty such rows due first ended every run
    before a customer's notice was tried)."""
    return isinstance(failure, (ValueError, TypeError)) and not isinstance(failure, OSError)


def outbox_send_pending(*, limit: int = BATCH) -> int:
    """Send up to ``limit`` messages that are due (``pending`` and ``next_attempt_at`` has
    come), oldest due first; returns how many were sent.

    Each message is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and stays locked while
    it is sent (``EMAIL_TIMEOUT`` bounds that), so parallel workers never send the same row
    twice while both are alive. Delivery is at least once — see the module docstring.

    A failed send (any exception: the server down, a timeout, a refusal) counts as an
    attempt and moves ``next_attempt_at`` by ``retry_delay``; after ``MAX_ATTEMPTS`` the
    message is ``failed``. A failure also ends this run: the server is probably down, and
    trying the rest of the batch against it would only spend their attempts too — except
    when the server answered and refused this message (one customer's dead address, or
    its DATA with a permanent 5xx): the server is up, so the others are sent in the same
    run instead of waiting behind it. A message that cannot be built at all is ``failed``
    at once, logged, and the run goes on; so is one that cannot even be loaded (dbprobe27
    F2a: a mail dated 'infinity' due first stopped every run) — the due ids are read first,
    then each mail on its own.

    A mail the app did not seal (``is_sealed``: written by SQL, dbprobe31 F1) is never sent as
    written: it is 送信失敗 with an error in the log. If its event is one the database's "the
    customer was told" rules count (``TOLD_EVENTS``) and its address the customer's now or
    an old one, the event's fixed notice (``unsealed_notice``: nothing of the row's text) is
    signed and sent there first, as any mail — retried while the server is down — so the
    customer is told after all (dbprobe32 F1); /health/ reports the mail."""
    sent = 0
    for message_id in _due_ids(limit):
        with transaction.atomic():
            now = timezone.now()
            try:
                with transaction.atomic():
                    message = (
                        OutboxMessage.objects.select_for_update(skip_locked=True)
                        .filter(pk=message_id, status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
                        .first()
                    )
            except DataError:
                _unloadable_fail(message_id)
                continue
            if message is None:
                continue  # sent or taken by another worker meanwhile
            message.attempts += 1
            sealed = message.is_sealed()
            subject_body = (message.subject, message.body) if sealed else unsealed_notice(message)
            if not sealed:
                # not written by the app as it stands (dbprobe31 F1): its text is never signed
                # nor sent; a told event's fixed notice goes in its place (dbprobe32 F1)
                logger.error("mail %s to customer %s is not sealed by the app (written by SQL?): not sent%s",
                             message.id, message.customer_id,
                             "" if subject_body is None else f"; the fixed notice of {message.event} is sent in its place")
            if subject_body is None:
                message.status = OutboxMessage.Status.FAILED
                message.save(update_fields=["attempts", "status"])
                continue
            try:
                # NOTE-4: signed here, at each attempt (a renewed certificate is used)
                SignedEmailMessage(*subject_body, from_email=settings.NOTIFICATIONS_FROM_EMAIL, to=message.to).send()
            except Exception as failure:  # noqa: BLE001 - any mail failure is retried later
                unbuildable = _message_cannot_be_built(failure)
                server_up = unbuildable or _refused_by_a_live_server(failure)
                if unbuildable:
                    message.status = OutboxMessage.Status.FAILED
                    logger.exception("mail %s cannot be built; failed without retry", message.id)
                elif message.attempts >= MAX_ATTEMPTS:
                    message.status = OutboxMessage.Status.FAILED
                    logger.exception("mail %s failed for good after %s attempts",
                                     message.id, message.attempts)
                else:
                    message.next_attempt_at = now + retry_delay(message.attempts)
                    logger.exception("mail %s failed (attempt %s), retry at %s%s",
                                     message.id, message.attempts, message.next_attempt_at.isoformat(),
                                     "" if server_up else "; run stopped")
                message.save(update_fields=["attempts", "status", "next_attempt_at"])
                if server_up:
                    continue
                break
            if not sealed:
                # the fixed notice went; the row's own text never does: 送信失敗 (and /health/)
                message.status = OutboxMessage.Status.FAILED
                message.save(update_fields=["attempts", "status"])
                continue
            message.status = OutboxMessage.Status.SENT
            message.sent_at = timezone.now()
            message.save(update_fields=["attempts", "status", "sent_at"])
            sent += 1
    return sent


def _due_ids(limit: int) -> list[int]:
    """The ids of up to ``limit`` due mails, oldest due first — ids only: a row Python cannot
    load (a date out of its range, dbprobe27 F2a) is met when it is loaded, alone."""
    return list(OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING,
                                             next_attempt_at__lte=timezone.now())
                .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])


def _unloadable_fail(message_id: int) -> None:
    """A due mail that cannot be loaded is 送信失敗 at once (one try), as a failed build is:
    it would fail the same way at every run. Only its state is written (a try, as the outbox
    guard allows); staff see it in 送信メール once its row is repaired."""
    failed = (OutboxMessage.objects.filter(pk=message_id, status=OutboxMessage.Status.PENDING)
              .update(status=OutboxMessage.Status.FAILED, attempts=F("attempts") + 1))
    logger.error("mail %s cannot be loaded (a value out of range); %s", message_id,
                 "failed without retry" if failed else "left as it is")


def outbox_drain(*, seconds: float = RUN_SECONDS) -> int:
    """Turn the ledger's queued 入出金 notices into messages and send what is due, a batch
    at a time, until a batch comes back short — nothing more due, or a send failed (the
    server is down: the rest wait for their retry) — or ``seconds`` have passed (at least
    one batch is always sent). Returns how many were sent."""
    deadline = time.monotonic() + seconds
    sent = 0
    while True:
        while posting_notices_process() and time.monotonic() < deadline:  # 入出金 notices first
            pass
        batch = outbox_send_pending()
        sent += batch
        if batch < BATCH or time.monotonic() >= deadline:
            return sent


@app.periodic(cron="* * * * *", periodic_id="outbox_sweep")
@app.task(name="notifications.outbox_send", queueing_lock="outbox_send")
def outbox_send(timestamp: int | None = None) -> None:
    outbox_drain()
