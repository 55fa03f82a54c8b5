"""SEC-8, SEC-16, LEDGER-7 (outside review dbprobe31 F4a, F3): what security 0013–0017 held
on UPDATE and INSERT, held on DELETE too.

F4a: CI305 (security 0014) holds a credential's lock and failure count on UPDATE; ``DELETE
FROM security_credential`` of a locked password lifted the lock with no staff, no audit row
and no mail (the login recreates a missing row with 0 failures), reset the guesses of an
online guesser without end, and forgot IB取引中止's guesses that CI308's 再開 reads. No
service deletes a credential: for the app's role a credential row goes only with its
customer (``security_credential_kept``, deferred to the commit so that a customer deleted
in the same transaction takes its rows; CI305).

F3 (its passkey part): security 0017 keeps 「パスキーでのみログイン」 from outliving the last
passkey by counting the customer's passkeys at the commit. Two transactions under
REPEATABLE READ could each delete one of two passkeys, each seeing the other still there.
For the app's role a passkey is deleted only under READ COMMITTED (CI306), where the
deletes' row locks and the customer's lock (taken by both services first) order them.

SQL functions/triggers: CREATE FUNCTION public.security_credential_kept(),
public.security_passkey_delete_read_committed(); CREATE CONSTRAINT TRIGGER
security_credential_kept, CREATE TRIGGER security_passkey_delete_read_committed. Nothing
replaced.
"""

import importlib

from django.db import migrations

NOT_OWNER = importlib.import_module("accounts.migrations.0031_timestamps_loadable").not_owner()

FORWARD = f"""
CREATE FUNCTION public.security_credential_kept() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {NOT_OWNER} AND EXISTS (SELECT 1 FROM public.accounts_customer c WHERE c.id = OLD.customer_id) THEN
        RAISE EXCEPTION 'credential % (%) of customer %: a credential, its lock and its failures go only with '
                        'the customer (staff unlock it)', OLD.id, OLD.kind, OLD.customer_id USING ERRCODE = 'CI305';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER security_credential_kept
    AFTER DELETE ON public.security_credential DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.security_credential_kept();

CREATE FUNCTION public.security_passkey_delete_read_committed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {NOT_OWNER} AND current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'passkey % of customer %: deleted only under READ COMMITTED (「パスキーでのみログイン」 '
                        'must see the other deletes)', OLD.id, OLD.customer_id USING ERRCODE = 'CI306';
    END IF;
    RETURN OLD;
END $$;

CREATE TRIGGER security_passkey_delete_read_committed
    BEFORE DELETE ON public.security_passkey
    FOR EACH ROW EXECUTE FUNCTION public.security_passkey_delete_read_committed();
"""

REVERSE = """
DROP TRIGGER IF EXISTS security_credential_kept ON public.security_credential;
DROP FUNCTION IF EXISTS public.security_credential_kept();
DROP TRIGGER IF EXISTS security_passkey_delete_read_committed ON public.security_passkey;
DROP FUNCTION IF EXISTS public.security_passkey_delete_read_committed();
"""


class Migration(migrations.Migration):

    dependencies = [("security", "0018_factors_removed_and_password_by_their_service")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
