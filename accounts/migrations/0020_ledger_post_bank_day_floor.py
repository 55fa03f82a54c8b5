"""LEDGER-7 (review M4, date): ledger_post() refuses, for the app's role, a posting dated
before the start of the current bank day (Asia/Tokyo) on accounts that existed before the
posting's transaction (CI013). It took any past time after the accounts' last entries: the
app's role posted a journal dated 2026-09-18 into statements customers had already seen.
Nothing in the bank backdates a posting (counter deposits, transfers, the scheduled batch,
interbank files post at the time of posting); the demo history (seed_demo) and the tests
do, on accounts they open in the same transaction — no customer has seen those, so that
stays allowed: every customer account of the posting was opened by this transaction
(its history row of opening, accounts 0018, has this transaction's id and start), and at
least one is in it, so internal accounts alone are never backdated. The owner (a DBA
loading old data) is not bound by it."""

import importlib

from django.db import migrations

ledger_0019 = importlib.import_module("accounts.migrations.0019_ledger_post_known_kind")

BANK_DAY_FLOOR = """    IF p_posted_at < (date_trunc('day', clock_timestamp() AT TIME ZONE 'Asia/Tokyo') AT TIME ZONE 'Asia/Tokyo')
       AND session_user <> current_user
       AND (NOT EXISTS (SELECT 1 FROM public.accounts_account a
                         WHERE a.id = ANY (p_accounts) AND a.purpose = 'customer')
            OR EXISTS (SELECT 1 FROM public.accounts_account a
                        WHERE a.id = ANY (p_accounts) AND a.purpose = 'customer'
                          AND NOT EXISTS (SELECT 1 FROM public.accounts_accountstatechange h
                                           WHERE h.account_id = a.id AND h.old_status = ''
                                             AND h.xact_id = pg_current_xact_id()::text::bigint
                                             AND h.xact_started_at = now()))) THEN
        -- customers have seen the statements before today (review M4); accounts opened by
        -- this very transaction (the demo history, tests) have none yet
        RAISE EXCEPTION 'posting dated before the current bank day' USING ERRCODE = 'CI013';
    END IF;
"""


def ledger_post_with_bank_day_floor() -> str:
    return ledger_0019.check_inserted(ledger_0019.ledger_post_with_kind_check(), after=ledger_0019.KIND_CHECK,
                                      check=BANK_DAY_FLOOR)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0019_ledger_post_known_kind")]

    operations = [
        migrations.RunSQL(sql=ledger_post_with_bank_day_floor(),
                          reverse_sql=ledger_0019.ledger_post_with_kind_check()),
    ]
