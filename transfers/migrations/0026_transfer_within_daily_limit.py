"""XFER-5, XFER-8, LEDGER-7 (dbprobe27 F8): a transfer fits its customer's daily limit in the
database too. As the app's role the review INSERTed a same-day transfer of 1,500,000円 for a
customer whose limit is 1,000,000円, without touching the limit row: the day's total became
1,510,345円. The limit rule lived only in Python (``services.limit_problem``,
``scheduled._refusal``); a bug there had no backstop.

``transfers_transfer_within_limit`` (new trigger, BEFORE INSERT OR UPDATE OF status ON
transfers_transfer; the app's role — the owner, a DBA loading records, is not bound), under
the customer's lock — their ``transfers_transferlimit`` row FOR UPDATE, which every service
takes first (``services._customer_lock``, the batch's claim), so this lock is already held
and costs no wait; a transfer without that row is refused (the services create it first):

* INSERT (振込 executed at once, or 予約 booked): the customer's 振込金額 executed or
  scheduled for the 振込日, plus this one, is at most the limit in force on the 振込日 —
  and, for a booking of a later day, also the limit in force on the booking day (受付日時 in
  Tokyo: a raise waiting for 0:00 counts from then for bookings too) — each capped by the
  bank maximum (振込の設定, else ``TRANSFERS_BANK_MAX_DAILY_LIMIT`` as at this migration).
  That is ``limit_problem``: ``transfer_day_total`` + amount against
  ``daily_limit_in_force`` (``TransferLimit.limit_on``: ``pending_limit`` from
  ``pending_from``, else ``daily_limit``). The row being inserted is not yet there.
* scheduled → executed (the nightly batch): the 振込金額 already executed for the 振込日
  (not this row), plus this one, is at most the limit in force on the 振込日 capped by the
  bank maximum now — ``scheduled._refusal``'s 限度額超過, which the batch gives first.

One indexed aggregate (``transfer_day_idx``: customer, 振込日, status). CI225.

SQL functions/triggers: CREATE FUNCTION public.transfers_transfer_within_limit(), CREATE
TRIGGER transfers_transfer_within_limit. Nothing replaced.
"""

import importlib

from django.conf import settings
from django.db import migrations

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")


def _limit_on(day: str) -> str:
    """``TransferLimit.limit_on(day)`` of the locked row ``l``."""
    return (f"CASE WHEN l.pending_limit IS NOT NULL AND l.pending_from <= {day}"
            " THEN l.pending_limit ELSE l.daily_limit END")


FORWARD = f"""
CREATE FUNCTION public.transfers_transfer_within_limit() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    l record;
    v_booked date;
    v_limit bigint;
    v_used bigint;
BEGIN
    IF NOT {loadable.not_owner()} THEN
        RETURN NEW;  -- the owner: a DBA loading records
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status NOT IN ('executed', 'scheduled') THEN
            RETURN NEW;  -- refused by transfers_transfer_insert_guard (CI202)
        END IF;
    ELSIF NOT (OLD.status = 'scheduled' AND NEW.status = 'executed') THEN
        RETURN NEW;
    END IF;
    -- the customer's lock, as the services take it
    SELECT t.daily_limit, t.pending_limit, t.pending_from INTO l
      FROM public.transfers_transferlimit t WHERE t.customer_id = NEW.customer_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'transfer: customer % has no transfer limit row (the customer''s lock)', NEW.customer_id
            USING ERRCODE = 'CI225';
    END IF;
    v_limit := least({_limit_on("NEW.transfer_date")},
                     coalesce((SELECT s.bank_max_daily_limit FROM public.transfers_transfersettings s WHERE s.id = 1),
                              {int(settings.TRANSFERS_BANK_MAX_DAILY_LIMIT)}));
    IF TG_OP = 'INSERT' THEN
        v_booked := (NEW.created_at AT TIME ZONE 'Asia/Tokyo')::date;
        IF v_booked < NEW.transfer_date THEN  -- a booking: a raise not yet in force counts from 0:00
            v_limit := least(v_limit, {_limit_on("v_booked")});
        END IF;
        SELECT coalesce(sum(d.amount), 0) INTO v_used FROM public.transfers_transfer d
         WHERE d.customer_id = NEW.customer_id AND d.transfer_date = NEW.transfer_date
           AND d.status IN ('executed', 'scheduled');
    ELSE
        SELECT coalesce(sum(d.amount), 0) INTO v_used FROM public.transfers_transfer d
         WHERE d.customer_id = NEW.customer_id AND d.transfer_date = NEW.transfer_date
           AND d.status = 'executed' AND d.id <> NEW.id;
    END IF;
    IF v_used + NEW.amount > v_limit THEN
        RAISE EXCEPTION 'transfer: % yen on % over customer %''s daily limit (% yen, % yen already)',
            NEW.amount, NEW.transfer_date, NEW.customer_id, v_limit, v_used USING ERRCODE = 'CI225';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_transfer_within_limit
    BEFORE INSERT OR UPDATE OF status ON public.transfers_transfer
    FOR EACH ROW EXECUTE FUNCTION public.transfers_transfer_within_limit();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_transfer_within_limit ON public.transfers_transfer;
DROP FUNCTION IF EXISTS public.transfers_transfer_within_limit();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0025_transfer_fee_is_its_schedules")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
