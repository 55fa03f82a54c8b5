"""XFER-5, XFER-8, LEDGER-7 (dbprobe26 F13): a customer's 利用限度額 row is kept. It is also
the customer's transfer lock, and the nightly batch's claim takes it with the transfer
(``_claim_sql`` joins it): the app's role deleted customer 2's row (``DELETE FROM
transfers_transferlimit WHERE customer_id = 2``) and every run skipped that customer's
予約振込 without a word (executed 0, 未処理 0, no mail).

The services create the row on a customer's first use (``_customer_lock``) and change it
(利用限度額変更), and never delete it. For the app's role (CI214) a row is never deleted
and never moves to another customer. The owner (a DBA) is not bound; the owner's flush
between tests (TRUNCATE) is not affected. The batch also creates a missing row (the
default limit) for a customer with a due transfer when its claim finds nothing while
transfers are due (``transfers.scheduled._limit_rows_ensure``), so a row the owner removed
does not hide one.

SQL functions/triggers: CREATE FUNCTION public.transfers_transferlimit_guard(), CREATE
TRIGGER transfers_transferlimit_guard (BEFORE UPDATE OR DELETE ON transfers_transferlimit).
Nothing replaced.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.transfers_transferlimit_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF session_user = pg_get_userbyid((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID)) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;  -- the owner: a DBA
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'transfer limit of customer %: the row (the customer''s lock) is never deleted',
            OLD.customer_id USING ERRCODE = 'CI214';
    END IF;
    IF NEW.customer_id IS DISTINCT FROM OLD.customer_id THEN
        RAISE EXCEPTION 'transfer limit of customer %: it never moves to another customer', OLD.customer_id
            USING ERRCODE = 'CI214';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_transferlimit_guard
    BEFORE UPDATE OR DELETE ON public.transfers_transferlimit
    FOR EACH ROW EXECUTE FUNCTION public.transfers_transferlimit_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_transferlimit_guard ON public.transfers_transferlimit;
DROP FUNCTION IF EXISTS public.transfers_transferlimit_guard();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0022_payee_registered_after_a_transfer")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
