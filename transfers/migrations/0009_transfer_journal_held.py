"""XFER-1, XFER-5, LEDGER-7: a transfer's journal is its own posting — 0007 held the
confirmed content and the state machine, but 予約中 → 振込済 took any journal, and a row
could be INSERTed already 振込済 (with another customer's incoming credit as its journal,
backdated) or already 取消済 (the outside review, as the app's role): a transfer on record
that moved none of its customer's money.

* INSERT: a transfer is born 予約中 (no result yet: the batch posts it on its date) or
  振込済 (today's, written after its posting) — never 未処理 or 取消済;
* a 振込済 transfer's journal is the one posted under its key — ``transfer:<確認ID>`` for
  today's, ``scheduled-transfer:<id>`` for the batch's — and debits its 引落口座 by its
  amount (the principal's line; the fee is a line of its own, ``transfer_lines``).

CI202, as 0007's state machine.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.transfers_transfer_journal_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_key text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT (NEW.status = 'scheduled' AND NEW.journal_id IS NULL AND NEW.executed_at IS NULL
                    AND NEW.unprocessed_reason = '' AND NEW.cancelled_at IS NULL
                OR NEW.status = 'executed') THEN
            RAISE EXCEPTION 'a transfer is born scheduled or executed, not % with a result', NEW.status
                USING ERRCODE = 'CI202';
        END IF;
        v_key := 'transfer:' || NEW.stepup_id;
    ELSIF NEW.status IS NOT DISTINCT FROM OLD.status AND NEW.journal_id IS NOT DISTINCT FROM OLD.journal_id THEN
        RETURN NEW;  -- no step (0007 holds the rest)
    ELSE
        v_key := 'scheduled-transfer:' || NEW.id;
    END IF;
    IF NEW.status = 'executed' AND NOT EXISTS (
            SELECT 1 FROM public.accounts_journal j JOIN public.accounts_entry e ON e.journal_id = j.id
             WHERE j.id = NEW.journal_id AND j.idempotency_key = v_key
               AND e.account_id = NEW.debit_account_id AND e.amount = -NEW.amount) THEN
        RAISE EXCEPTION 'transfer %: journal % is not its posting (%)', NEW.id, NEW.journal_id, v_key
            USING ERRCODE = 'CI202';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_transfer_journal_guard
    BEFORE INSERT OR UPDATE OF status, journal_id ON public.transfers_transfer
    FOR EACH ROW EXECUTE FUNCTION public.transfers_transfer_journal_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_transfer_journal_guard ON public.transfers_transfer;
DROP FUNCTION IF EXISTS public.transfers_transfer_journal_guard();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0008_interbank_records_held")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
