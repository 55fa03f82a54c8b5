"""PAY-1, LEDGER-7 (outside review dbprobe26 F6): a payment dated 'infinity' (the review, as
the app's role) stopped every page listing the payer's payments (psycopg: DataError), and
any date or time of the Pay-easy tables the app writes could be one.

* a payment's 受付日時 is not later than five minutes past the database's clock, whoever
  writes it (``payeasy_pay`` writes now; 0005 already refused one dated back) — CI205;
  five minutes is ``cosei_clock_slack()`` (accounts 0031);
* every date/time column of the Pay-easy tables is within the years 1900–8999
  (``<table>_<column>_loadable``, 23514, accounts 0031's ``loadable_checks``).
"""

import importlib

from django.db import migrations

insert_0005 = importlib.import_module("payeasy.migrations.0005_payment_confirmed_by_its_customer")
loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

OWNER_RETURN = "    IF session_user = pg_get_userbyid("
NOT_FUTURE = """    IF NEW.paid_at > clock_timestamp() + public.cosei_clock_slack() THEN
        RAISE EXCEPTION 'payment %: 受付日時 % is in the future', NEW.reference, NEW.paid_at USING ERRCODE = 'CI205';
    END IF;
"""


def guard_0005() -> str:
    return insert_0005.FORWARD.split("CREATE TRIGGER", 1)[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def guard() -> str:
    source = guard_0005()
    if source.count(OWNER_RETURN) != 1:
        raise RuntimeError("payeasy_payment_insert_guard() has no single owner test")
    return source.replace(OWNER_RETURN, NOT_FUTURE + OWNER_RETURN)


COLUMNS = {
    "payeasy_bill": ("due_date", "issued_at"),
    "payeasy_entryfailurecounter": ("day",),
    "payeasy_linknonce": ("used_at",),
    "payeasy_payment": ("paid_at",),
}
CHECKS, CHECKS_REVERSE = loadable.loadable_checks(COLUMNS)


class Migration(migrations.Migration):

    dependencies = [
        ("payeasy", "0007_payment_journal_whole"),
        ("accounts", "0031_timestamps_loadable"),
    ]

    operations = [
        migrations.RunSQL(guard(), guard_0005()),
        migrations.RunSQL(CHECKS, CHECKS_REVERSE),
    ]
