"""XFER-1, XFER-4, XFER-5/6, LEDGER-7: what a customer confirmed is held by the database,
whichever role writes and whatever the Python does (the outside review rewrote records as
the app's role).

* ``transfers_transfer``: the confirmed content (accounts, payee account, amount, fee, fee
  row, dates, 確認ID …: every column but the state's) never changes; the state moves only
  along the state machine — 予約中 → 振込済 (with its journal and time), 未処理 (with its
  reason and time) or 取消済 (with its time) — and a row is never deleted (CI201). The
  registered payee link may be cleared (the payee deleted) or set to the customer's own
  payee of the same account (「今回の振込先を登録」).
* ``transfers_feeschedule`` (振込手数料): a row in force (適用開始日 today or earlier, the
  bank's day in Tokyo) or referenced by a transfer is neither changed nor deleted (CI203);
  a future row stays editable. The check locks the row FOR UPDATE first, so a transfer
  being confirmed under it (its foreign key holds the row KEY SHARE) is waited for and seen.

Row triggers: the owner's flush between tests (TRUNCATE) is not affected; a later data
migration that must correct a row drops and re-creates the trigger, in the open.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.transfers_transfer_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    -- the state machine's columns, and the payee link (checked below); the rest is content
    v_state constant text[] := ARRAY['status', 'journal_id', 'executed_at', 'unprocessed_reason',
                                     'cancelled_at', 'payee_id'];
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'transfer % is a confirmed record: it is never deleted', OLD.id
            USING ERRCODE = 'CI201';
    END IF;
    IF to_jsonb(NEW) - v_state IS DISTINCT FROM to_jsonb(OLD) - v_state THEN
        RAISE EXCEPTION 'transfer %: the confirmed content never changes', OLD.id USING ERRCODE = 'CI201';
    END IF;
    IF NEW.status = OLD.status THEN
        IF (NEW.journal_id, NEW.executed_at, NEW.unprocessed_reason, NEW.cancelled_at)
           IS DISTINCT FROM (OLD.journal_id, OLD.executed_at, OLD.unprocessed_reason, OLD.cancelled_at) THEN
            RAISE EXCEPTION 'transfer %: the result of a % transfer never changes', OLD.id, OLD.status
                USING ERRCODE = 'CI202';
        END IF;
    ELSIF OLD.status <> 'scheduled'
          OR OLD.journal_id IS NOT NULL OR OLD.executed_at IS NOT NULL
          OR OLD.unprocessed_reason <> '' OR OLD.cancelled_at IS NOT NULL
          OR NOT (CASE NEW.status
              WHEN 'executed' THEN NEW.journal_id IS NOT NULL AND NEW.executed_at IS NOT NULL
                                   AND NEW.unprocessed_reason = '' AND NEW.cancelled_at IS NULL
              WHEN 'unprocessed' THEN NEW.journal_id IS NULL AND NEW.executed_at IS NOT NULL
                                      AND NEW.unprocessed_reason <> '' AND NEW.cancelled_at IS NULL
              WHEN 'cancelled' THEN NEW.journal_id IS NULL AND NEW.executed_at IS NULL
                                    AND NEW.unprocessed_reason = '' AND NEW.cancelled_at IS NOT NULL
              ELSE false
          END) THEN
        RAISE EXCEPTION 'transfer %: % -> % is not a step of the state machine', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'CI202';
    END IF;
    IF NEW.payee_id IS DISTINCT FROM OLD.payee_id AND NEW.payee_id IS NOT NULL
       AND (OLD.payee_id IS NOT NULL OR NOT EXISTS (
            SELECT 1 FROM public.transfers_payee p
             WHERE p.id = NEW.payee_id AND p.customer_id = NEW.customer_id
               AND p.bank_code = NEW.bank_code AND p.branch_code = NEW.branch_code
               AND p.account_type = NEW.account_type AND p.account_number = NEW.account_number)) THEN
        RAISE EXCEPTION 'transfer %: the payee link is only the customer''s own payee of the same account', OLD.id
            USING ERRCODE = 'CI201';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_transfer_guard
    BEFORE UPDATE OR DELETE ON public.transfers_transfer
    FOR EACH ROW EXECUTE FUNCTION public.transfers_transfer_guard();

CREATE FUNCTION public.transfers_feeschedule_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    -- the bank's day (the session's TimeZone is UTC under Django)
    v_today date := (now() AT TIME ZONE 'Asia/Tokyo')::date;
BEGIN
    IF TG_OP = 'UPDATE' AND to_jsonb(NEW) = to_jsonb(OLD) THEN
        RETURN NEW;
    END IF;
    IF OLD.effective_from <= v_today THEN
        RAISE EXCEPTION 'fee schedule % is in force since %: it is never changed', OLD.id, OLD.effective_from
            USING ERRCODE = 'CI203';
    END IF;
    -- wait for a transfer being confirmed under this row (its foreign key check holds the
    -- row KEY SHARE until commit), then look with a fresh snapshot
    PERFORM 1 FROM public.transfers_feeschedule f WHERE f.id = OLD.id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM public.transfers_transfer t WHERE t.fee_schedule_id = OLD.id) THEN
        RAISE EXCEPTION 'fee schedule % is referenced by a transfer: it is never changed', OLD.id
            USING ERRCODE = 'CI203';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.effective_from < v_today THEN
        RAISE EXCEPTION 'fee schedule %: a row is not dated back to %', OLD.id, NEW.effective_from
            USING ERRCODE = 'CI203';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_feeschedule_guard
    BEFORE UPDATE OR DELETE ON public.transfers_feeschedule
    FOR EACH ROW EXECUTE FUNCTION public.transfers_feeschedule_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_feeschedule_guard ON public.transfers_feeschedule;
DROP FUNCTION IF EXISTS public.transfers_feeschedule_guard();
DROP TRIGGER IF EXISTS transfers_transfer_guard ON public.transfers_transfer;
DROP FUNCTION IF EXISTS public.transfers_transfer_guard();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0006_constraint_messages")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
