"""PAY-1, LEDGER-7: a Pay-easy payment is what the customer paid and the biller was told
(受付番号, 収納機関, 請求, 金額, お支払口座, 受付日時): the app's role, or any other, can
no longer rewrite or remove one (the outside review connects as the app's role). Only the
journal is recorded once after the posting (the row is written before it, in the same
transaction: ``payeasy.services.payeasy_pay``). CI205."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.payeasy_payment_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'payment % (%) is never deleted', OLD.id, OLD.reference USING ERRCODE = 'CI205';
    END IF;
    IF to_jsonb(NEW) - 'journal_id' IS DISTINCT FROM to_jsonb(OLD) - 'journal_id'
       OR (NEW.journal_id IS DISTINCT FROM OLD.journal_id
           AND (OLD.journal_id IS NOT NULL OR NEW.journal_id IS NULL)) THEN
        RAISE EXCEPTION 'payment % (%): what was paid never changes', OLD.id, OLD.reference
            USING ERRCODE = 'CI205';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER payeasy_payment_guard
    BEFORE UPDATE OR DELETE ON public.payeasy_payment
    FOR EACH ROW EXECUTE FUNCTION public.payeasy_payment_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS payeasy_payment_guard ON public.payeasy_payment;
DROP FUNCTION IF EXISTS public.payeasy_payment_guard();
"""


class Migration(migrations.Migration):

    dependencies = [("payeasy", "0002_bill_amount_rule_and_messages")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
