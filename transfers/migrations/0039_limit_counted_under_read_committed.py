"""XFER-8, LEDGER-7 (outside review dbprobe31 F3, F4b): the daily limit holds whatever
isolation the app's connection chooses, and the bank maximum is not deleted away.

F3: ``transfers_transfer_within_limit`` (CI225, transfers 0026) locks the customer's limit
row and then sums the day's transfers. Under READ COMMITTED that sum sees every transfer
committed while it waited for the lock; under REPEATABLE READ (the session's to choose) the
lock is granted on a row that was only locked, and the sum reads the transaction's older
snapshot — customer 1 executed 1,020,000円 against a 1,000,000円 limit, one transaction per
debit account. The app never changes the isolation level; for its role a transfer is now
written (INSERT, or its status moved) only under READ COMMITTED, as an incoming credit
already is (CI207, transfers 0021).

F4b: CI236 (transfers 0037) holds INSERT and UPDATE of 振込の設定; ``DELETE FROM
transfers_transfersettings`` put a lowered bank maximum back to the default
(``coalesce(…, TRANSFERS_BANK_MAX_DAILY_LIMIT)``) without staff. For the app's role the row
is never deleted (CI236); staff change it on the admin page.

SQL functions/triggers: CREATE FUNCTION public.transfers_transfer_read_committed(),
public.transfers_transfersettings_kept(); CREATE TRIGGER of the same names. Nothing replaced.
"""

import importlib

from django.db import migrations

NOT_OWNER = importlib.import_module("accounts.migrations.0031_timestamps_loadable").not_owner()

FORWARD = f"""
CREATE FUNCTION public.transfers_transfer_read_committed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {NOT_OWNER} AND current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'transfer: written only under READ COMMITTED (the daily limit must see the day''s transfers '
                        'committed while it waited for the customer''s lock)' USING ERRCODE = 'CI225';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_transfer_read_committed
    BEFORE INSERT OR UPDATE OF status ON public.transfers_transfer
    FOR EACH ROW EXECUTE FUNCTION public.transfers_transfer_read_committed();

CREATE FUNCTION public.transfers_transfersettings_kept() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {NOT_OWNER} THEN
        RAISE EXCEPTION '振込の設定 (the bank maximum) is never deleted; staff change it in admin'
            USING ERRCODE = 'CI236';
    END IF;
    RETURN OLD;
END $$;

CREATE TRIGGER transfers_transfersettings_kept
    BEFORE DELETE ON public.transfers_transfersettings
    FOR EACH ROW EXECUTE FUNCTION public.transfers_transfersettings_kept();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_transfer_read_committed ON public.transfers_transfer;
DROP FUNCTION IF EXISTS public.transfers_transfer_read_committed();
DROP TRIGGER IF EXISTS transfers_transfersettings_kept ON public.transfers_transfersettings;
DROP FUNCTION IF EXISTS public.transfers_transfersettings_kept();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0038_incoming_record_return_reason")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
