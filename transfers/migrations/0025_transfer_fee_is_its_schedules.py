"""XFER-4, LEDGER-7 (dbprobe27 F4, F2c): a transfer's fee is its fee row's, and a fee row is
one Python can load, starting no earlier than tomorrow.

F4: as the app's role the review INSERTed a 同一店宛 transfer of 1,000円 with a fee of
9,999円 under fee row 1 (同一店宛 0円), with a step-up confirming exactly that: the insert
guard compared the row with the step-up (which the app writes) and nothing computed the fee.
A row dated today was accepted too, changing today's fees at once.

* ``transfers_transfer_priced`` (new trigger, BEFORE INSERT ON transfers_transfer, after
  ``transfers_transfer_insert_guard`` by name; the app's role): the 適用手数料表 is the row
  in force on the 振込日 — the latest 適用開始日 on or before it, as ``fee_schedule_on(day)``
  picks it — and the fee is that row's ``<route>_under`` when the 振込金額 is below its
  金額区分, ``<route>_over`` otherwise, exactly ``services.fee_from`` (there is no fee-free
  case: 同一店宛 is 0円 by the table). CI224. A future row is still editable until a
  transfer names it (CI203), so the trigger reads such a row FOR SHARE: an edit waits for the
  booking and then finds it referenced.
* ``transfers_feeschedule_insert_guard`` (replaces 0020's): for the app's role, while a fee
  is in force, a new row starts tomorrow (the bank's day in Tokyo, by the clock) or later
  (CI203); its 登録日時 is the database's clock (dbprobe27 F2c: 'infinity' stopped every
  quote). The owner keeps 0008's rule (not dated back). An empty table (the owner's flush
  between tests) takes a first row of any date, as before.
* ``transfers_feeschedule_guard`` (replaces 0020's): for the app's role, a future row is not
  moved to today either, and its 登録日時 stays.
* CHECKs ``transfers_feeschedule_created_at_loadable`` and ``…_effective_from_loadable``
  (23514, every role): within the years 1900–8999 (accounts 0031's ``loadable_checks``).

SQL functions/triggers: CREATE FUNCTION public.transfers_transfer_priced(), CREATE TRIGGER
transfers_transfer_priced; CREATE OR REPLACE FUNCTION public.transfers_feeschedule_insert_guard()
and public.transfers_feeschedule_guard() (triggers unchanged). Reverse: 0020's functions.
"""

import importlib

from django.db import migrations

clock_0020 = importlib.import_module("transfers.migrations.0020_fee_guards_bank_day_by_clock")
loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

REVERSE_GUARDS = "".join(clock_0020.by_clock(guard) for guard in clock_0020.GUARDS)
UPDATE_GUARD_0020 = clock_0020.by_clock(clock_0020.GUARDS[0])
UPDATE_END = """    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;"""
assert UPDATE_GUARD_0020.count(UPDATE_END) == 1, "not 0020's transfers_feeschedule_guard()"
UPDATE_APP = f"""    IF TG_OP = 'UPDATE' AND {loadable.not_owner()} THEN
        IF NEW.effective_from <= v_today THEN  -- dbprobe27 F4: today's fees never change
            RAISE EXCEPTION 'fee schedule %: a row starts % at the earliest, not %', OLD.id, v_today + 1,
                NEW.effective_from USING ERRCODE = 'CI203';
        END IF;
        NEW.created_at := OLD.created_at;
    END IF;
"""

FEE_GUARDS = f"""
CREATE OR REPLACE FUNCTION public.transfers_feeschedule_insert_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_today date := public.transfers_bank_day();
    v_app constant boolean := {loadable.not_owner()};
BEGIN
    IF v_app THEN
        NEW.created_at := clock_timestamp();  -- dbprobe27 F2c: the database's clock
    END IF;
    IF (NEW.effective_from < v_today OR (v_app AND NEW.effective_from <= v_today))
       AND EXISTS (SELECT 1 FROM public.transfers_feeschedule f WHERE f.effective_from <= v_today) THEN
        RAISE EXCEPTION 'fee schedule: a new row starts % at the earliest, not % (a fee is in force)',
            CASE WHEN v_app THEN v_today + 1 ELSE v_today END, NEW.effective_from USING ERRCODE = 'CI203';
    END IF;
    RETURN NEW;
END $$;

"""


def _band(route: str) -> str:
    return f"CASE WHEN NEW.amount < f.threshold THEN f.{route}_under ELSE f.{route}_over END"


PRICED = f"""
CREATE FUNCTION public.transfers_transfer_priced() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    f public.transfers_feeschedule%ROWTYPE;
BEGIN
    IF NOT {loadable.not_owner()} THEN
        RETURN NEW;  -- the owner: a DBA loading records
    END IF;
    SELECT * INTO f FROM public.transfers_feeschedule s WHERE s.id = NEW.fee_schedule_id;
    IF FOUND AND f.effective_from > public.transfers_bank_day() THEN
        -- a future row may still be edited (CI203) until a transfer names it: hold it to commit
        SELECT * INTO f FROM public.transfers_feeschedule s WHERE s.id = NEW.fee_schedule_id FOR SHARE;
    END IF;
    IF NOT FOUND OR f.effective_from > NEW.transfer_date
       OR EXISTS (SELECT 1 FROM public.transfers_feeschedule g
                   WHERE g.effective_from > f.effective_from AND g.effective_from <= NEW.transfer_date) THEN
        RAISE EXCEPTION 'transfer: fee schedule % is not the one in force on %', NEW.fee_schedule_id,
            NEW.transfer_date USING ERRCODE = 'CI224';
    END IF;
    IF NEW.fee IS DISTINCT FROM (CASE NEW.route
            WHEN 'same_branch' THEN {_band("same_branch")}
            WHEN 'other_branch' THEN {_band("other_branch")}
            WHEN 'other_bank' THEN {_band("other_bank")} END) THEN
        RAISE EXCEPTION 'transfer: fee % yen is not fee schedule %''s for % of % yen', NEW.fee, f.id,
            NEW.route, NEW.amount USING ERRCODE = 'CI224';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_transfer_priced
    BEFORE INSERT ON public.transfers_transfer
    FOR EACH ROW EXECUTE FUNCTION public.transfers_transfer_priced();
"""

PRICED_REVERSE = """
DROP TRIGGER IF EXISTS transfers_transfer_priced ON public.transfers_transfer;
DROP FUNCTION IF EXISTS public.transfers_transfer_priced();
"""

UPDATE_GUARD = UPDATE_GUARD_0020.replace(UPDATE_END, UPDATE_APP + UPDATE_END)

CHECKS, CHECKS_REVERSE = loadable.loadable_checks({"transfers_feeschedule": ("created_at", "effective_from")})


class Migration(migrations.Migration):

    dependencies = [
        ("transfers", "0024_merge_fee_incoming_and_batch_row_guards"),
        ("accounts", "0031_timestamps_loadable"),
    ]

    operations = [
        migrations.RunSQL(FEE_GUARDS + UPDATE_GUARD, REVERSE_GUARDS),
        migrations.RunSQL(CHECKS, CHECKS_REVERSE),
        migrations.RunSQL(PRICED, PRICED_REVERSE),
    ]
