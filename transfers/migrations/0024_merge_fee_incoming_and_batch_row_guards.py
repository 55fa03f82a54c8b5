"""Joins session 26's two lines of transfers migrations: the fee guards' bank day and the
被仕向 record credited once (0020_fee_guards_bank_day_by_clock, 0021_incoming_record_credited_once)
with the rows the nightly batch can post, Zengin names, payees after a transfer and the kept
limit row (0020_transfer_row_the_batch_can_post … 0023). No function is replaced by both."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('transfers', '0021_incoming_record_credited_once'),
        ('transfers', '0023_transfer_limit_row_kept'),
    ]

    operations = [
    ]
