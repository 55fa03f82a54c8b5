"""XFER-5, XFER-8, LEDGER-7 (outside review dbprobe29 F3): the seed's exemption holds only for
a customer the same transaction created whole. CI211's dates (transfers 0020) and CI228
(0030) let a transaction skip them for a transfer whose debit account it opened itself — the
demo's history and the tests write past-dated 振込 into accounts they have just opened. As
the app's role the review opened a new account for an *existing* customer, moved 1,800,440円
into it from that customer's own account, and wrote two executed 振込 of 900,000円 to another
customer dated 2000-01-01 and 2026-11-30: CI225's day total (by 振込日) no longer saw them,
and 1.8 million yen left against a 1,000,000円 limit in one day.

``transfers_transfer_seed_new_customer`` (new trigger, BEFORE INSERT ON transfers_transfer;
the app's role — the owner is not bound): a transfer whose debit account was opened by this
transaction (its ``accountstatechange`` row with old_status '' of this transaction, as CI013,
CI211 and CI228 read it) is refused, CI234, when its customer has any account this
transaction did not open. A customer the transaction created with all its accounts — the
demo's seed — keeps the exemption; any other customer's transfers meet every date rule, so
the daily limit counts them on their real day. The app never opens an account on a customer
page (accounts are opened by the bank), so no customer flow reaches it.

SQL functions/triggers: CREATE FUNCTION public.transfers_transfer_seed_new_customer(), CREATE
TRIGGER transfers_transfer_seed_new_customer. Nothing replaced.
"""

import importlib

from django.db import migrations

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

OPENED_HERE = """EXISTS (SELECT 1 FROM public.accounts_accountstatechange h
                   WHERE h.account_id = {account} AND h.old_status = ''
                     AND h.xact_id = pg_current_xact_id()::text::bigint AND h.xact_started_at = now())"""

FORWARD = f"""
CREATE FUNCTION public.transfers_transfer_seed_new_customer() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_customer bigint;
BEGIN
    IF NOT {loadable.not_owner()}
       OR NOT {OPENED_HERE.format(account="NEW.debit_account_id")} THEN
        RETURN NEW;
    END IF;
    SELECT a.customer_id INTO v_customer FROM public.accounts_account a WHERE a.id = NEW.debit_account_id;
    IF EXISTS (SELECT 1 FROM public.accounts_account o
                WHERE o.customer_id = v_customer
                  AND NOT {OPENED_HERE.format(account="o.id")}) THEN
        RAISE EXCEPTION 'transfer: account % was opened by this transaction for customer %, who has older accounts '
                        '— only a customer created whole here (the demo''s seed) is exempt from the date rules',
            NEW.debit_account_id, v_customer USING ERRCODE = 'CI234';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_transfer_seed_new_customer
    BEFORE INSERT ON public.transfers_transfer
    FOR EACH ROW EXECUTE FUNCTION public.transfers_transfer_seed_new_customer();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_transfer_seed_new_customer ON public.transfers_transfer;
DROP FUNCTION IF EXISTS public.transfers_transfer_seed_new_customer();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0035_outgoing_file_every_byte")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
