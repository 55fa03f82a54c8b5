"""Issue 14: a posting made cheap for the database with every ledger rule kept
(sql/0013_ledger_set_based.sql says what changed and why): entries applied and checked
per statement instead of per row, the account guard called only when a change needs it,
ledger_post() on generic plans with one idempotency look-up, the 入出金 notices queued per
statement. Reversible to 0012 (and notifications 0004's row trigger)."""

import importlib
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent / "sql"


def function_sql(file_name: str, header: str) -> str:
    """A function's definition as an earlier migration's SQL file has it, from ``header``
    to its ``END $$;``, as CREATE OR REPLACE."""
    source = (SQL_DIR / file_name).read_text()
    start = source.index(header)
    end = source.index("END $$;", start) + len("END $$;")
    return source[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def reverse_sql() -> list[str]:
    drops, triggers = (SQL_DIR / "0013_ledger_set_based_reverse.sql").read_text().split("-- @triggers")
    return [
        drops,
        function_sql("0010_ledger_lockdown.sql", "CREATE OR REPLACE FUNCTION ledger_entry_apply()"),
        function_sql("0010_ledger_lockdown.sql", "CREATE OR REPLACE FUNCTION ledger_account_guard()"),
        function_sql("0002_ledger.sql", "CREATE FUNCTION ledger_entry_journal_balanced()"),
        function_sql("0012_ledger_stripes.sql", "CREATE OR REPLACE FUNCTION ledger_post("),
        triggers,
        # the 入出金 notices' row trigger, as notifications 0004 wrote it (its function is
        # replaced; its trigger was dropped above)
        importlib.import_module("notifications.migrations.0004_posting_notice_trigger").FORWARD
        .replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1),
    ]


class Migration(migrations.Migration):
    # the 入出金 notice trigger it makes per statement is notifications 0004's
    dependencies = [("accounts", "0012_account_stripes"), ("notifications", "0004_posting_notice_trigger")]

    operations = [
        migrations.RunSQL(sql=(SQL_DIR / "0013_ledger_set_based.sql").read_text(), reverse_sql=reverse_sql()),
    ]
