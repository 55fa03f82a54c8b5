"""Joins session 27's two lines of transfers migrations (dbprobe27): 0025–0027 of the
times, 仕向 settlement day and execution-day rules (transfers_times_loadable,
outgoing_record_settles_on_its_day, scheduled_transfer_executed_on_its_day: CI221–CI223)
and 0025–0027 of the fee, daily-limit and our-bank rules (transfer_fee_is_its_schedules,
transfer_within_daily_limit, our_bank_row_held: CI224–CI226). No function is replaced by
both lines."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("transfers", "0027_our_bank_row_held"),
        ("transfers", "0027_scheduled_transfer_executed_on_its_day"),
    ]

    operations = []
