"""PAY-1, LEDGER-7 (outside review dbprobe26 F7): a payment with no posting marked a bill
paid — as the app's role the review INSERTed, with a step-up it confirmed itself, a
payment of bill 1 (48,000円) for 1円 and never posted it: ``payment_bill_once`` then
refused the bill's owner 「支払済」. 0004/0007 held the journal once recorded, not that
there is one.

At commit (a constraint trigger, DEFERRABLE INITIALLY DEFERRED: ``payeasy_pay`` writes the
payment, posts, then records the journal, in one transaction), whoever writes:

* the payment has its journal — the one posted under ``payeasy:<受付番号>`` with exactly
  its two lines (0004/0007 check it when it is recorded), as a 振込済 transfer has its
  journal (``transfer_executed_has_journal``);
* the amount is what the bill allows: the bill's own amount, or within its 下限・上限 for
  an open-amount bill (``services.amount_check``). The bill is read from ``payeasy_bill``
  (the simulator's, ``SimulatorGateway``: its 請求ID is the row's id); a payment of a bill
  the table does not know — a real gateway's — is held by its step-up only.

CI205, as 0003–0008. One look-up of the row and one of the bill per payment.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.payeasy_payment_posted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_payment public.payeasy_payment%ROWTYPE;
    v_bill record;
BEGIN
    SELECT p.* INTO v_payment FROM public.payeasy_payment p WHERE p.id = NEW.id;
    IF v_payment.journal_id IS NULL THEN
        RAISE EXCEPTION 'payment %: no posting (journal payeasy:%) by commit', NEW.reference, NEW.reference
            USING ERRCODE = 'CI205';
    END IF;
    IF NEW.bill_id ~ '^[0-9]{1,18}$' THEN
        SELECT b.amount, b.min_amount, b.max_amount INTO v_bill FROM public.payeasy_bill b
         WHERE b.id = NEW.bill_id::bigint AND b.biller_id = NEW.biller_id;
        IF FOUND AND NOT coalesce(CASE WHEN v_bill.amount IS NOT NULL THEN NEW.amount = v_bill.amount
                                       ELSE NEW.amount BETWEEN v_bill.min_amount AND v_bill.max_amount END, false) THEN
            RAISE EXCEPTION 'payment %: amount % is not what bill % allows', NEW.reference, NEW.amount, NEW.bill_id
                USING ERRCODE = 'CI205';
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER payeasy_payment_posted
    AFTER INSERT ON public.payeasy_payment DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.payeasy_payment_posted();
"""

REVERSE = """
DROP TRIGGER IF EXISTS payeasy_payment_posted ON public.payeasy_payment;
DROP FUNCTION IF EXISTS public.payeasy_payment_posted();
"""


class Migration(migrations.Migration):

    dependencies = [("payeasy", "0008_paid_at_loadable")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
