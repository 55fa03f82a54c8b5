"""XFER-5, NOTE-1, SEC-8, LEDGER-7 (outside review dbprobe29 F4): a 予約 becomes 未処理 (or
振込済) as the batch makes it, told and audited. As the app's role the review ran, on the
予約's own day before the 0:05 batch, ``UPDATE transfers_transfer SET status = 'unprocessed',
unprocessed_reason = 'insufficient_funds', executed_at = clock_timestamp() WHERE status =
'scheduled' AND transfer_date <= today``: committed with no mail and no audit row — the
customer's 予約 read 「未処理（残高不足）」 with 2.2 million yen in the account, the batch found
nothing and /health/ stayed silent. CI202 allowed the step, CI223 bounded only its time,
and CI229 (0031) covered only 予約中 → 取消済. 予約中 → 振込済 was not held either.

``transfers_transfer_batch_told`` (new constraint trigger, AFTER UPDATE OF status ON
transfers_transfer, 予約中 → 未処理 or 振込済 only, DEFERRABLE INITIALLY DEFERRED: the batch
writes the audit rows and mail after the UPDATE), for the app's role, CI232 — by commit the
same transaction (``transfers_row_of_this_xact``, transfers 0012) wrote:

* the batch's audit row of that transfer (``transfers.scheduled._told``, ``audit_record`` /
  ``scheduled_records.audit_records``): action ``transfer``, actor ``batch``, of the
  transfer's customer, outcome ``failure`` with a summary 「予約振込未処理（<理由>） 受付番号
  <id> …」 for 未処理, outcome ``success`` with 「予約振込実行 受付番号 <id> …」 for 振込済;
* the customer's mail of that step, ``transfer_unprocessed`` / ``transfer_executed``, at
  least one per such audit row of the customer in the transaction (so one per transfer),
  pending to the registered address or skipped, as the outbox's own rules (CI204) hold.

The owner (a DBA) is not bound.

SQL functions/triggers: CREATE FUNCTION public.transfers_transfer_batch_told(), CREATE
CONSTRAINT TRIGGER transfers_transfer_batch_told. Nothing replaced.
"""

import importlib

from django.db import migrations

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

FORWARD = f"""
CREATE FUNCTION public.transfers_transfer_batch_told() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    t public.transfers_transfer%ROWTYPE;
    v_outcome text;
    v_summary text;
    v_event text;
BEGIN
    IF NOT {loadable.not_owner()} THEN
        RETURN NULL;  -- the owner: a DBA
    END IF;
    SELECT * INTO t FROM public.transfers_transfer WHERE id = NEW.id;
    IF t.status = 'unprocessed' THEN
        v_outcome := 'failure';
        v_summary := '予約振込未処理（%） 受付番号 ' || t.id || ' %';
        v_event := 'transfer_unprocessed';
    ELSIF t.status = 'executed' THEN
        v_outcome := 'success';
        v_summary := '予約振込実行 受付番号 ' || t.id || ' %';
        v_event := 'transfer_executed';
    ELSE
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.security_auditevent a
                    WHERE a.customer_id = t.customer_id AND a.action = 'transfer' AND a.actor = 'batch'
                      AND a.outcome = v_outcome AND a.summary LIKE v_summary
                      AND public.transfers_row_of_this_xact(a.xmin))
       OR (SELECT count(*) FROM public.notifications_outboxmessage m
            WHERE m.customer_id = t.customer_id AND m.event = v_event
              AND public.transfers_row_of_this_xact(m.xmin))
          < (SELECT count(*) FROM public.security_auditevent a
              WHERE a.customer_id = t.customer_id AND a.action = 'transfer' AND a.actor = 'batch'
                AND a.outcome = v_outcome
                AND public.transfers_row_of_this_xact(a.xmin)) THEN
        RAISE EXCEPTION 'transfer % (dated %): made % without the batch''s audit row and mail',
            t.id, t.transfer_date, t.status USING ERRCODE = 'CI232';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER transfers_transfer_batch_told
    AFTER UPDATE OF status ON public.transfers_transfer DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.status = 'scheduled' AND NEW.status IN ('unprocessed', 'executed'))
    EXECUTE FUNCTION public.transfers_transfer_batch_told();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_transfer_batch_told ON public.transfers_transfer;
DROP FUNCTION IF EXISTS public.transfers_transfer_batch_told();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0033_future_fee_row_repaired")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
