"""LEDGER-7, PAY-1, XFER-4 (outside review dbprobe25 F2): the status and hold of the bank's own
accounts are the owner's to change. The app's role closed the Pay-easy collection account
with one UPDATE (its balance and its stripes' were 0, so neither account_closed_is_empty nor
CI107 stopped it): every Pay-easy payment was refused from then on, for good (CI108: a closed
account stays closed, and a second collection account cannot be added, accounts 0024), and
the customer was told their own account was closed; a freeze of 為替決済 stopped every
被仕向 credit. Nothing of the app changes an internal account's status or hold: staff freeze,
hold and close customer accounts (admin shows the bank's own read-only since this change).
A BEFORE UPDATE trigger refuses a change of status or hold of a non-customer account unless
the session is the owner's (CI111; the test of CI013 and CI110: SECURITY DEFINER, owned by
the owner, session_user against current_user). Stopping a channel on purpose is a DBA's
statement as the owner (docs/operations.md); the state history records it as before."""

from django.db import migrations

OWNER_ONLY = """
CREATE FUNCTION ledger_account_state_owner_only() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF session_user <> current_user THEN
        RAISE EXCEPTION 'account % (%) is the bank''s own: only the owner changes its status or hold',
            OLD.id, OLD.purpose USING ERRCODE = 'CI111', DETAIL = OLD.id::text;
    END IF;
    RETURN NEW;
END $$;
REVOKE EXECUTE ON FUNCTION ledger_account_state_owner_only() FROM PUBLIC;

-- named to fire before the other BEFORE UPDATE triggers of accounts (alphabetical order)
CREATE TRIGGER ledger_account_bank_owned_update
    BEFORE UPDATE ON accounts_account
    FOR EACH ROW
    WHEN (OLD.purpose IS DISTINCT FROM 'customer'
          AND (NEW.status IS DISTINCT FROM OLD.status OR NEW.hold_amount IS DISTINCT FROM OLD.hold_amount))
    EXECUTE FUNCTION ledger_account_state_owner_only();
"""

OWNER_ONLY_REVERSE = """
DROP TRIGGER ledger_account_bank_owned_update ON accounts_account;
DROP FUNCTION ledger_account_state_owner_only();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0024_internal_accounts_owner_only")]

    operations = [
        migrations.RunSQL(sql=OWNER_ONLY, reverse_sql=OWNER_ONLY_REVERSE),
    ]
