"""NOTE-1: every entry on a customer account queues its 入出金 notice, in the posting's own
transaction, from the one place every journal passes (the entry insert inside
``ledger_post``). The function is plain (not SECURITY DEFINER, no search_path of its own)
and names its tables schema-qualified, so it behaves the same whichever role runs
``ledger_post``."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.notifications_entry_notice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM public.accounts_account a
                WHERE a.id = NEW.account_id AND a.purpose = 'customer') THEN
        INSERT INTO public.notifications_postingnotice (entry_id, account_id, amount, created_at)
        VALUES (NEW.id, NEW.account_id, NEW.amount, clock_timestamp());
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER notifications_entry_notice
    AFTER INSERT ON public.accounts_entry
    FOR EACH ROW EXECUTE FUNCTION public.notifications_entry_notice();
"""

REVERSE = """
DROP TRIGGER IF EXISTS notifications_entry_notice ON public.accounts_entry;
DROP FUNCTION IF EXISTS public.notifications_entry_notice();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0003_emailchangerequest_noticepreference_postingnotice"),
        ("accounts", "0009_closed_account_is_empty"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
