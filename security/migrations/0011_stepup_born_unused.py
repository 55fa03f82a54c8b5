"""SEC-7, SEC-14, LEDGER-7 (dbprobe25 F12): a step-up is born unanswered — 0008 held every
step after the INSERT, but the app's role could INSERT one already verified and used (the
outside review, as the app's role). The transfers and Pay-easy guards (transfers 0012,
payeasy 0005) take "a step-up of the customer, verified and used in this transaction" as
the mark of a confirmation; that mark must come from the one conditional UPDATE of
``security.stepup._stepup_mark_used``, never from the INSERT. ``stepup_begin`` inserts
with both empty. CI301, as 0008."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.security_stepup_insert_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NEW.verified_at IS NOT NULL OR NEW.used_at IS NOT NULL THEN
        RAISE EXCEPTION 'step-up: it is born unanswered (verified and used later, once)' USING ERRCODE = 'CI301';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER security_stepup_insert_guard
    BEFORE INSERT ON public.security_stepup
    FOR EACH ROW EXECUTE FUNCTION public.security_stepup_insert_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS security_stepup_insert_guard ON public.security_stepup;
DROP FUNCTION IF EXISTS public.security_stepup_insert_guard();
"""


class Migration(migrations.Migration):

    dependencies = [("security", "0010_audit_recorded_index")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
