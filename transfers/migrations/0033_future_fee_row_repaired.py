"""XFER-4, XFER-5, LEDGER-7 (outside review dbprobe28 F4): a fee row not yet in force is not
frozen by a 予約 naming it. As the app's role the review added a row for tomorrow with every
fee at 10,000円 and, in the same transaction, a 予約 for tomorrow naming it: staff's repairs
all failed — UPDATE and DELETE got CI203 「referenced by a transfer: it is never changed」,
a corrected row for the same day 23505 (UNIQUE effective_from) — so every transfer dated
tomorrow would cost 10,000円 (or 0円), repeatable for each day of the 60-day horizon, and only
a DBA could undo it.

The design (docs/transfers.md, "Fees"): a row is frozen once it is in force, not once it is
named. Until its 適用開始日 staff correct it in place (the fee admin), and a 予約 booked under
it is charged, when the batch executes it, the lower of the fee it was confirmed with and the
fee its row gives then — a customer never pays more than the confirm page said, and a
planted 10,000円 row, once corrected, charges the corrected fee. (At execution the row is in
force, so frozen: the batch reads a fee that can no longer move.)

* ``transfers_feeschedule_guard`` (replaces 0025's): a row named by a transfer is never
  deleted and never moved to another 適用開始日 (CI203, as before); its fees and 金額区分 may
  change while it is future (the caps CHECKs of 0013 and the app's rules of 0025 hold). A
  row in force stays frozen (CI203).
* ``transfers_fee_repriced(transfer)`` (new): the lower of the transfer's ``fee`` and its
  row's fee for its route and amount (``fee_from``).
* ``transfers_transfer_guard`` (replaces 0007's): the confirmed content never changes
  (CI201), except the fee on 予約中 → 振込済 / 未処理, and then only to
  ``transfers_fee_repriced(OLD)`` (CI230; the batch reads that same function with the funds
  figures, ``transfers.scheduled._state_sql``). The journal guard (0009/0015) holds the posting to
  the row's fee as before.

SQL functions/triggers: CREATE OR REPLACE FUNCTION public.transfers_feeschedule_guard(),
public.transfers_transfer_guard() (triggers unchanged; reverse: 0025's and 0007's); CREATE
FUNCTION public.transfers_fee_repriced(public.transfers_transfer).
"""

import importlib

from django.db import migrations

clock_0020 = importlib.import_module("transfers.migrations.0020_fee_guards_bank_day_by_clock")
fees_0025 = importlib.import_module("transfers.migrations.0025_transfer_fee_is_its_schedules")

REFERENCED_0007 = """    IF EXISTS (SELECT 1 FROM public.transfers_transfer t WHERE t.fee_schedule_id = OLD.id) THEN
        RAISE EXCEPTION 'fee schedule % is referenced by a transfer: it is never changed', OLD.id
            USING ERRCODE = 'CI203';
    END IF;
"""
REFERENCED = """    -- dbprobe28 F4: a future row named by a 予約 is corrected in place (the batch charges the
    -- lower fee, transfers_fee_repriced); it is never deleted nor moved to another day
    IF EXISTS (SELECT 1 FROM public.transfers_transfer t WHERE t.fee_schedule_id = OLD.id)
       AND (TG_OP = 'DELETE' OR NEW.effective_from IS DISTINCT FROM OLD.effective_from) THEN
        RAISE EXCEPTION 'fee schedule % is referenced by a transfer: it is never deleted nor moved', OLD.id
            USING ERRCODE = 'CI203';
    END IF;
"""
FEE_GUARD_0025 = fees_0025.UPDATE_GUARD
assert FEE_GUARD_0025.count(REFERENCED_0007) == 1, "not 0025's transfers_feeschedule_guard()"
FEE_GUARD = FEE_GUARD_0025.replace(REFERENCED_0007, REFERENCED)

TRANSFER_GUARD_0007 = clock_0020.function_of(clock_0020.HELD_0007, "transfers_transfer_guard")
CONTENT_0007 = """    IF to_jsonb(NEW) - v_state IS DISTINCT FROM to_jsonb(OLD) - v_state THEN
        RAISE EXCEPTION 'transfer %: the confirmed content never changes', OLD.id USING ERRCODE = 'CI201';
    END IF;
"""
CONTENT = """    IF to_jsonb(NEW) - v_state - 'fee' IS DISTINCT FROM to_jsonb(OLD) - v_state - 'fee' THEN
        RAISE EXCEPTION 'transfer %: the confirmed content never changes', OLD.id USING ERRCODE = 'CI201';
    END IF;
    -- dbprobe28 F4: the batch charges a 予約 the lower of its fee and its row's (corrected) fee
    IF NEW.fee IS DISTINCT FROM OLD.fee THEN
        IF NOT (OLD.status = 'scheduled' AND NEW.status IN ('executed', 'unprocessed')) THEN
            RAISE EXCEPTION 'transfer %: the confirmed content never changes', OLD.id USING ERRCODE = 'CI201';
        ELSIF NEW.fee IS DISTINCT FROM public.transfers_fee_repriced(OLD) THEN
            RAISE EXCEPTION 'transfer %: its fee % changes only to its row''s lower fee when the batch takes it, not %',
                OLD.id, OLD.fee, NEW.fee USING ERRCODE = 'CI230';
        END IF;
    END IF;
"""
assert TRANSFER_GUARD_0007.count(CONTENT_0007) == 1, "not 0007's transfers_transfer_guard()"
TRANSFER_GUARD = TRANSFER_GUARD_0007.replace(CONTENT_0007, CONTENT)


def _band(route: str) -> str:
    return f"CASE WHEN p.amount < f.threshold THEN f.{route}_under ELSE f.{route}_over END"


REPRICED = f"""
CREATE FUNCTION public.transfers_fee_repriced(p public.transfers_transfer) RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
    -- the lower of the confirmed fee and the fee its row gives now (transfers.services.fee_from)
    SELECT least(p.fee, (CASE p.route WHEN 'same_branch' THEN {_band('same_branch')}
                                      WHEN 'other_branch' THEN {_band('other_branch')}
                                      WHEN 'other_bank' THEN {_band('other_bank')} END))::bigint
      FROM public.transfers_feeschedule f WHERE f.id = p.fee_schedule_id
$$;
"""

FORWARD = REPRICED + FEE_GUARD + TRANSFER_GUARD
REVERSE = FEE_GUARD_0025 + TRANSFER_GUARD_0007 + "DROP FUNCTION IF EXISTS public.transfers_fee_repriced(public.transfers_transfer);\n"


class Migration(migrations.Migration):

    dependencies = [("transfers", "0032_ids_from_their_sequences")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
