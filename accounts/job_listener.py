"""XFER-5, NOTE-3, issue 14 (outside review dbprobe28 F1): the job worker's listener outlives a
notification it cannot read.

procrastinate 3.10's worker LISTENs on its channels (``procrastinate_any_queue_v1`` …) and
its ``JobManager.listen_for_jobs`` reads every payload with ``json.loads`` unguarded. Any
database role may NOTIFY any channel — ``SELECT pg_notify('procrastinate_any_queue_v1',
'x')`` from any SELECT the app's role runs: the listener died, the worker stopped (status
0) and ``jobs_worker`` restarted it after up to a minute; a stream of them let one job through
a minute, the mail and the nightly batch held back, and nothing in the database said so.

``on_app_ready`` (``PROCRASTINATE_ON_APP_READY``) gives the app's job manager a
``listen_for_jobs`` that passes on only the two notifications procrastinate's own triggers
send (``{"type": "job_inserted", …}``, ``{"type": "abort_job_requested", "job_id": <int>}``)
and logs any other payload — the first at once, then at most once a minute with a count.
A notification only wakes the worker before its next poll (every
``fetch_job_polling_interval`` seconds), so one dropped costs nothing.
"""

from __future__ import annotations

import json
import logging
import time

from procrastinate import manager as procrastinate_manager

logger = logging.getLogger(__name__)

LOG_EVERY = 60.0  # seconds between two log lines of bad payloads


def notification_parsed(payload: str) -> dict | None:
    """The notification ``payload`` carries when procrastinate's triggers could have sent it,
    else None."""
    try:
        notification = json.loads(payload)
    except (ValueError, TypeError):
        return None
    if not isinstance(notification, dict):
        return None
    kind = notification.get("type")
    if kind == "job_inserted":
        return notification
    job_id = notification.get("job_id")
    if kind == "abort_job_requested" and isinstance(job_id, int) and not isinstance(job_id, bool):
        return notification
    return None


class BadPayloads:
    """Counts the payloads dropped; logs the first at once and then at most every ``every`` s."""

    def __init__(self, every: float = LOG_EVERY, clock=time.monotonic) -> None:
        self.every, self.clock = every, clock
        self.unlogged = 0
        self.logged_at: float | None = None

    def seen(self, channel: str, payload: str) -> None:
        self.unlogged += 1
        now = self.clock()
        if self.logged_at is None or now - self.logged_at >= self.every:
            logger.warning("job listener: %s notification(s) on %s not procrastinate's, ignored (last: %r)",
                           self.unlogged, channel, payload[:100])
            self.unlogged, self.logged_at = 0, now


def tolerant_listen_for_jobs(job_manager, bad: BadPayloads | None = None):
    """``job_manager.listen_for_jobs`` that drops a payload it cannot read (see the module)."""
    bad = bad or BadPayloads()

    async def listen_for_jobs(*, on_notification, queues=None) -> None:
        async def handle_notification(channel: str, payload: str) -> None:
            notification = notification_parsed(payload)
            if notification is None:
                bad.seen(channel, payload)
                return
            await on_notification(channel=channel, notification=notification)

        # the connector of the moment: the worker command swaps it (App.replace_connector)
        await job_manager.connector.listen_notify(
            on_notification=handle_notification,
            channels=procrastinate_manager.get_channel_for_queues(queues=queues),
        )

    return listen_for_jobs


def on_app_ready(app) -> None:
    """PROCRASTINATE_ON_APP_READY: the app's worker listens with ``tolerant_listen_for_jobs``."""
    app.job_manager.listen_for_jobs = tolerant_listen_for_jobs(app.job_manager)
