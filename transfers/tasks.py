"""Background jobs of the transfers app: the day's scheduled transfers (XFER-5)."""

from __future__ import annotations

from procrastinate.contrib.django import app

from cosei_ib import bankcalendar

from .scheduled import transfers_execute_due


@app.periodic(cron=bankcalendar.daily_cron(0, 5), periodic_id="scheduled_transfers")  # 0:05 JST
@app.task(name="transfers.scheduled_execute", queueing_lock="scheduled_transfers")
def scheduled_execute(timestamp: int | None = None) -> None:
    """At 0:05 every day, Tokyo time (15:05 UTC): execute the transfers dated today or
    earlier (a day missed while the worker was down is caught up). Several workers may run
    it at once (SKIP LOCKED)."""
    transfers_execute_due()
