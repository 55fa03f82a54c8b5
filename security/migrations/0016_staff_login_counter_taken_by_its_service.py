"""SEC-8, STAFF-1, LEDGER-7 (outside review dbprobe30 F5, dbprobe28 F5): a staff user's admin
login count and lock move only as the staff login and the superuser's unlock move them.

``security_stafflogincounter`` had no rule. One INSERT as the app's role locked every staff
user out of admin — staff01 with the right password and code read 「ロック中」, and the demo
has no superuser to lift it — with no audit row; ``SET failures = 0`` at will would let an
online guesser try a staff password without end. What the services write
(security/staff_admin.py):

* ``staff_login_authenticate``: the counter row created at 0 (``get_or_create``); a failed
  sign-in adds one, and the fifth (``STAFF_LOGIN_MAX_FAILURES``) sets ``locked_at``, with the
  ``staff_login`` failure audit row of that user (``actor``); a success puts a count back to
  0 with the ``staff_login`` success row of that user;
* ``staff_login_unlock`` (superusers, admin): count 0 and no lock, with the
  ``staff_login_unlock`` success row naming the user (「<username>（連続失敗…」) and who
  lifted it (``actor``).

``security_stafflogincounter_taken_by_its_service`` (deferred to the commit, for the app's
role, CI309): a counter is INSERTed at 0 and unlocked; an UPDATE either adds one — with the
user's ``staff_login`` failure row of the transaction, and ``locked_at`` set only from no
lock at the limit — or puts it back to 0 and unlocked, with the user's ``staff_login``
success row (from no lock) or a ``staff_login_unlock`` row naming the user; a DELETE only
with the user (Django's cascade when a superuser deletes a staff user). The owner (a DBA)
is not bound. The audit rows can still be written by the app's role itself: the change is
no longer silent — it shows in 操作ログ.

SQL functions/triggers: CREATE FUNCTION public.security_stafflogincounter_taken_by_its_service(),
CREATE CONSTRAINT TRIGGER security_stafflogincounter_taken_by_its_service. Nothing replaced.
"""

import importlib

from django.db import migrations

TIMESTAMPS = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

MAX_FAILURES = 5  # security.staff_admin.STAFF_LOGIN_MAX_FAILURES as of this migration


def audited(where: str) -> str:
    """SQL: this transaction wrote a staff audit row ``where`` (``v_user``: the counter's user)."""
    return ("EXISTS (SELECT 1 FROM public.security_auditevent a WHERE a.customer_id IS NULL"
            f" AND {where} AND a.recorded_at >= now() AND public.transfers_row_of_this_xact(a.xmin))")


FAILED = audited("a.action = 'staff_login' AND a.outcome = 'failure' AND a.actor = v_user")
SUCCEEDED = audited("a.action = 'staff_login' AND a.outcome = 'success' AND a.actor = v_user")
UNLOCKED = audited("a.action = 'staff_login_unlock' AND a.outcome = 'success' AND a.actor <> ''"
                   " AND a.summary LIKE v_user || '（%'")

FORWARD = f"""
CREATE FUNCTION public.security_stafflogincounter_taken_by_its_service() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_user text;
    v_problem text;
BEGIN
    IF NOT {TIMESTAMPS.not_owner()} THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM public.auth_user u WHERE u.id = OLD.user_id) THEN
            RAISE EXCEPTION 'staff login counter of user %: removed only with its user', OLD.user_id
                USING ERRCODE = 'CI309';
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.failures = OLD.failures AND NEW.locked_at IS NOT DISTINCT FROM OLD.locked_at THEN
        RETURN NULL;
    END IF;
    SELECT u.username INTO v_user FROM public.auth_user u WHERE u.id = NEW.user_id;
    IF v_user IS NULL THEN
        RETURN NULL;  -- the user was deleted in this transaction, and the counter with it
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.failures <> 0 OR NEW.locked_at IS NOT NULL THEN
            v_problem := 'a counter starts at 0, unlocked';
        END IF;
    ELSIF NEW.failures = OLD.failures + 1 THEN
        IF NOT ({FAILED}) THEN
            v_problem := 'a failure is counted with the staff_login failure audit row of its user';
        ELSIF NEW.locked_at IS DISTINCT FROM OLD.locked_at
              AND NOT (OLD.locked_at IS NULL AND NEW.failures >= {MAX_FAILURES}) THEN
            v_problem := 'a lock is set at the {MAX_FAILURES}th failure, and only lifted by the unlock';
        END IF;
    ELSIF NEW.failures = 0 AND NEW.locked_at IS NULL THEN
        IF NOT ({UNLOCKED}) AND (OLD.locked_at IS NOT NULL OR NOT ({SUCCEEDED})) THEN
            v_problem := 'a count goes back to 0 with the user''s staff_login success, a lock with staff_login_unlock';
        END IF;
    ELSE
        v_problem := 'a count moves by one, or back to 0 and unlocked';
    END IF;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'staff login counter of %: %', v_user, v_problem USING ERRCODE = 'CI309';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER security_stafflogincounter_taken_by_its_service
    AFTER INSERT OR UPDATE OR DELETE ON public.security_stafflogincounter DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.security_stafflogincounter_taken_by_its_service();
"""

REVERSE = """
DROP TRIGGER IF EXISTS security_stafflogincounter_taken_by_its_service ON public.security_stafflogincounter;
DROP FUNCTION IF EXISTS public.security_stafflogincounter_taken_by_its_service();
"""


class Migration(migrations.Migration):

    dependencies = [("security", "0015_factors_and_ib_status_taken_by_their_service")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
