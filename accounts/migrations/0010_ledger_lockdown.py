"""LEDGER-7: lock the ledger down to ledger_post() (SECURITY DEFINER), table rules the
function cannot be walked around on, idempotency over the whole request, and the time of
each account's last status change (ledger_check's frozen-account rule)."""

from pathlib import Path

from django.db import migrations, models
from django.db.models import Q

SQL_DIR = Path(__file__).resolve().parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("accounts", "0009_closed_account_is_empty")]

    operations = [
        migrations.AddField(
            model_name="account",
            name="status_changed_at",
            field=models.DateTimeField("状態変更日時", null=True, blank=True, editable=False),
        ),
        migrations.RunSQL(
            "UPDATE accounts_account SET status_changed_at = opened_at",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="journal",
            name="request_hash",
            field=models.CharField("内容ハッシュ", max_length=64),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=~Q(purpose="customer") | Q(balance__gte=models.F("hold_amount")),
                name="account_customer_balance_covers_hold",
            ),
        ),
        migrations.RunSQL(
            sql=(SQL_DIR / "0010_ledger_lockdown.sql").read_text(),
            reverse_sql=(SQL_DIR / "0010_ledger_lockdown_reverse.sql").read_text(),
        ),
    ]
