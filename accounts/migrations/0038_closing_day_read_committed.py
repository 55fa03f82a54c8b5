"""LEDGER-6, STAFF-1 (outside review dbprobe31, with F3): CI112's count of the closing days
in force holds whatever isolation the app's connection chooses.

``accounts_closing_day_window`` (accounts 0030) takes an advisory lock and then counts the
days in force. Under READ COMMITTED the count sees every day committed while it waited for
the lock; under REPEATABLE READ (the session's to choose) it reads the transaction's older
snapshot, so two transactions could each take the last of the 100 places. The app never
changes the isolation level; for its role a closing day is now written (INSERT, or its date
moved) only under READ COMMITTED, as a transfer is (CI225, transfers 0039). The owner, a
DBA, is not bound.

SQL functions/triggers: CREATE FUNCTION public.accounts_closing_day_read_committed(); CREATE
TRIGGER of the same name. Nothing replaced.
"""

import importlib

from django.db import migrations

NOT_OWNER = importlib.import_module("accounts.migrations.0031_timestamps_loadable").not_owner()

FORWARD = f"""
CREATE FUNCTION public.accounts_closing_day_read_committed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {NOT_OWNER} AND current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'closing day: written only under READ COMMITTED (the count of the days in force must '
                        'see the days committed while it waited for the lock)' USING ERRCODE = 'CI112';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER accounts_closing_day_read_committed
    BEFORE INSERT OR UPDATE OF date ON public.accounts_bankclosingday
    FOR EACH ROW EXECUTE FUNCTION public.accounts_closing_day_read_committed();
"""

REVERSE = """
DROP TRIGGER IF EXISTS accounts_closing_day_read_committed ON public.accounts_bankclosingday;
DROP FUNCTION IF EXISTS public.accounts_closing_day_read_committed();
"""


class Migration(migrations.Migration):

    dependencies = [("accounts", "0037_customer_login_held")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
