"""PAY-1, PAY-3, LEDGER-7 (outside review dbprobe31 F8): "paid once" held a bill's text.
``payment_bill_once`` (UNIQUE biller, 請求ID) compares the text of ``bill_id``, while CI205's
amount check (payeasy 0009) reads it as a number: bill 1 of the simulator was paid as '1'
and again as '01' — 96,000円 for one 48,000円 bill, each payment's amount right for bill 1.

``payeasy_payment_bill_id_as_spelled`` (BEFORE INSERT, whoever writes — CI205 as 0003–0009):
a payment naming a bill of ``payeasy_bill`` (the simulator's, whose 請求ID is the row's id)
spells that id as the row's id is spelled: digits with no leading zero, nothing around them.
A real gateway's bills, not in that table, keep whatever 請求ID the gateway gives.

SQL functions/triggers: CREATE FUNCTION public.payeasy_payment_bill_id_as_spelled(), CREATE
TRIGGER payeasy_payment_bill_id_as_spelled. Nothing replaced.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION public.payeasy_payment_bill_id_as_spelled() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NEW.bill_id ~ '^\s*[+-]?[0-9]{1,18}\s*$'
       AND EXISTS (SELECT 1 FROM public.payeasy_bill b
                    WHERE b.id = NEW.bill_id::bigint AND b.biller_id = NEW.biller_id)
       AND NEW.bill_id::bigint::text <> NEW.bill_id THEN
        RAISE EXCEPTION 'payment %: bill id % is bill %''s, spelled otherwise (it is paid once as %)',
            NEW.reference, NEW.bill_id, NEW.bill_id::bigint, NEW.bill_id::bigint USING ERRCODE = 'CI205';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER payeasy_payment_bill_id_as_spelled
    BEFORE INSERT ON public.payeasy_payment
    FOR EACH ROW EXECUTE FUNCTION public.payeasy_payment_bill_id_as_spelled();
"""

REVERSE = """
DROP TRIGGER IF EXISTS payeasy_payment_bill_id_as_spelled ON public.payeasy_payment;
DROP FUNCTION IF EXISTS public.payeasy_payment_bill_id_as_spelled();
"""


class Migration(migrations.Migration):

    dependencies = [("payeasy", "0010_counter_deposit_key_held")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
