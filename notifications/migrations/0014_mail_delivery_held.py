"""NOTE-1, NOTE-2, NOTE-3, LEDGER-7 (dbprobe26 F2, F3, F11): what the app's role could still
do to a customer's mail after 0007–0013.

* F2 — ``notifications_posting_notice_guard`` (0013's, replaced): a 入出金 notice may be
  processed into a 送信対象外 mail to no one only when the customer has no address the
  service could send to. 0009 accepted ``"to" = '' AND status = 'skipped'`` for any
  customer: a customer with yamada@example.jp got no ご出金 mail. "Could send to" is held
  by a pattern every address of which the service's ``address_is_sendable`` also sends to
  (plain dot-atom local part of at most 64 characters, a domain of letters, digits and
  hyphens with a TLD of letters): the guard never refuses the service's own mail; an
  address outside the pattern (which Ｅメール設定 never stores) may still go unsent.
* F3 — ``notifications_outbox_guard`` (0007's, replaced) and the insert guard (0010's,
  replaced), for the app's role:
  - a try moves ``attempts`` by one (a send, a failed try, 送信失敗), and only staff's 再送
    (送信失敗 → 未送信) puts it back to 0 — before, a mail could be kept at 0 tries for ever;
  - ``next_attempt_at`` is at most an hour past the database's clock on an update (the
    longest back-off, ``tasks.MAX_RETRY``) and not in the future on an insert — before,
    'infinity' parked a ご出金 mail that its notice named for ever;
  - a subject holds no control characters: a line break there made every outbox run stop
    at it (``tasks._message_cannot_be_built`` now fails it alone, too).
  Not held: that a mail marked 送信済 was really handed to the mail server — only a worker
  with a role of its own could prove that (docs/operations.md).
* F11 — ``notifications_email_verify_has_request`` (new, deferred to the commit): a code
  mail (``email_verify``) to an address other than the customer's goes to the new address
  of that customer's address-change request, and the request is still there when the
  transaction commits — the app's role wrote a request, the mail, and deleted the request,
  mailing anything to any address with no trace but the mail.

The owner (a DBA) is bound by 0007's and 0008's rules only, as before.

Functions replaced: notifications_posting_notice_guard, notifications_outbox_guard,
notifications_outbox_insert_guard. Created: notifications_email_verify_has_request.
"""

import importlib

from django.db import migrations

from ._function_text import extended, function_of

STATES_ITS_AMOUNT = importlib.import_module("notifications.migrations.0013_posting_mail_states_its_amount")
ADDRESS_HISTORY = importlib.import_module("notifications.migrations.0010_email_address_change_history")

OWNER = "pg_get_userbyid((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID))"

# an address the service always sends to (a subset of Django's validate_email)
SENDABLE = (r"^[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")

# --- F2 -------------------------------------------------------------------------------
NOTICE_0013 = STATES_ITS_AMOUNT.GUARD_0013
NO_ONE_BEFORE = """OR NOT ((m."to" = '' AND m.status = 'skipped')"""
NO_ONE_AFTER = f"""OR NOT ((m."to" = '' AND m.status = 'skipped'
                    AND NOT (length(v_email) <= 254 AND length(split_part(v_email, '@', 1)) <= 64
                             AND v_email ~ '{SENDABLE}'))"""
assert NOTICE_0013.count(NO_ONE_BEFORE) == 1, "not 0013's guard"
NOTICE_0014 = NOTICE_0013.replace(NO_ONE_BEFORE, NO_ONE_AFTER)

# --- F3 -------------------------------------------------------------------------------
OUTBOX_0007 = function_of("0007_sent_notices_held.py", "notifications_outbox_guard")
TRIES = f"""    IF session_user <> {OWNER} THEN
        IF NEW.attempts <> (CASE WHEN OLD.status = 'failed' AND NEW.status = 'pending' THEN 0
                                 ELSE OLD.attempts + 1 END) THEN
            RAISE EXCEPTION 'mail %: a try moves its attempts by one (% -> %), only 再送 puts them back to 0',
                OLD.id, OLD.attempts, NEW.attempts USING ERRCODE = 'CI204';
        END IF;
        NEW.next_attempt_at := LEAST(NEW.next_attempt_at, clock_timestamp() + interval '1 hour');
    END IF;
"""
OUTBOX_0014 = extended(OUTBOX_0007, declarations="", checks=TRIES)

INSERT_0008 = function_of("0008_notice_inserts_held.py", "notifications_outbox_insert_guard")
INSERT_0010 = extended(INSERT_0008, declarations="", checks=ADDRESS_HISTORY.ADDRESSED)
WRITTEN = f"""    IF session_user <> {OWNER} THEN
        IF NEW.subject ~ '[[:cntrl:]]' OR NEW."to" ~ '[[:cntrl:][:space:]]' THEN
            RAISE EXCEPTION 'a mail of customer % has a control character in its subject or address',
                NEW.customer_id USING ERRCODE = 'CI204';
        END IF;
        NEW.next_attempt_at := LEAST(NEW.next_attempt_at, clock_timestamp());
    END IF;
"""
INSERT_0014 = extended(INSERT_0010, declarations="", checks=WRITTEN)

# --- F11 ------------------------------------------------------------------------------
VERIFY = f"""
CREATE FUNCTION public.notifications_email_verify_has_request() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF session_user <> {OWNER}
       AND NOT EXISTS (SELECT 1 FROM public.accounts_customer c WHERE c.id = NEW.customer_id AND c.email = NEW."to")
       AND NOT EXISTS (SELECT 1 FROM public.notifications_emailchangerequest r
                        WHERE r.customer_id = NEW.customer_id AND r.new_email = NEW."to") THEN
        RAISE EXCEPTION 'mail %: a confirmation code to % without the address-change request it belongs to',
            NEW.id, NEW."to" USING ERRCODE = 'CI204';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER notifications_email_verify_has_request
    AFTER INSERT ON public.notifications_outboxmessage
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.event = 'email_verify' AND NEW."to" <> '')
    EXECUTE FUNCTION public.notifications_email_verify_has_request();
"""
VERIFY_REVERSE = """
DROP TRIGGER IF EXISTS notifications_email_verify_has_request ON public.notifications_outboxmessage;
DROP FUNCTION IF EXISTS public.notifications_email_verify_has_request();
"""


class Migration(migrations.Migration):

    dependencies = [("notifications", "0013_posting_mail_states_its_amount")]

    operations = [
        migrations.RunSQL(NOTICE_0014, NOTICE_0013),
        migrations.RunSQL(OUTBOX_0014, OUTBOX_0007),
        migrations.RunSQL(INSERT_0014, INSERT_0010),
        migrations.RunSQL(VERIFY, VERIFY_REVERSE),
    ]
