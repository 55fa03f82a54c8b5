"""NOTE-2, LEDGER-7 (outside review dbprobe32 F2): a choice of notices stays its customer's.

``UPDATE notifications_noticepreference SET customer_id = <victim>`` as the app's role moved a
row of choices (入出金 and 受付 off) to another customer with no step-up, audit row or mail:
the history trigger (0011, ``notifications_preference_change_record``) compares the choices
before and after, which a change of customer leaves equal, so it wrote no history row and
CI311 (0022), which hangs on that history, never ran. The victim's notices went off silently.

No path of the app moves a choice (``notice_preference_change``: ``get_or_create`` then an
UPDATE of the choices; Django's save writes ``customer_id`` unchanged). For the app's role
(the owner, a DBA, is not bound), ``notifications_noticepreference_customer_held`` (BEFORE
UPDATE), CI313: a choice row's ``customer_id`` is set only by its INSERT — as accounts 0037's
CI312 holds a customer's login.

SQL functions/triggers: CREATE FUNCTION public.notifications_noticepreference_customer_held(),
CREATE TRIGGER notifications_noticepreference_customer_held. Nothing replaced.
"""

import importlib

from django.db import migrations

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

FORWARD = f"""
CREATE FUNCTION public.notifications_noticepreference_customer_held() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {loadable.not_owner()} THEN
        RAISE EXCEPTION 'choice of notices %: its customer (%) is set only when it is created',
            OLD.id, OLD.customer_id USING ERRCODE = 'CI313';
    END IF;
    RETURN NEW;  -- the owner: a DBA
END $$;

CREATE TRIGGER notifications_noticepreference_customer_held
    BEFORE UPDATE OF customer_id ON public.notifications_noticepreference
    FOR EACH ROW WHEN (NEW.customer_id IS DISTINCT FROM OLD.customer_id)
    EXECUTE FUNCTION public.notifications_noticepreference_customer_held();
"""

REVERSE = """
DROP TRIGGER IF EXISTS notifications_noticepreference_customer_held ON public.notifications_noticepreference;
DROP FUNCTION IF EXISTS public.notifications_noticepreference_customer_held();
"""


class Migration(migrations.Migration):

    dependencies = [("notifications", "0022_address_and_choices_taken_by_their_service")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
