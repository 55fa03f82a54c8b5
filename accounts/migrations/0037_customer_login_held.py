"""SEC-1, LEDGER-7 (outside review dbprobe31 F10): who a customer's login is, held.

``accounts_customer.user_id`` (the Django user a login authenticates) and ``contract_id``
(契約者ID, the login name and what every audit row names) were the app's role's to rewrite,
and no trigger read them: swapping ``user_id`` between two customers maps one person's login
and sessions onto the other's accounts; a rewritten 契約者ID is then what the audit guard
(CI302) records.

No path of the app changes either after the customer is created (``accounts.demo``, the
tests' factories and the back office INSERT the row whole; admin shows both read-only). For
the app's role (the owner, a DBA, is not bound), ``accounts_customer_login_held`` (BEFORE
UPDATE), CI312: a customer's ``user_id`` and ``contract_id`` are never changed — set only by
the INSERT. (Its ``id`` is no column of the role's UPDATE privilege: accounts/db_roles.py,
dbprobe29 F2c.)

SQL functions/triggers: CREATE FUNCTION public.accounts_customer_login_held(), CREATE TRIGGER
accounts_customer_login_held. Nothing replaced.
"""

import importlib

from django.db import migrations

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

FORWARD = f"""
CREATE FUNCTION public.accounts_customer_login_held() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {loadable.not_owner()} THEN
        RAISE EXCEPTION 'customer %: its login user (%) and 契約者ID (%) are set only when it is created',
            OLD.id, OLD.user_id, OLD.contract_id USING ERRCODE = 'CI312';
    END IF;
    RETURN NEW;  -- the owner: a DBA
END $$;

CREATE TRIGGER accounts_customer_login_held
    BEFORE UPDATE OF user_id, contract_id ON public.accounts_customer
    FOR EACH ROW WHEN ((NEW.user_id, NEW.contract_id) IS DISTINCT FROM (OLD.user_id, OLD.contract_id))
    EXECUTE FUNCTION public.accounts_customer_login_held();
"""

REVERSE = """
DROP TRIGGER IF EXISTS accounts_customer_login_held ON public.accounts_customer;
DROP FUNCTION IF EXISTS public.accounts_customer_login_held();
"""


class Migration(migrations.Migration):

    dependencies = [("accounts", "0036_closing_day_written_by_staff")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
