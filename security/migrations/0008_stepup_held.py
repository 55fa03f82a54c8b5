"""SEC-7, SEC-14, LEDGER-7: a step-up is the customer's authorisation of one operation, used
once — the app's role could set a consumed one's ``used_at`` back to NULL with a later
expiry and run its operation again, or rewrite what it authorised (the outside review, as
the app's role). The database holds what the code already does (``security/stepup.py``):

* 契約者, 取引, 内容, 内容ハッシュ, 作成日時 and 有効期限 never change;
* 認証方法 changes only before the answer is verified (the guide's factor instead of a
  passkey, ``stepup_use_guide_factor``);
* 認証日時 and 実行日時 are set once and never change or go back to empty; a step-up is used
  only when verified;
* a used step-up (evidence of an executed operation) is never deleted.

CI301. Row triggers only: the owner's flush between tests (TRUNCATE) is as before.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.security_stepup_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_progress constant text[] := ARRAY['method', 'verified_at', 'used_at'];
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.used_at IS NOT NULL THEN
            RAISE EXCEPTION 'step-up % was used: it is never deleted', OLD.id USING ERRCODE = 'CI301';
        END IF;
        RETURN OLD;
    END IF;
    IF to_jsonb(NEW) - v_progress IS DISTINCT FROM to_jsonb(OLD) - v_progress THEN
        RAISE EXCEPTION 'step-up %: what it authorises never changes', OLD.id USING ERRCODE = 'CI301';
    END IF;
    IF (NEW.method IS DISTINCT FROM OLD.method AND OLD.verified_at IS NOT NULL)
       OR (OLD.verified_at IS NOT NULL AND NEW.verified_at IS DISTINCT FROM OLD.verified_at)
       OR (OLD.used_at IS NOT NULL AND NEW.used_at IS DISTINCT FROM OLD.used_at)
       OR (NEW.used_at IS NOT NULL AND NEW.verified_at IS NULL) THEN
        RAISE EXCEPTION 'step-up %: verified and used once, never undone', OLD.id USING ERRCODE = 'CI301';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER security_stepup_guard
    BEFORE UPDATE OR DELETE ON public.security_stepup
    FOR EACH ROW EXECUTE FUNCTION public.security_stepup_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS security_stepup_guard ON public.security_stepup;
DROP FUNCTION IF EXISTS public.security_stepup_guard();
"""


class Migration(migrations.Migration):

    dependencies = [("security", "0007_merge_20261205_0312")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
