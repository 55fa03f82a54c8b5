"""LEDGER-7: ledger_post() refuses a posting dated before 1900 or at -infinity, as it
refused one in the future. It took any earlier time: the app's role (which opens
accounts) posted at -infinity or before year 1 on accounts without entries, and nothing
could read those entries back (psycopg has no datetime for them): the statement failed,
and the 入出金 notice queued for such an entry stopped every notice batch. 1900 is older
than the bank and than any history the app loads (``journal_post(posted_at=…)``)."""

import importlib

from django.db import migrations

ledger_0013 = importlib.import_module("accounts.migrations.0013_ledger_set_based")

FUTURE_CHECK_END = """        RAISE EXCEPTION 'posting dated in the future' USING ERRCODE = 'CI013';
    END IF;
"""
PAST_CHECK = """    IF NOT isfinite(p_posted_at) OR p_posted_at < timestamptz '1900-01-01 00:00:00+09' THEN
        -- no Python datetime for -infinity or a time before year 1 (LEDGER-7)
        RAISE EXCEPTION 'posting dated before 1900' USING ERRCODE = 'CI013';
    END IF;
"""


def ledger_post_0013() -> str:
    return ledger_0013.function_sql("0013_ledger_set_based.sql", "CREATE OR REPLACE FUNCTION ledger_post(")


def ledger_post_with_floor() -> str:
    source = ledger_post_0013()
    if source.count(FUTURE_CHECK_END) != 1:
        raise RuntimeError("0013's ledger_post() has no single future-date check to follow")
    return source.replace(FUTURE_CHECK_END, FUTURE_CHECK_END + PAST_CHECK)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0013_ledger_set_based")]

    operations = [
        migrations.RunSQL(sql=ledger_post_with_floor(), reverse_sql=ledger_post_0013()),
    ]
