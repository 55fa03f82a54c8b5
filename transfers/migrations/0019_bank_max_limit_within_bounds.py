"""XFER-8, LEDGER-7 (walk25 F27 follow-up): the database holds the admin form's range of
the bank-wide maximum daily limit — BANK_MAX_MIN (100,000円) to BANK_MAX_MAX
(1,000,000,000円), the constants the form uses. Only > 0 was checked
(bank_max_limit_positive): the app's role could set 1 and every customer's limit was
capped to 1円 at once — no transfer for anyone. A row outside is refused (23514)."""

from django.db import migrations, models

from transfers.models import BANK_MAX_MAX, BANK_MAX_MIN


class Migration(migrations.Migration):

    dependencies = [("transfers", "0018_incoming_record_named_account")]

    operations = [
        migrations.AddConstraint(
            model_name="transfersettings",
            constraint=models.CheckConstraint(
                condition=models.Q(bank_max_daily_limit__gte=BANK_MAX_MIN, bank_max_daily_limit__lte=BANK_MAX_MAX),
                name="bank_max_limit_within_bounds",
                violation_error_message=(f"1日の利用限度額の上限は{BANK_MAX_MIN:,}円以上、"
                                         f"{BANK_MAX_MAX:,}円以下で入力してください。"),
            ),
        ),
    ]
