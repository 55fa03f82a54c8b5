"""XFER-1, XFER-5, XFER-8, LEDGER-7 (outside review dbprobe28 F3): a transfer is dated by the
database's clock. As the app's role the review inserted three 振込済 transfers of 700,000円
(37 → 38), posted now but dated today−1, −2, −3 with 受付日時 backdated to match: all
committed, 2,100,000円 left the account today against a 1,000,000円 limit, and the day's
total the services read stayed 0 — the daily limit (CI225) and the fee row (CI224) are taken
on ``transfer_date``, and 0020's insert guard (CI211) allowed 受付日時 60 days back.

``transfers_transfer_today_by_clock`` (new trigger, BEFORE INSERT ON transfers_transfer; its
name sorts after the insert guard, the journal guard and the fee check and before the
daily-limit check, which it protects), for the app's role, CI228:

* 受付日時 (``created_at``) is the database's clock within ``cosei_clock_slack()`` (five
  minutes: how far the app's clock may be from it — the tests travel in time and widen it);
* a 振込済 row is dated the bank's day now — ``transfer_execute`` dates a same-day transfer
  ``bankcalendar.local_now().date()``, also on a Saturday, Sunday or holiday — that is, the
  day in Tokyo of the clock ± the slack, and its 実行日時 is the clock within the slack;
* a 予約中 row is dated after the bank's day (``scheduled_transfer_create`` refuses today
  and earlier), the day of the clock − the slack.

The demo's exemption of 0020 stays: a row whose debit account was opened in this very
transaction (the seed) is not bound. The owner (a DBA loading records) is not bound.

SQL functions/triggers: CREATE FUNCTION public.transfers_transfer_today_by_clock(), CREATE
TRIGGER transfers_transfer_today_by_clock. Nothing replaced.
"""

import importlib

from django.db import migrations

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

FORWARD = f"""
CREATE FUNCTION public.transfers_transfer_today_by_clock() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_now constant timestamptz := clock_timestamp();
    v_slack constant interval := public.cosei_clock_slack();
    v_first constant date := ((v_now - v_slack) AT TIME ZONE 'Asia/Tokyo')::date;
    v_last constant date := ((v_now + v_slack) AT TIME ZONE 'Asia/Tokyo')::date;
BEGIN
    IF NOT {loadable.not_owner()}
       OR EXISTS (SELECT 1 FROM public.accounts_accountstatechange h  -- as CI211 (transfers 0020): the seed
                   WHERE h.account_id = NEW.debit_account_id AND h.old_status = ''
                     AND h.xact_id = pg_current_xact_id()::text::bigint AND h.xact_started_at = now()) THEN
        RETURN NEW;
    END IF;
    IF NEW.created_at IS NULL OR NEW.created_at NOT BETWEEN v_now - v_slack AND v_now + v_slack
       OR (NEW.status = 'executed'
           AND (NEW.transfer_date NOT BETWEEN v_first AND v_last
                OR NEW.executed_at IS NULL OR NEW.executed_at NOT BETWEEN v_now - v_slack AND v_now + v_slack))
       OR (NEW.status = 'scheduled' AND NEW.transfer_date <= v_first) THEN
        RAISE EXCEPTION 'transfer: % dated %, booked at % — not today''s by the database''s clock (%)',
            NEW.status, NEW.transfer_date, NEW.created_at, v_now USING ERRCODE = 'CI228';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_transfer_today_by_clock
    BEFORE INSERT ON public.transfers_transfer
    FOR EACH ROW EXECUTE FUNCTION public.transfers_transfer_today_by_clock();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_transfer_today_by_clock ON public.transfers_transfer;
DROP FUNCTION IF EXISTS public.transfers_transfer_today_by_clock();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0029_outgoing_file_as_written")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
