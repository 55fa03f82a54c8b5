"""LEDGER-7 (review M4): ledger_post() refuses a journal kind outside Journal.Kind (CI010,
as it refuses a missing one). journal_post() checked the kind in Python, but the app's
role calls ledger_post() directly too: it wrote journals of kind 'bogus_kind', which the
statement and admin show as a raw code. A new Journal.Kind needs a migration that writes
this list again (tests/accounts/test_account_state.py posts every kind of the model)."""

import importlib

from django.db import migrations

ledger_0014 = importlib.import_module("accounts.migrations.0014_ledger_posted_at_floor")

# Journal.Kind's values when this migration was written (a migration does not follow the
# model as it changes later)
KINDS = ("transfer", "transfer_fee", "payeasy", "deposit", "withdrawal", "salary", "card", "utility",
         "atm", "interest", "adjustment")

KIND_CHECK = """    IF p_kind <> ALL (ARRAY[{kinds}]) THEN
        RAISE EXCEPTION 'unknown journal kind %', p_kind USING ERRCODE = 'CI010';
    END IF;
""".format(kinds=", ".join(f"'{kind}'" for kind in KINDS))


def check_inserted(source: str, *, after: str, check: str) -> str:
    """``source`` (an earlier migration's ledger_post()) with ``check`` right after the
    one block ``after``; loud when an edit of that migration moved it."""
    if source.count(after) != 1:
        raise RuntimeError(f"ledger_post() has no single block to follow:\n{after}")
    return source.replace(after, after + check)


def ledger_post_with_kind_check() -> str:
    return check_inserted(ledger_0014.ledger_post_with_floor(), after=ledger_0014.PAST_CHECK, check=KIND_CHECK)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0018_account_state_history")]

    operations = [
        migrations.RunSQL(sql=ledger_post_with_kind_check(), reverse_sql=ledger_0014.ledger_post_with_floor()),
    ]
