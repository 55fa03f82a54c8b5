"""SEC-16, LEDGER-7 (outside review dbprobe30 F1, what security 0015 left): a passkey is
removed only by its services, and 「パスキーでのみログイン」 never outlives the last passkey.

0015 holds a passkey's registration (CI306) and its columns (CI307), not its DELETE: the
app's role could delete a customer's passkeys while 「パスキーでのみログイン」 stayed on —
the customer, after the right password, was sent to a passkey they no longer had, shut out
until the branch reset it — and with no audit row or mail. What the services do
(security/passkeys.py):

* ``passkey_delete`` (the customer, after a step-up): the ``passkey_delete`` audit row and
  the ``passkey_remove`` mail; deleting the last passkey also ends パスキーでのみログイン;
* ``passkeys_staff_reset`` (branch staff, a customer who lost them all): the
  ``passkey_reset`` audit row with the staff user and the ``passkey_remove`` mail, and
  パスキーでのみログイン off.

``security_passkey_removed_by_its_service`` (deferred to the commit, for the app's role,
CI306 as for the registration): a passkey DELETE needs, in its transaction, one of those
audit rows and the mail (counted as 0015 counts mails), unless its customer is gone too;
and at the commit a customer with 「パスキーでのみログイン」 still has a passkey. The owner
(a DBA) is not bound.

SQL functions/triggers: CREATE FUNCTION public.security_passkey_removed_by_its_service(),
CREATE CONSTRAINT TRIGGER security_passkey_removed_by_its_service. Nothing replaced.
"""

import importlib

from django.db import migrations

TAKEN_0015 = importlib.import_module("security.migrations.0015_factors_and_ib_status_taken_by_their_service")

REMOVED = ("(" + TAKEN_0015.audited("OLD.customer_id", "passkey_delete") + " OR "
           + TAKEN_0015.audited("OLD.customer_id", "passkey_reset", staff=True) + ") AND "
           + TAKEN_0015.mailed("OLD.customer_id", "passkey_remove"))

FORWARD = f"""
CREATE FUNCTION public.security_passkey_removed_by_its_service() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NOT {TAKEN_0015.NOT_OWNER}
       OR NOT EXISTS (SELECT 1 FROM public.accounts_customer c WHERE c.id = OLD.customer_id) THEN
        RETURN NULL;
    END IF;
    IF NOT ({REMOVED}) THEN
        RAISE EXCEPTION 'passkey % of customer %: removed by passkey_delete or the branch''s reset (its audit row '
                        'and the passkey_remove mail)', OLD.id, OLD.customer_id USING ERRCODE = 'CI306';
    END IF;
    IF EXISTS (SELECT 1 FROM public.accounts_customer c WHERE c.id = OLD.customer_id AND c.passkey_only)
       AND NOT EXISTS (SELECT 1 FROM public.security_passkey p WHERE p.customer_id = OLD.customer_id) THEN
        RAISE EXCEPTION 'customer %: 「パスキーでのみログイン」 with no passkey left', OLD.customer_id
            USING ERRCODE = 'CI306';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER security_passkey_removed_by_its_service
    AFTER DELETE ON public.security_passkey DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.security_passkey_removed_by_its_service();
"""

REVERSE = """
DROP TRIGGER IF EXISTS security_passkey_removed_by_its_service ON public.security_passkey;
DROP FUNCTION IF EXISTS public.security_passkey_removed_by_its_service();
"""


class Migration(migrations.Migration):

    dependencies = [("security", "0016_staff_login_counter_taken_by_its_service")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
