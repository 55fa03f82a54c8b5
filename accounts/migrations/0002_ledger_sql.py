"""LEDGER-2/3: the ledger's invariants and the posting function, in PostgreSQL itself.
The SQL lives next to this migration, frozen with it; its reverse drops everything."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=(SQL_DIR / "0002_ledger.sql").read_text(),
            reverse_sql=(SQL_DIR / "0002_ledger_reverse.sql").read_text(),
        ),
    ]
