"""PAY-1, SEC-14, LEDGER-7 (dbprobe25 F10, Pay-easy): a payment row is the confirmed
payment of its own customer — 0003/0004 held it after the INSERT, but the app's role
INSERTed a payment of customer 1 from customer 2's account, dated 2020-01-01.

On INSERT (CI205, as 0003/0004):

* the お支払口座 is an open customer account of the row's customer;
* for the app's role: the 受付日時 is not dated back (no earlier than five minutes before
  the database's clock: ``payeasy_pay`` writes it just before; a back-dated payment hid
  from the 3-month duplicate warning, PAY-3, and from the statements' order); and a step-up
  of that customer, kind ``payeasy``, verified and used by this very transaction
  (``transfers_row_of_this_xact``, transfers 0012), confirmed this payment: the same
  収納機関, 請求ID, お客様番号, 金額 and お支払口座. A step-up names one bill, and a bill
  is paid once (``payment_bill_once``), so a step-up pays at most once. The owner (a DBA)
  is not bound by the step-up rule.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.payeasy_payment_insert_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.accounts_account a
                    WHERE a.id = NEW.account_id AND a.purpose = 'customer'
                      AND a.customer_id = NEW.customer_id AND a.status = 'open') THEN
        RAISE EXCEPTION 'payment %: the account is an open account of its customer (%)', NEW.reference, NEW.customer_id
            USING ERRCODE = 'CI205';
    END IF;
    IF session_user = pg_get_userbyid((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID)) THEN
        RETURN NEW;  -- the owner: a DBA loading records
    END IF;
    IF NEW.paid_at < clock_timestamp() - interval '5 minutes' THEN
        RAISE EXCEPTION 'payment %: 受付日時 % is dated back', NEW.reference, NEW.paid_at USING ERRCODE = 'CI205';
    END IF;
    IF NOT EXISTS (
            SELECT 1 FROM public.security_stepup st
             WHERE st.customer_id = NEW.customer_id AND st.kind = 'payeasy'
               AND st.verified_at IS NOT NULL AND st.used_at IS NOT NULL
               AND st.content->>'account' = NEW.account_id::text
               AND st.content->>'biller' = (SELECT b.number FROM public.payeasy_biller b WHERE b.id = NEW.biller_id)
               AND st.content->>'bill_id' = NEW.bill_id AND st.content->>'number' = NEW.number
               AND (st.content->>'amount')::numeric = NEW.amount
               AND public.transfers_row_of_this_xact(st.xmin)) THEN
        RAISE EXCEPTION 'payment %: no step-up of customer % confirming it, used by this transaction',
            NEW.reference, NEW.customer_id USING ERRCODE = 'CI205';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER payeasy_payment_insert_guard
    BEFORE INSERT ON public.payeasy_payment
    FOR EACH ROW EXECUTE FUNCTION public.payeasy_payment_insert_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS payeasy_payment_insert_guard ON public.payeasy_payment;
DROP FUNCTION IF EXISTS public.payeasy_payment_insert_guard();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("payeasy", "0004_payment_journal_held"),
        ("transfers", "0012_transfer_confirmed_by_its_customer"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
