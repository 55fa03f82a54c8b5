"""LEDGER-7, LEDGER-5: the database refuses to close an account whose stripes hold money
(sql/0015_ledger_close_striped.sql), as it refuses to close one that holds money itself."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("accounts", "0014_ledger_posted_at_floor")]

    operations = [
        migrations.RunSQL(
            sql=(SQL_DIR / "0015_ledger_close_striped.sql").read_text(),
            reverse_sql="DROP TRIGGER ledger_account_close_guard ON accounts_account;"
                        " DROP FUNCTION ledger_account_close_guard();",
        ),
    ]
