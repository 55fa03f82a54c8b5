"""XFER-3, XFER-11, LEDGER-7 (outside review dbprobe31 F9): the 口座名義確認 count is not
reset by the app's role.

``name_lookup`` (transfers/services.py) refuses a look-up of a new account when the customer
made ``TRANSFERS_LOOKUPS_PER_HOUR`` of them in the hour since the last transfer — the limit on
enumerating account holders. It counts ``transfers_namelookup`` rows, and as the app's role
``DELETE FROM transfers_namelookup`` (accepted in the review) gave a fresh hour at will; an
UPDATE of ``created_at`` into the past would do the same. The service only INSERTs a row per
look-up; nothing of the app updates or prunes them.

For the app's role (the owner, a DBA, is not bound), CI248:

* ``transfers_namelookup_not_updated`` (BEFORE UPDATE): a look-up is never changed;
* ``transfers_namelookup_kept`` (constraint trigger AFTER DELETE, deferred to the commit): a
  look-up is deleted only with its customer (Django's cascade deletes the rows first).

SQL functions/triggers: CREATE FUNCTION public.transfers_namelookup_not_updated(),
public.transfers_namelookup_kept(); CREATE TRIGGER transfers_namelookup_not_updated; CREATE
CONSTRAINT TRIGGER transfers_namelookup_kept. Nothing replaced.
"""

import importlib

from django.db import migrations

TIMESTAMPS = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

FORWARD = f"""
CREATE FUNCTION public.transfers_namelookup_not_updated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {TIMESTAMPS.not_owner()} THEN
        RAISE EXCEPTION 'name look-up %: a look-up is counted as it was made, never changed', OLD.id
            USING ERRCODE = 'CI248';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_namelookup_not_updated
    BEFORE UPDATE ON public.transfers_namelookup
    FOR EACH ROW EXECUTE FUNCTION public.transfers_namelookup_not_updated();

CREATE FUNCTION public.transfers_namelookup_kept() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {TIMESTAMPS.not_owner()}
       AND EXISTS (SELECT 1 FROM public.accounts_customer c WHERE c.id = OLD.customer_id) THEN
        RAISE EXCEPTION 'name look-up % of customer %: removed only with its customer (it counts against the hour''s limit)',
            OLD.id, OLD.customer_id USING ERRCODE = 'CI248';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER transfers_namelookup_kept
    AFTER DELETE ON public.transfers_namelookup DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.transfers_namelookup_kept();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_namelookup_kept ON public.transfers_namelookup;
DROP FUNCTION IF EXISTS public.transfers_namelookup_kept();
DROP TRIGGER IF EXISTS transfers_namelookup_not_updated ON public.transfers_namelookup;
DROP FUNCTION IF EXISTS public.transfers_namelookup_not_updated();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0039_limit_counted_under_read_committed")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
