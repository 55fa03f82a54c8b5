"""NOTE-1, NOTE-3, LEDGER-7: a notice is born as the services write it — 0007 held its
updates and deletes, but the app's role could still INSERT a mail already 送信済 (dated
a month back: evidence of a notice never sent) or a 入出金 notice of any amount on any
account (the outside review, as the app's role). CI204, as 0007.

* ``notifications_outboxmessage``: a new row is 未送信 or 送信対象外, never tried
  (attempts 0) and never sent (no ``sent_at``) — what ``notice_enqueue`` and the
  scheduled batch write; the delivery moves on under 0007's rules.
* ``notifications_postingnotice``: a row names an entry of a customer account with that
  entry's account and amount, is unprocessed, and is dated by the database — exactly the
  row the ledger's own trigger writes; since an entry has one notice (unique), the app can
  add none the ledger did not.

``created_at`` of a mail stays the app's (tests travel in time through it).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.notifications_outbox_insert_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NEW.status NOT IN ('pending', 'skipped') OR NEW.attempts <> 0 OR NEW.sent_at IS NOT NULL THEN
        RAISE EXCEPTION 'a new mail is pending or skipped, never tried or sent (status %, attempts %)',
            NEW.status, NEW.attempts USING ERRCODE = 'CI204';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER notifications_outbox_insert_guard
    BEFORE INSERT ON public.notifications_outboxmessage
    FOR EACH ROW EXECUTE FUNCTION public.notifications_outbox_insert_guard();

CREATE FUNCTION public.notifications_posting_notice_insert_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NEW.processed_at IS NOT NULL OR NEW.message_id IS NOT NULL OR NOT EXISTS (
           SELECT 1 FROM public.accounts_entry e JOIN public.accounts_account a ON a.id = e.account_id
            WHERE e.id = NEW.entry_id AND e.account_id = NEW.account_id AND e.amount = NEW.amount
              AND a.purpose = 'customer') THEN
        RAISE EXCEPTION 'a posting notice is the ledger''s: entry %, its account and amount, unprocessed',
            NEW.entry_id USING ERRCODE = 'CI204';
    END IF;
    NEW.created_at := clock_timestamp();
    RETURN NEW;
END $$;

CREATE TRIGGER notifications_posting_notice_insert_guard
    BEFORE INSERT ON public.notifications_postingnotice
    FOR EACH ROW EXECUTE FUNCTION public.notifications_posting_notice_insert_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS notifications_posting_notice_insert_guard ON public.notifications_postingnotice;
DROP FUNCTION IF EXISTS public.notifications_posting_notice_insert_guard();
DROP TRIGGER IF EXISTS notifications_outbox_insert_guard ON public.notifications_outboxmessage;
DROP FUNCTION IF EXISTS public.notifications_outbox_insert_guard();
"""


class Migration(migrations.Migration):

    dependencies = [("notifications", "0007_sent_notices_held"), ("accounts", "0016_suspend_ib_permission")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
