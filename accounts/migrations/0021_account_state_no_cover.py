"""LEDGER-7 (review H3, prevention): besides ledger_check finding it afterwards, the
database refuses to put a freeze or hold back in the transaction that lifted it and
debited the account in between (CI109), for every role. Same rule as ledger_check's
(accounts/ledger_check.py): the state the transaction found (old values of its first
change of the account, accounts 0018's history) and the state it would leave (this
change's new values) both forbid one of its debits of the account — frozen or closed, or
a balance after below the hold; the account's row is locked since that first change, so
its later entries are the transaction's own. A committed unfreeze stays possible (staff
do it) and stays in the history."""

from django.db import migrations

NO_COVER = """
CREATE FUNCTION ledger_account_no_cover() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_first record;
BEGIN
    SELECT h.old_status, h.old_hold_amount, h.last_entry_id INTO v_first
      FROM public.accounts_accountstatechange h
     WHERE h.account_id = NEW.id AND h.xact_id = pg_current_xact_id()::text::bigint
       AND h.xact_started_at = now()
     ORDER BY h.id LIMIT 1;
    IF FOUND AND EXISTS (
        SELECT 1 FROM public.accounts_entry e
         WHERE e.account_id = NEW.id AND e.id > v_first.last_entry_id AND e.amount < 0
           AND (v_first.old_status IN ('frozen', 'closed')
                OR (NEW.purpose = 'customer' AND e.balance_after < coalesce(v_first.old_hold_amount, 0)))
           AND (NEW.status IN ('frozen', 'closed')
                OR (NEW.purpose = 'customer' AND e.balance_after < NEW.hold_amount))) THEN
        RAISE EXCEPTION 'account %: a freeze or hold lifted for a debit is not put back in the same transaction',
            NEW.id USING ERRCODE = 'CI109', DETAIL = NEW.id::text;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER ledger_account_no_cover
    BEFORE UPDATE ON accounts_account
    FOR EACH ROW
    WHEN (NEW.status IS DISTINCT FROM OLD.status OR NEW.hold_amount IS DISTINCT FROM OLD.hold_amount)
    EXECUTE FUNCTION ledger_account_no_cover();
"""

NO_COVER_REVERSE = """
DROP TRIGGER ledger_account_no_cover ON accounts_account;
DROP FUNCTION ledger_account_no_cover();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0020_ledger_post_bank_day_floor")]

    operations = [
        migrations.RunSQL(sql=NO_COVER, reverse_sql=NO_COVER_REVERSE),
    ]
