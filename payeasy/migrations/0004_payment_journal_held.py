"""PAY-1, LEDGER-7: a payment's journal is its own posting — 0003 let the journal be
recorded once, but any journal: the app's role inserted a payment with no posting and then
gave it another customer's incoming credit as its journal (the outside review, as the
app's role), a payment on record that moved no money of the payer.

* INSERT: a payment is written before its posting (``payeasy.services.payeasy_pay``, same
  transaction), so it is born without a journal.
* the journal, when recorded, is the one posted under the payment's key
  (``payeasy:<受付番号>``) and debits the お支払口座 by the amount.

CI205, as 0003.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.payeasy_payment_journal_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.journal_id IS NOT NULL THEN
            RAISE EXCEPTION 'payment %: a payment is written before its posting, without a journal', NEW.reference
                USING ERRCODE = 'CI205';
        END IF;
    ELSIF NEW.journal_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM public.accounts_journal j JOIN public.accounts_entry e ON e.journal_id = j.id
             WHERE j.id = NEW.journal_id AND j.idempotency_key = 'payeasy:' || NEW.reference
               AND e.account_id = NEW.account_id AND e.amount = -NEW.amount) THEN
        RAISE EXCEPTION 'payment %: journal % is not its posting', NEW.reference, NEW.journal_id
            USING ERRCODE = 'CI205';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER payeasy_payment_journal_guard
    BEFORE INSERT OR UPDATE OF journal_id ON public.payeasy_payment
    FOR EACH ROW EXECUTE FUNCTION public.payeasy_payment_journal_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS payeasy_payment_journal_guard ON public.payeasy_payment;
DROP FUNCTION IF EXISTS public.payeasy_payment_journal_guard();
"""


class Migration(migrations.Migration):

    dependencies = [("payeasy", "0003_payments_held")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
