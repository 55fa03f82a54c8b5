"""XFER-5, LEDGER-7 (outside review dbprobe27 F7): a 予約振込 is executed on its date, not
before. As the app's role the review posted 予約 1's journal (``scheduled-transfer:1``) and
moved it 予約中 → 振込済 on 2026-12-07, a day before its 振込日: 0007 and 0009 allowed the
step at any time, and 実行日時 was only bounded to 1900–9999.

For the app's role (CI223, trigger ``transfers_transfer_result_on_its_day``, BEFORE
UPDATE OF status): 予約中 → 振込済 or 未処理 only with a 実行日時 within
``cosei_clock_slack()`` (five minutes; accounts 0031 — the tests travel with the app's
clock and widen it) of the database's clock, and on or after the 振込日 (実行日時 in
Tokyo). The batch (``transfers.scheduled``) runs at 0:05 in Tokyo for the transfers dated
that day or earlier and writes now. 取消 (予約中 → 取消済) is any time. The owner (a DBA)
is not bound. The trigger's name sorts after ``transfers_transfer_guard`` and
``transfers_transfer_journal_guard`` (BEFORE triggers fire in name order): a step the state
machine refuses is still CI202.

SQL functions/triggers: CREATE FUNCTION public.transfers_transfer_result_on_its_day(),
CREATE TRIGGER transfers_transfer_result_on_its_day. Nothing replaced (the state
machine, 0007, and the journal, 0009, stay as they are).
"""

import importlib

from django.db import migrations

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

FORWARD = f"""
CREATE FUNCTION public.transfers_transfer_result_on_its_day() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_now constant timestamptz := clock_timestamp();
BEGIN
    IF {loadable.not_owner()}
       AND (NEW.executed_at IS NULL
            OR NEW.executed_at NOT BETWEEN v_now - public.cosei_clock_slack() AND v_now + public.cosei_clock_slack()
            OR (NEW.executed_at AT TIME ZONE 'Asia/Tokyo')::date < NEW.transfer_date) THEN
        RAISE EXCEPTION 'transfer %: a 予約 dated % is executed on that day or later, at the database''s time (not %)',
            NEW.id, NEW.transfer_date, NEW.executed_at USING ERRCODE = 'CI223';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_transfer_result_on_its_day
    BEFORE UPDATE OF status ON public.transfers_transfer
    FOR EACH ROW WHEN (OLD.status = 'scheduled' AND NEW.status IN ('executed', 'unprocessed'))
    EXECUTE FUNCTION public.transfers_transfer_result_on_its_day();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_transfer_result_on_its_day ON public.transfers_transfer;
DROP FUNCTION IF EXISTS public.transfers_transfer_result_on_its_day();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0026_outgoing_record_settles_on_its_day")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
