"""NOTE-1, NOTE-2, LEDGER-7 (outside review dbprobe30 F7): no notice goes to an address the
same transaction set.

CI240 (0015, 0017) refuses a transaction that changes a customer's address and changes it
back, in any letter case. "Back" by plus-addressing is another string: the review set the
address to the attacker's, wrote a ご出金 mail to it, and set it to
``yamada+ib@example.jp`` — the customer's own inbox at most providers — and the worker sent
the mail to the attacker. Whatever the final address, the harm is the mail in between.

The service never writes a notice in the transaction that changes the address: a change
is its own step (``email_change_confirm``, staff's change), and what it mails there is the
change itself — ``email_change`` to the old and new address — and before it the
``email_verify`` code to the new one. So ``notifications_outbox_not_to_a_new_address``
(BEFORE INSERT on the outbox, the app's role — the owner is not bound), CI244: a mail of
any other event to an address this transaction made the customer's
(``notifications_emailaddresschange``, its ``new_email``, compared as the app compares,
in any letter case) is refused.

SQL functions/triggers: CREATE FUNCTION public.notifications_outbox_not_to_a_new_address(),
CREATE TRIGGER notifications_outbox_not_to_a_new_address. Nothing replaced.
"""

import importlib

from django.db import migrations

DELIVERY_HELD = importlib.import_module("notifications.migrations.0014_mail_delivery_held")

FORWARD = f"""
CREATE FUNCTION public.notifications_outbox_not_to_a_new_address() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF session_user <> {DELIVERY_HELD.OWNER}
       AND NEW."to" <> '' AND NEW.event NOT IN ('email_change', 'email_verify')
       AND EXISTS (SELECT 1 FROM public.notifications_emailaddresschange h
                    WHERE h.customer_id = NEW.customer_id AND lower(h.new_email) = lower(NEW."to")
                      AND h.xact_id = pg_current_xact_id()::text::bigint) THEN
        RAISE EXCEPTION 'mail (%) of customer % to %, an address this transaction made theirs',
            NEW.event, NEW.customer_id, NEW."to" USING ERRCODE = 'CI244';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER notifications_outbox_not_to_a_new_address
    BEFORE INSERT ON public.notifications_outboxmessage
    FOR EACH ROW EXECUTE FUNCTION public.notifications_outbox_not_to_a_new_address();
"""

REVERSE = """
DROP TRIGGER IF EXISTS notifications_outbox_not_to_a_new_address ON public.notifications_outboxmessage;
DROP FUNCTION IF EXISTS public.notifications_outbox_not_to_a_new_address();
"""


class Migration(migrations.Migration):

    dependencies = [("notifications", "0019_skipped_only_as_the_service_skips")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
