"""XFER-4, LEDGER-7 (dbprobe25 F9): the database holds the admin form's caps on a fee row
— 手数料 at most FEE_MAX (10,000円), 金額区分 at most THRESHOLD_MAX (100,000,000円), the
constants the form uses. Session 24 capped them in the form only: the app's role INSERTed
a row dated today with 9,999,999,999円 fees, in force at once and, being in force, never
changed (CI203) — no transfer could be made for the rest of the day. With 0 ≤ (the
existing fee_schedule_not_negative) the row is refused (23514)."""

from django.db import migrations, models

from transfers.models import FEE_MAX, THRESHOLD_MAX


class Migration(migrations.Migration):

    dependencies = [("transfers", "0012_transfer_confirmed_by_its_customer")]

    operations = [
        migrations.AddConstraint(
            model_name="feeschedule",
            constraint=models.CheckConstraint(
                condition=models.Q(threshold__lte=THRESHOLD_MAX, same_branch_under__lte=FEE_MAX,
                                   same_branch_over__lte=FEE_MAX, other_branch_under__lte=FEE_MAX,
                                   other_branch_over__lte=FEE_MAX, other_bank_under__lte=FEE_MAX,
                                   other_bank_over__lte=FEE_MAX),
                name="fee_schedule_within_caps",
                violation_error_message=f"手数料は{FEE_MAX:,}円以下、金額区分は{THRESHOLD_MAX:,}円以下で入力してください。",
            ),
        ),
    ]
