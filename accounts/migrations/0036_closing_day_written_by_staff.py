"""STAFF-1, LEDGER-6, XFER-12 (outside review dbprobe30 F6): a 臨時休業日 is added or deleted
by staff in admin, ahead of its day, with its audit row.

As the app's role the review INSERTed 100 closing days on the weekdays from today, with
``created_by`` 'staff01' and no audit row: the customer site was closed for months, and
every other-bank 振込 met CI221 (a 500 then; transfers.services maps it now). A DELETE of a
real future 臨時休業日 was allowed too and left no trace (仕向 records then settle on a day
the centre is closed). CI112 (0030) bounded only the window and the count.

For the app's role (the owner, a DBA, is not bound), CI114:

* ``accounts_closing_day_written_ahead`` (BEFORE INSERT OR UPDATE OR DELETE): no closing day dated
  today or earlier (Tokyo, the database's clock less ``cosei_clock_slack()``) is inserted
  or deleted — admin adds them from tomorrow, and a day that has begun was done as a closed
  day (``bank_closing_day_problem`` / ``bank_closing_day_delete``); a row is never UPDATEd
  (admin deletes and adds again);
* ``accounts_closing_day_by_staff`` (constraint trigger AFTER INSERT OR DELETE, DEFERRABLE
  INITIALLY DEFERRED: the service writes the row, then the audit row): by commit the same
  transaction wrote the admin's audit row of that day (``accounts.services.
  bank_closing_day_add`` / ``bank_closing_day_delete``): action ``staff_closing_day``,
  outcome ``success``, summary 「臨時休業日追加 <YYYY/MM/DD> …」 / 「臨時休業日削除 <YYYY/MM/DD> …」,
  actor an active staff user (``auth_user.username``) — for an INSERT the one named in
  ``created_by``. Of this transaction: ``transfers_row_of_this_xact`` (transfers 0012) and
  ``recorded_at`` (security 0009) not before it began, as security 0014.

SQL functions/triggers: CREATE FUNCTION public.accounts_closing_day_written_ahead(), CREATE TRIGGER
accounts_closing_day_written_ahead; CREATE FUNCTION public.accounts_closing_day_by_staff(), CREATE
CONSTRAINT TRIGGER accounts_closing_day_by_staff. Nothing replaced.
"""

import importlib

from django.db import migrations

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

FORWARD = f"""
CREATE FUNCTION public.accounts_closing_day_written_ahead() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_today constant date := ((clock_timestamp() - public.cosei_clock_slack()) AT TIME ZONE 'Asia/Tokyo')::date;
BEGIN
    IF NOT {loadable.not_owner()} THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;  -- the owner: a DBA
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'closing day %: a closing day is not changed (delete it and add another)', OLD.date
            USING ERRCODE = 'CI114';
    ELSIF TG_OP = 'DELETE' AND OLD.date <= v_today THEN
        RAISE EXCEPTION 'closing day %: a closing day of today or earlier is kept', OLD.date
            USING ERRCODE = 'CI114';
    ELSIF TG_OP = 'INSERT' AND NEW.date <= v_today THEN
        RAISE EXCEPTION 'closing day %: a closing day is added ahead of its day (today is %)', NEW.date, v_today
            USING ERRCODE = 'CI114';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER accounts_closing_day_written_ahead
    BEFORE INSERT OR UPDATE OR DELETE ON public.accounts_bankclosingday
    FOR EACH ROW EXECUTE FUNCTION public.accounts_closing_day_written_ahead();

CREATE FUNCTION public.accounts_closing_day_by_staff() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_date date := CASE WHEN TG_OP = 'DELETE' THEN OLD.date ELSE NEW.date END;
    v_summary text := CASE WHEN TG_OP = 'DELETE' THEN '臨時休業日削除 ' ELSE '臨時休業日追加 ' END
                      || to_char(v_date, 'YYYY/MM/DD') || ' %';
BEGIN
    IF NOT {loadable.not_owner()} THEN
        RETURN NULL;  -- the owner: a DBA
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.security_auditevent a
                     JOIN public.auth_user u ON u.username = a.actor AND u.is_staff AND u.is_active
                    WHERE a.action = 'staff_closing_day' AND a.outcome = 'success' AND a.customer_id IS NULL
                      AND a.summary LIKE v_summary
                      AND (TG_OP = 'DELETE' OR a.actor = NEW.created_by)
                      AND a.recorded_at >= now() AND public.transfers_row_of_this_xact(a.xmin)) THEN
        RAISE EXCEPTION 'closing day %: % without the staff audit row (staff_closing_day) of its transaction',
            v_date, lower(TG_OP) USING ERRCODE = 'CI114';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER accounts_closing_day_by_staff
    AFTER INSERT OR DELETE ON public.accounts_bankclosingday DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.accounts_closing_day_by_staff();
"""

REVERSE = """
DROP TRIGGER IF EXISTS accounts_closing_day_by_staff ON public.accounts_bankclosingday;
DROP FUNCTION IF EXISTS public.accounts_closing_day_by_staff();
DROP TRIGGER IF EXISTS accounts_closing_day_written_ahead ON public.accounts_bankclosingday;
DROP FUNCTION IF EXISTS public.accounts_closing_day_written_ahead();
"""


class Migration(migrations.Migration):

    # security 0009 and transfers 0012 are read when a closing day is written, not here:
    # depending on them would reorder a fresh database's migrations (transfers before the
    # accounts migrations it assumes)
    dependencies = [("accounts", "0035_customer_email_sendable")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
