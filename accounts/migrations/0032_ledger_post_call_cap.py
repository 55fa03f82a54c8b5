"""LEDGER-7, LEDGER-1 (outside review dbprobe26 F9): CI015 (accounts 0027) capped each line
at 10^12 yen, not a call: one ledger_post() of 200,000 lines, each within the cap, moved
10^17 yen onto 為替決済 in 9.5 s; some 92 such calls reach the end of bigint, and every
later posting on it fails with 22003, a code the app does not know.

* ``ledger_post()`` refuses a call of more than ``MAX_LINES`` lines, or one whose lines
  move any account by more than 10^12 yen net (CI016). The largest legitimate calls: the
  services post 2–4 lines; bench/ledger_pgbench.py funds 1,000 accounts a call from the
  cash account, 1,001 lines and exactly −10^12 on cash; bench/ledger_post.py's seed is one
  10^12 line. Stripes (issue 14) are per call one stripe of the account, so a stripe moves
  no more than its account's lines.
* CHECK ``account_balance_bounded``: no account (stripes included) holds more than 10^15
  yen either way — a thousand full calls from any start, and 9,000 times that from bigint's
  end: a posting that would pass it fails 23514 (LedgerIntegrityError) on that account
  only, never 22003 on every later one.
"""

import importlib

from django.db import migrations

ledger_0027 = importlib.import_module("accounts.migrations.0027_ledger_post_line_cap")

MAX_LINES = 2000
MAX_NET = 10**12  # accounts.services.MAX_AMOUNT when this was written
MAX_BALANCE = 10**15

CALL_CHECK = f"""    IF cardinality(p_accounts) > {MAX_LINES} OR EXISTS (
            SELECT 1 FROM unnest(p_accounts, p_amounts) AS l(acc, amt)
             GROUP BY l.acc HAVING abs(sum(l.amt)) > {MAX_NET}) THEN
        -- dbprobe26 F9: 200,000 lines of 10^12 each moved 10^17 yen in one call
        RAISE EXCEPTION 'more than {MAX_LINES} lines, or more than {MAX_NET} yen net on one account, in one call'
            USING ERRCODE = 'CI016';
    END IF;
"""


def ledger_post_with_call_cap() -> str:
    source = ledger_0027.ledger_post_with_line_cap()
    if source.count(ledger_0027.CAP_CHECK) != 1:
        raise RuntimeError("ledger_post() has no single CI015 check")
    return source.replace(ledger_0027.CAP_CHECK, ledger_0027.CAP_CHECK + CALL_CHECK)


BALANCE_CHECK = (f"ALTER TABLE public.accounts_account ADD CONSTRAINT account_balance_bounded"
                 f" CHECK (balance BETWEEN -{MAX_BALANCE} AND {MAX_BALANCE});")
BALANCE_CHECK_REVERSE = "ALTER TABLE public.accounts_account DROP CONSTRAINT IF EXISTS account_balance_bounded;"


class Migration(migrations.Migration):
    dependencies = [("accounts", "0031_timestamps_loadable")]

    operations = [
        migrations.RunSQL(sql=ledger_post_with_call_cap(), reverse_sql=ledger_0027.ledger_post_with_line_cap()),
        migrations.RunSQL(BALANCE_CHECK, BALANCE_CHECK_REVERSE),
    ]
