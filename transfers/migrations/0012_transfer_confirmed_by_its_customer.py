"""XFER-1, XFER-5, SEC-14, LEDGER-7 (dbprobe25 F10): a transfer row is the confirmed
operation of its own customer — 0007/0009 held every step after the INSERT, but not the
row's root: the app's role INSERTed a 予約中 transfer of customer 1 debiting customer 2's
account with a random 確認ID, and the real batch paid it out of the bank (a 仕向 record,
a 全銀 file line).

On INSERT (CI202, as 0009):

* the 引落口座 is an open customer account of the row's customer; the payee's account at
  our bank, when there is one, is a customer account;
* for the app's role, the row's 確認ID (``stepup_id``) is a step-up of that customer, of
  the kind ``transfer``, verified and used by this very transaction (the row version's
  xmin is one of this transaction's own ids: ``transfers_row_of_this_xact``) — the
  confirmation the services run in (``stepup_verify_execute`` marks it used, then runs
  ``transfer_execute`` / ``scheduled_transfer_create`` in the same savepoint) — and what
  it confirmed is the row: 引落口座, route, payee account and name, amount, fee, 負担,
  fee row, 依頼人名 and 振込日. A step-up names one transfer (``stepup_id`` UNIQUE).
  A step-up is born unanswered (security 0011), so the used mark comes from its UPDATE.
  The owner (a DBA loading records) is not bound by the step-up rule, as by CI013.

The database cannot check the customer's answer (the factor is checked in Python); it
holds that no transfer exists without a step-up of its customer, of exactly that content,
consumed with it — the evidence a used step-up leaves is never deleted (CI301).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.transfers_row_of_this_xact(p_xmin xid) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    -- the row version was written by this transaction or one of its subtransactions (a
    -- savepoint): its xmin, widened to 64 bits in the epoch of this transaction's id (a
    -- subtransaction's id is never below its parent's), is still in progress — a visible
    -- row version of another transaction in progress does not exist
    v_top bigint := pg_current_xact_id()::text::bigint;
    v_xid bigint := ((v_top >> 32) << 32) + p_xmin::text::bigint;
BEGIN
    IF v_xid < v_top THEN
        v_xid := v_xid + 4294967296;
    END IF;
    RETURN pg_xact_status(v_xid::text::xid8) = 'in progress';
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;  -- "in the future": an old row of an earlier epoch, not this transaction's
END $$;

CREATE FUNCTION public.transfers_transfer_insert_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    s record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.accounts_account a
                    WHERE a.id = NEW.debit_account_id AND a.purpose = 'customer'
                      AND a.customer_id = NEW.customer_id AND a.status = 'open')
       OR (NEW.credit_account_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM public.accounts_account a WHERE a.id = NEW.credit_account_id AND a.purpose = 'customer')) THEN
        RAISE EXCEPTION 'transfer: the debit account is an open account of its customer (%)', NEW.customer_id
            USING ERRCODE = 'CI202';
    END IF;
    IF session_user = pg_get_userbyid((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID)) THEN
        RETURN NEW;  -- the owner: a DBA loading records
    END IF;
    SELECT st.xmin, st.customer_id, st.kind, st.verified_at, st.used_at, st.content INTO s
      FROM public.security_stepup st WHERE st.id = NEW.stepup_id;
    IF NOT FOUND OR s.customer_id <> NEW.customer_id OR s.kind <> 'transfer'
       OR s.verified_at IS NULL OR s.used_at IS NULL
       OR NOT public.transfers_row_of_this_xact(s.xmin)
       OR NOT (jsonb_build_object(
                 'debit_account_id', NEW.debit_account_id, 'route', NEW.route,
                 'bank_code', NEW.bank_code, 'branch_code', NEW.branch_code,
                 'account_type', NEW.account_type, 'account_number', NEW.account_number,
                 'holder_kana', NEW.holder_kana, 'amount', NEW.amount, 'fee', NEW.fee,
                 'fee_borne_by_payee', NEW.fee_borne_by_payee, 'fee_schedule_id', NEW.fee_schedule_id,
                 'sender_name', NEW.sender_name, 'transfer_date', NEW.transfer_date::text)
               <@ s.content)
       OR (NEW.credit_account_id IS NOT NULL
           AND NOT jsonb_build_object('credit_account_id', NEW.credit_account_id) <@ s.content) THEN
        RAISE EXCEPTION 'transfer: % is not a step-up of customer % confirming it, used by this transaction',
            NEW.stepup_id, NEW.customer_id USING ERRCODE = 'CI202';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_transfer_insert_guard
    BEFORE INSERT ON public.transfers_transfer
    FOR EACH ROW EXECUTE FUNCTION public.transfers_transfer_insert_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_transfer_insert_guard ON public.transfers_transfer;
DROP FUNCTION IF EXISTS public.transfers_transfer_insert_guard();
DROP FUNCTION IF EXISTS public.transfers_row_of_this_xact(xid);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("transfers", "0011_outgoing_item_line_once"),
        ("security", "0011_stepup_born_unused"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
