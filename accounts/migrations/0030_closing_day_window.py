"""LEDGER-6, STAFF-1 (outside review dbprobe26 F14): the bank's own closing days (臨時休業日)
are a bounded set. The app's role INSERTed 2.9 million rows (every day from tomorrow to
9999-12-31): ``bankcalendar.closing_days()`` then took 9.7 s and 2.3 GB in every process
each minute, and ``next_business_day`` walked 547 s into an OverflowError (settlement_day,
every 予約 and 仕向 with it).

On INSERT, and on an UPDATE of the date (CI112, whoever writes):

* the date lies between today − 1 year and today + 3 years by the database's clock in
  Asia/Tokyo (admin takes tomorrow … about two years ahead, accounts.services);
* at most ``CLOSING_DAYS_MAX`` rows are dated from today − 1 year on (the days in force:
  a few a year; admin says so in Japanese before it gets here). Inserts are serialised by
  a transaction-level advisory lock, so two at once do not both take the last place.
"""

from django.db import migrations

CLOSING_DAYS_MAX = 100  # accounts.services.CLOSING_DAYS_MAX when this was written

FORWARD = f"""
CREATE FUNCTION public.accounts_closing_day_window() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_today constant date := (clock_timestamp() AT TIME ZONE 'Asia/Tokyo')::date;
    v_count bigint;
BEGIN
    IF NEW.date IS NULL OR NEW.date < v_today - interval '1 year' OR NEW.date > v_today + interval '3 years' THEN
        RAISE EXCEPTION 'closing day %: outside % - 1 year .. + 3 years', NEW.date, v_today
            USING ERRCODE = 'CI112';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('accounts_bankclosingday'));
    SELECT count(*) INTO v_count FROM public.accounts_bankclosingday d
     WHERE d.date >= v_today - interval '1 year' AND d.id IS DISTINCT FROM NEW.id;
    IF v_count >= {CLOSING_DAYS_MAX} THEN
        RAISE EXCEPTION 'closing day %: already {CLOSING_DAYS_MAX} closing days in force', NEW.date
            USING ERRCODE = 'CI112';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER accounts_closing_day_window
    BEFORE INSERT OR UPDATE OF date ON public.accounts_bankclosingday
    FOR EACH ROW EXECUTE FUNCTION public.accounts_closing_day_window();
"""

REVERSE = """
DROP TRIGGER IF EXISTS accounts_closing_day_window ON public.accounts_bankclosingday;
DROP FUNCTION IF EXISTS public.accounts_closing_day_window();
"""


class Migration(migrations.Migration):

    dependencies = [("accounts", "0029_merge_closing_days_and_internal_account_guards")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
