"""LEDGER-7, LEDGER-4, PAY-1, XFER-4 (outside review dbprobe25 F1, F14): the bank's own
accounts are opened by the owner only.

F1: accounts 0023 kept one 為替決済 and one fee income, but the app's role inserted a second
Pay-easy collection or cash account (closed, even): payeasy_pay() and counter_deposit() read
each with .get() and failed with MultipleObjectsReturned (a 500 for every Pay-easy payment
and every 窓口入金), and nobody could remove the row (its state history is append-only).
The single-row index now covers every single-instance purpose, and CHECK
account_purpose_known refuses a purpose outside the model's (an account of purpose 'bogus' was taken).

F1, F14: the app's role opened any account. Nothing of the app opens an internal account or
a stripe: the migrations write them as the owner (0003, 0007, 0012), the services only read
them; 200,000 stripes it inserted made every fee posting 40 times slower for good (ledger_post
numbers the open stripes of the account). A BEFORE INSERT trigger refuses a non-customer
account unless the session is the owner's (CI110) — the test CI013 uses (accounts 0020): the
function is SECURITY DEFINER, owned by the owner, so current_user is the owner and
session_user who connected; a single-role set-up does not have the rule."""

from django.db import migrations, models

OWNER_ONLY = """
CREATE FUNCTION ledger_account_open_owner_only() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF session_user <> current_user THEN
        RAISE EXCEPTION 'an account of purpose % is the bank''s own: only the owner opens it', NEW.purpose
            USING ERRCODE = 'CI110';
    END IF;
    RETURN NEW;
END $$;
REVOKE EXECUTE ON FUNCTION ledger_account_open_owner_only() FROM PUBLIC;

CREATE TRIGGER ledger_account_bank_owned_insert
    BEFORE INSERT ON accounts_account
    FOR EACH ROW
    WHEN (NEW.purpose IS DISTINCT FROM 'customer')
    EXECUTE FUNCTION ledger_account_open_owner_only();
"""

OWNER_ONLY_REVERSE = """
DROP TRIGGER ledger_account_bank_owned_insert ON accounts_account;
DROP FUNCTION ledger_account_open_owner_only();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0023_single_internal_accounts"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="account",
            name="account_single_internal",
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.UniqueConstraint(
                condition=models.Q(("purpose__in", ["zengin_settlement", "fee_income", "payeasy_collection", "cash"])),
                fields=("purpose",), name="account_single_internal"),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(("purpose__in", ["customer", "fee_income", "zengin_settlement",
                                                     "payeasy_collection", "cash", "stripe"])),
                name="account_purpose_known"),
        ),
        migrations.RunSQL(sql=OWNER_ONLY, reverse_sql=OWNER_ONLY_REVERSE),
    ]
