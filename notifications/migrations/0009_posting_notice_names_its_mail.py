"""NOTE-1, NOTE-3, LEDGER-7 (dbprobe25 F5): a 入出金 notice is processed into ITS mail —
0007 let ``processed_at`` / ``message`` be set once but never asked what to: the app's role
marked a pending notice processed with no mail, or with a skipped 'login' mail of another
customer, and the customer's fraud alarm (the ご入金／ご出金 mail) was gone with no trace.

When the app's role marks a notice processed (CI204, as 0007), either

* no mail: only for an entry that is loaded history — its journal written more than an
  hour after its 取引日時 (``services.BACKDATED_HISTORY``; ``journal.created_at`` is the
  ledger's clock), or
* the mail ``posting_notices_process`` writes for it: a mail of the account's customer, of
  the event ``deposit`` for a credit and ``withdrawal`` for a debit, written by this same
  transaction (``transfers_row_of_this_xact``, transfers 0012), named by no other notice,
  and addressed as ``_outbox_write`` does — to the customer's address (送信対象外 only when
  the customer switched 入出金のお知らせ off), or to no one and 送信対象外 (no usable
  address).

The owner (a DBA loading records) is bound by 0007's rules only, as in transfers 0012.
"""

from django.db import migrations

from ._function_text import extended, function_of

# what 0009 adds to 0007's guard, after its checks and before its last RETURN
DECLARATIONS = """    v_customer bigint;
    v_email text;
    v_event text;
    m record;
"""

CHECKS = """    IF session_user = pg_get_userbyid((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID)) THEN
        RETURN NEW;  -- the owner: a DBA loading records
    END IF;
    IF NEW.message_id IS NULL THEN
        IF NOT EXISTS (SELECT 1 FROM public.accounts_entry e JOIN public.accounts_journal j ON j.id = e.journal_id
                        WHERE e.id = NEW.entry_id AND j.created_at - e.posted_at > interval '1 hour') THEN
            RAISE EXCEPTION 'posting notice %: processed without a mail, but its entry is not loaded history',
                OLD.id USING ERRCODE = 'CI204';
        END IF;
        RETURN NEW;
    END IF;
    v_event := CASE WHEN NEW.amount > 0 THEN 'deposit' ELSE 'withdrawal' END;  -- the service's choice
    SELECT a.customer_id, c.email INTO v_customer, v_email
      FROM public.accounts_account a JOIN public.accounts_customer c ON c.id = a.customer_id
     WHERE a.id = NEW.account_id;
    SELECT o.xmin, o.customer_id, o.event, o."to", o.status INTO m
      FROM public.notifications_outboxmessage o WHERE o.id = NEW.message_id;
    IF NOT FOUND OR m.customer_id IS DISTINCT FROM v_customer
       OR m.event IS DISTINCT FROM v_event
       OR NOT public.transfers_row_of_this_xact(m.xmin)
       OR EXISTS (SELECT 1 FROM public.notifications_postingnotice p
                   WHERE p.message_id = NEW.message_id AND p.id <> NEW.id)
       OR NOT ((m."to" = '' AND m.status = 'skipped')
               OR (m."to" = v_email AND (m.status = 'pending' OR EXISTS (
                       SELECT 1 FROM public.notifications_noticepreference np
                        WHERE np.customer_id = v_customer AND NOT np.postings)))) THEN
        RAISE EXCEPTION 'posting notice %: mail % is not its % mail to customer %, written with it',
            OLD.id, NEW.message_id, v_event, v_customer
            USING ERRCODE = 'CI204';
    END IF;
"""


GUARD = function_of("0007_sent_notices_held.py", "notifications_posting_notice_guard")


class Migration(migrations.Migration):

    dependencies = [("notifications", "0008_notice_inserts_held"), ("transfers", "0012_transfer_confirmed_by_its_customer")]

    operations = [migrations.RunSQL(extended(GUARD, declarations=DECLARATIONS, checks=CHECKS), GUARD)]
