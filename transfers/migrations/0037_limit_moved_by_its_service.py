"""XFER-8, STAFF-1, LEDGER-7 (outside review dbprobe30 F4): the daily limit and the bank
maximum move only as their services move them.

As the app's role the review raised the bank maximum to 10億円 and customer 1's
``daily_limit`` to 10億円 (``pending_*`` NULL) in one transaction, with no audit row and no
mail: the limit was in force at once, and CI225 (0026) and CI234 (0036), which hold the day's
total against it, held nothing. The service's rule (``transfer_limit_change``): a cut applies
at once, a raise waits until 0:00 of the next day, audited and mailed; the maximum is staff's
(admin, ``staff_transfer_settings`` audit row with the staff user as actor).

For the app's role (the owner, a DBA, is not bound), while ``transfers_limit_rules_held()``
(true; the test database relaxes it as notifications 0018 does CI242, and the tests of these
rules put it back — ``limit_rules_strict``), by the database's clock in Tokyo widened by
``cosei_clock_slack()``:

* ``transfers_transferlimit_moved`` (BEFORE INSERT OR UPDATE, CI235):
  - a new row has no raise waiting and ``daily_limit`` at most the bank's default
    (``DEFAULT_DAILY_LIMIT``, settings.TRANSFERS_DEFAULT_DAILY_LIMIT when this was written:
    the row ``_customer_lock`` / the batch makes; a DBA changes the function with the setting);
  - ``daily_limit`` goes up only by taking the row's waiting raise on or after its
    ``pending_from`` (the lazy move on a later change), and to at most that raise (a cut the
    same change makes can stop below it);
  - a raise written (``pending_limit`` / ``pending_from`` changed, not NULL) waits until a
    day after today;
* ``transfers_transferlimit_audited`` (constraint trigger AFTER UPDATE, DEFERRABLE INITIALLY
  DEFERRED, CI235): a change of ``daily_limit``, ``pending_limit`` or ``pending_from`` other
  than the bare move of a due raise into ``daily_limit`` has, by commit, the customer's
  ``limit_change`` success audit row written by the same transaction;
* ``transfers_transfersettings_by_staff`` (constraint trigger AFTER INSERT OR UPDATE OF
  bank_max_daily_limit, DEFERRABLE INITIALLY DEFERRED, CI236): the bank maximum is written
  only with the admin's ``staff_transfer_settings`` success audit row of the same
  transaction, naming the new maximum (「利用限度額の上限 <n>円」, ``TransferSettings.__str__``),
  by an active staff user.

"Of the same transaction": ``transfers_row_of_this_xact`` (0012) and ``recorded_at``
(security 0009) not before it began, as security 0014.

SQL functions/triggers: CREATE FUNCTION public.transfers_limit_rules_held(),
public.transfers_transferlimit_moved(), public.transfers_transferlimit_audited(),
public.transfers_transfersettings_by_staff(); CREATE TRIGGER transfers_transferlimit_moved;
CREATE CONSTRAINT TRIGGER transfers_transferlimit_audited, transfers_transfersettings_by_staff.
Nothing replaced.
"""

import importlib

from django.db import migrations

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

DEFAULT_DAILY_LIMIT = 1_000_000  # settings.TRANSFERS_DEFAULT_DAILY_LIMIT when this was written

OF_THIS_XACT = "a.recorded_at >= now() AND public.transfers_row_of_this_xact(a.xmin)"
BOUND = f"NOT {loadable.not_owner()} OR NOT public.transfers_limit_rules_held()"

FORWARD = f"""
CREATE FUNCTION public.transfers_limit_rules_held() RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$ BEGIN RETURN true; END $$;

CREATE FUNCTION public.transfers_transferlimit_moved() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_first constant date := ((clock_timestamp() - public.cosei_clock_slack()) AT TIME ZONE 'Asia/Tokyo')::date;
    v_last constant date := ((clock_timestamp() + public.cosei_clock_slack()) AT TIME ZONE 'Asia/Tokyo')::date;
BEGIN
    IF {BOUND} THEN
        RETURN NEW;  -- the owner: a DBA
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.pending_limit IS NOT NULL OR NEW.daily_limit > {DEFAULT_DAILY_LIMIT} THEN
            RAISE EXCEPTION 'transfer limit of customer %: a new row has the default limit (at most %) and no raise',
                NEW.customer_id, {DEFAULT_DAILY_LIMIT} USING ERRCODE = 'CI235';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.daily_limit > OLD.daily_limit
       AND NOT (OLD.pending_limit IS NOT NULL AND OLD.pending_from <= v_last AND NEW.daily_limit <= OLD.pending_limit) THEN
        RAISE EXCEPTION 'transfer limit of customer %: % -> % at once (a raise waits as pending_limit until pending_from)',
            NEW.customer_id, OLD.daily_limit, NEW.daily_limit USING ERRCODE = 'CI235';
    END IF;
    IF NEW.pending_limit IS NOT NULL
       AND (NEW.pending_limit, NEW.pending_from) IS DISTINCT FROM (OLD.pending_limit, OLD.pending_from)
       AND NEW.pending_from <= v_first THEN
        RAISE EXCEPTION 'transfer limit of customer %: a raise to % written from % (it waits until a later day than today, %)',
            NEW.customer_id, NEW.pending_limit, NEW.pending_from, v_first USING ERRCODE = 'CI235';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_transferlimit_moved
    BEFORE INSERT OR UPDATE ON public.transfers_transferlimit
    FOR EACH ROW EXECUTE FUNCTION public.transfers_transferlimit_moved();

CREATE FUNCTION public.transfers_transferlimit_audited() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_last constant date := ((clock_timestamp() + public.cosei_clock_slack()) AT TIME ZONE 'Asia/Tokyo')::date;
BEGIN
    IF {BOUND} THEN
        RETURN NULL;  -- the owner: a DBA
    END IF;
    IF OLD.pending_limit IS NOT NULL AND OLD.pending_from <= v_last AND NEW.daily_limit = OLD.pending_limit
       AND NEW.pending_limit IS NULL AND NEW.pending_from IS NULL THEN
        RETURN NULL;  -- a due raise moved into force, nothing else
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.security_auditevent a
                    WHERE a.customer_id = NEW.customer_id AND a.action = 'limit_change' AND a.outcome = 'success'
                      AND {OF_THIS_XACT}) THEN
        RAISE EXCEPTION 'transfer limit of customer %: changed (% / % from %) without the limit_change audit row of its transaction',
            NEW.customer_id, NEW.daily_limit, NEW.pending_limit, NEW.pending_from USING ERRCODE = 'CI235';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER transfers_transferlimit_audited
    AFTER UPDATE ON public.transfers_transferlimit DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN ((OLD.daily_limit, OLD.pending_limit, OLD.pending_from)
                       IS DISTINCT FROM (NEW.daily_limit, NEW.pending_limit, NEW.pending_from))
    EXECUTE FUNCTION public.transfers_transferlimit_audited();

CREATE FUNCTION public.transfers_transfersettings_by_staff() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {BOUND} THEN
        RETURN NULL;  -- the owner: a DBA
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.security_auditevent a
                     JOIN public.auth_user u ON u.username = a.actor AND u.is_staff AND u.is_active
                    WHERE a.action = 'staff_transfer_settings' AND a.outcome = 'success' AND a.customer_id IS NULL
                      AND a.summary LIKE '%利用限度額の上限 ' || to_char(NEW.bank_max_daily_limit, 'FM999,999,999,999,999') || '円%'
                      AND {OF_THIS_XACT}) THEN
        RAISE EXCEPTION 'bank maximum daily limit %: written without the staff audit row (staff_transfer_settings) of its transaction',
            NEW.bank_max_daily_limit USING ERRCODE = 'CI236';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER transfers_transfersettings_by_staff
    AFTER INSERT OR UPDATE OF bank_max_daily_limit ON public.transfers_transfersettings DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.transfers_transfersettings_by_staff();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_transfersettings_by_staff ON public.transfers_transfersettings;
DROP FUNCTION IF EXISTS public.transfers_transfersettings_by_staff();
DROP TRIGGER IF EXISTS transfers_transferlimit_audited ON public.transfers_transferlimit;
DROP FUNCTION IF EXISTS public.transfers_transferlimit_audited();
DROP TRIGGER IF EXISTS transfers_transferlimit_moved ON public.transfers_transferlimit;
DROP FUNCTION IF EXISTS public.transfers_transferlimit_moved();
DROP FUNCTION IF EXISTS public.transfers_limit_rules_held();
"""


class Migration(migrations.Migration):

    # security 0009 (recorded_at) is read when a row is written, not here: depending on it
    # would reorder a fresh database's migrations
    dependencies = [("transfers", "0036_seed_only_for_a_new_customer")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
