"""XFER-7, LEDGER-7 (dbprobe25 F13): a registered payee (登録振込先) keeps the account it was
registered with — the app's role repointed one (``UPDATE transfers_payee SET
account_number = …``, nickname and 受取人名 unchanged), so the customer's next transfer
started from 「田中さん」 went to another account. The services only register a payee from
the customer's own completed transfer (``payee_register``), rename it (``payee_rename``:
the 登録名) or delete it; every other column — the customer, bank, branch, 科目, 口座番号,
受取人名, names and the registration time — never changes (CI201, as a transfer's
confirmed content). The owner (a DBA) is not bound."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.transfers_payee_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF to_jsonb(NEW) - 'nickname' IS DISTINCT FROM to_jsonb(OLD) - 'nickname'
       AND session_user <> pg_get_userbyid((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID)) THEN
        RAISE EXCEPTION 'payee %: only its 登録名 changes; the account it names never does', OLD.id
            USING ERRCODE = 'CI201';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_payee_guard
    BEFORE UPDATE ON public.transfers_payee
    FOR EACH ROW EXECUTE FUNCTION public.transfers_payee_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_payee_guard ON public.transfers_payee;
DROP FUNCTION IF EXISTS public.transfers_payee_guard();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0015_transfer_journal_whole")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
