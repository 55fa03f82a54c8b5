"""LEDGER-7, XFER-10, XFER-12 (outside review dbprobe28 F8): an account's names.

F8 — the 全銀 header's 依頼人名 is the 為替決済 account's ``holder_kana`` (``_our_header``), and
the app's role could UPDATE it (the column grant of accounts/db_roles.py, and the bank-owned
guard of 0025 looked only at status and hold): '大阪厚生信用金庫' (kanji) refused the 仕向 file on
every day — dbprobe27 F1 again, by another column — and staff could not put it back (admin shows
it read-only). A customer account's ``holder_kana`` is the name every incoming 振込 is matched
against (``_names_match``): rewritten, every credit went to 入金不能.

* the bank's own accounts (purpose other than 'customer'): for the app's role every column is
  the owner's, not only status and hold (CI111, the trigger of 0025 widened); the balance and
  the last entry's time stay ``ledger_post``'s (SECURITY DEFINER, the owner's);
* the app's role may UPDATE an account's status and hold only (``Account.APP_UPDATABLE_FIELDS``
  and the grant, accounts/db_roles.py): no service changes a name (account names are written
  when the account is opened);
* whoever writes (the owner too), an account's ``holder_kana`` is made only of characters the
  全銀 writer takes (23514 ``accounts_account_holder_kana_zengin``), the set of 0033 for a
  branch's 支店名（カナ）.
"""

import importlib

from django.db import migrations

HELD_0033 = importlib.import_module("accounts.migrations.0033_branch_and_heartbeat_held")

# what ledger_post writes on any account (0013's set-based UPDATE): not the owner's alone
LEDGER_COLUMNS = ("balance", "last_entry_at")
_ROW = "to_jsonb({row}) - " + " - ".join(f"'{column}'" for column in LEDGER_COLUMNS)

OWNER_ONLY_0025 = importlib.import_module("accounts.migrations.0025_internal_account_state_owner_only").OWNER_ONLY
FUNCTION_0025, TRIGGER_0025 = OWNER_ONLY_0025.split("-- named to fire", 1)
FUNCTION_0025 = FUNCTION_0025.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
TRIGGER_0025 = "-- named to fire" + TRIGGER_0025
STATUS_OR_HOLD = "(NEW.status IS DISTINCT FROM OLD.status OR NEW.hold_amount IS DISTINCT FROM OLD.hold_amount)"
assert TRIGGER_0025.count(STATUS_OR_HOLD) == 1 and FUNCTION_0025.count("changes its status or hold") == 1

DROP = "DROP TRIGGER ledger_account_bank_owned_update ON accounts_account;\n"
GUARD = (FUNCTION_0025.replace("changes its status or hold", "changes it") + DROP
         + TRIGGER_0025.replace(STATUS_OR_HOLD, f"({_ROW.format(row='NEW')}) IS DISTINCT FROM ({_ROW.format(row='OLD')})"))
GUARD_REVERSE = FUNCTION_0025 + DROP + TRIGGER_0025

KANA = f"""
ALTER TABLE public.accounts_account ADD CONSTRAINT accounts_account_holder_kana_zengin
    CHECK (holder_kana ~ '^{HELD_0033.KANA}+$');
"""
KANA_REVERSE = "ALTER TABLE public.accounts_account DROP CONSTRAINT IF EXISTS accounts_account_holder_kana_zengin;"


class Migration(migrations.Migration):
    dependencies = [("accounts", "0033_branch_and_heartbeat_held")]

    operations = [
        migrations.RunSQL(GUARD, GUARD_REVERSE),
        migrations.RunSQL(KANA, KANA_REVERSE),
    ]
