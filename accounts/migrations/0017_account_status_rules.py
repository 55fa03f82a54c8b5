"""LEDGER-7 (review M5): an account's status is one of the model's three, and a closed
account stays closed. The app's role may UPDATE status (staff freeze and close accounts in
admin): it wrote status='whatever', which ledger_post() took for open, and reopened a
closed account. CHECK account_status_known refuses the first; the trigger below refuses
the second for every role (CI108) — a closed account is never used again, its number
goes to a new account."""

from django.db import migrations, models

CLOSED_FINAL = """
CREATE FUNCTION ledger_account_closed_final() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'account % is closed and cannot become %', OLD.id, NEW.status
        USING ERRCODE = 'CI108', DETAIL = OLD.id::text;
END $$;

CREATE TRIGGER ledger_account_closed_final
    BEFORE UPDATE ON accounts_account
    FOR EACH ROW
    WHEN (OLD.status = 'closed' AND NEW.status IS DISTINCT FROM 'closed')
    EXECUTE FUNCTION ledger_account_closed_final();
"""

CLOSED_FINAL_REVERSE = """
DROP TRIGGER ledger_account_closed_final ON accounts_account;
DROP FUNCTION ledger_account_closed_final();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0016_suspend_ib_permission"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(condition=models.Q(("status__in", ["open", "frozen", "closed"])),
                                              name="account_status_known"),
        ),
        migrations.RunSQL(sql=CLOSED_FINAL, reverse_sql=CLOSED_FINAL_REVERSE),
    ]
