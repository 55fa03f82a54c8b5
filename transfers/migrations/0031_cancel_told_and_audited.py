"""XFER-6, NOTE-1, SEC-8, LEDGER-7 (outside review dbprobe28 F9): a 予約 is cancelled as the
services cancel it. As the app's role the review ran ``UPDATE transfers_transfer SET status =
'cancelled', cancelled_at = now() WHERE status = 'scheduled'``: accepted, no mail, no audit
row, also on the 予約's own day before the batch (which the customer's cancel refuses) — the
batch found nothing and /health/'s overdue count stayed 0. 0007's state machine allowed
予約中 → 取消済 whenever 取消日時 was set.

``transfers_transfer_cancel_told`` (new constraint trigger, AFTER UPDATE OF status ON
transfers_transfer, 予約中 → 取消済 only, DEFERRABLE INITIALLY DEFERRED: the services write the
audit row and the mail after the UPDATE), for the app's role, CI229 — by commit the same
transaction (``transfers_row_of_this_xact``, transfers 0012) wrote:

* an audit row ``transfer_cancel`` (the customer's 振込予約取消) or ``transfer_cancel_staff``
  (staff's cancel at the customer's request), outcome success, of the transfer's customer,
  whose summary names the transfer (「受付番号 <id> …」, ``security.audit.reference_text``);
* the customer's cancellation mail, ``transfer_cancelled`` or ``transfer_cancelled_staff``
  — one per transfer of that customer cancelled in the transaction — pending to the
  registered address or skipped without one, as the outbox's own rules (CI204) hold;
* and, on the customer's path (no staff row), the 振込日 is after the bank's day (the day
  of the database's clock − ``cosei_clock_slack()``): ``scheduled_transfer_cancel`` refuses
  a cancel on the day. Staff's cancel may be on the day, as the service allows.

The owner (a DBA) is not bound.

SQL functions/triggers: CREATE FUNCTION public.transfers_transfer_cancel_told(), CREATE
CONSTRAINT TRIGGER transfers_transfer_cancel_told. Nothing replaced.
"""

import importlib

from django.db import migrations

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

FORWARD = f"""
CREATE FUNCTION public.transfers_transfer_cancel_told() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    t public.transfers_transfer%ROWTYPE;
    v_customer boolean;
    v_staff boolean;
    v_first constant date := ((clock_timestamp() - public.cosei_clock_slack()) AT TIME ZONE 'Asia/Tokyo')::date;
BEGIN
    IF NOT {loadable.not_owner()} THEN
        RETURN NULL;  -- the owner: a DBA
    END IF;
    SELECT * INTO t FROM public.transfers_transfer WHERE id = NEW.id;
    IF t.status IS DISTINCT FROM 'cancelled' THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(bool_or(a.action = 'transfer_cancel'), false), coalesce(bool_or(a.action = 'transfer_cancel_staff'), false)
      INTO v_customer, v_staff
      FROM public.security_auditevent a
     WHERE a.customer_id = t.customer_id AND a.outcome = 'success'
       AND a.action IN ('transfer_cancel', 'transfer_cancel_staff')
       AND a.summary LIKE '受付番号 ' || t.id || ' %'
       AND public.transfers_row_of_this_xact(a.xmin);
    IF NOT (v_customer OR v_staff)
       OR (NOT v_staff AND t.transfer_date <= v_first)
       OR (SELECT count(*) FROM public.notifications_outboxmessage m
            WHERE m.customer_id = t.customer_id AND m.event IN ('transfer_cancelled', 'transfer_cancelled_staff')
              AND public.transfers_row_of_this_xact(m.xmin))
          < (SELECT count(*) FROM public.transfers_transfer c
              WHERE c.customer_id = t.customer_id AND c.status = 'cancelled'
                AND public.transfers_row_of_this_xact(c.xmin)) THEN
        RAISE EXCEPTION 'transfer % (dated %): cancelled without its audit row and mail, or on its day by the customer',
            t.id, t.transfer_date USING ERRCODE = 'CI229';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER transfers_transfer_cancel_told
    AFTER UPDATE OF status ON public.transfers_transfer DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.status = 'scheduled' AND NEW.status = 'cancelled')
    EXECUTE FUNCTION public.transfers_transfer_cancel_told();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_transfer_cancel_told ON public.transfers_transfer;
DROP FUNCTION IF EXISTS public.transfers_transfer_cancel_told();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0030_transfer_dated_by_clock")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
