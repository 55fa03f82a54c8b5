"""NOTE-1, NOTE-3, LEDGER-7 (dbprobe29 F6): a mail leaves 未送信 only in a transaction of
its own — the sender's.

CI229 (transfers 0031) wants a ``transfer_cancelled`` mail written with a 予約's cancel,
and the outbox guard (0007, 0014) lets a mail go pending → sent with one try and a
``sent_at``, as the sender does. Together the app's role could write the mail and mark it
送信済 in the same transaction: the rule was kept on paper and the customer never told.

Who moves a mail out of the state it was written in:

* the sender (``tasks.outbox_send_pending``): each due mail in a transaction of its own,
  after the one that wrote it committed (it only reads committed rows: ``_due_ids``) —
  pending → sent, or a failed try (attempts + 1, pending or failed);
* ``_unloadable_fail``: pending → failed, also a committed mail;
* staff's 再送 (``outbox_retry``): failed → pending, a mail of an earlier run.

A service writes a mail pending or, without a sendable address or with the notice switched
off, already skipped (送信対象外, ``_outbox_write``; 0014) — and never touches it again in
that transaction. So ``notifications_mail_delivered_apart`` (deferred to the commit, for the
app's role, CI242): a mail INSERTed in this transaction is, at its commit, still in the
state it was written in — the same status, no try, no ``sent_at``. A mail born skipped
stays allowed; a mail written pending goes out only after the commit, by the sender.

Deferred (like CI229 and CI240), so the order of the statements does not matter and a
savepoint does not hide the insert. ``notifications_mail_delivered_apart_held()`` is true
(the rule holds); only the owner can replace it. The test database does, as it widens
``cosei_clock_slack()``: the tests of the sender send, in the test's one transaction, the
mail that test wrote — the tests of this rule put it back (``mail_delivered_apart_strict``). Not held, as before (docs/operations.md): that a mail
the app's role marks 送信済 in a later transaction was really handed to the mail server —
only a worker with a role of its own could prove that.
"""

from django.db import migrations

OWNER = "pg_get_userbyid((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID))"

FORWARD = f"""
-- true: the rule holds. Only the owner can replace it; the test database does (tests/conftest.py):
-- a test sends the mail it wrote in its own transaction, as the sender never does
CREATE FUNCTION public.notifications_mail_delivered_apart_held() RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$ BEGIN RETURN true; END $$;

CREATE FUNCTION public.notifications_mail_delivered_apart() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    m record;
BEGIN
    IF session_user = {OWNER} OR NOT public.notifications_mail_delivered_apart_held() THEN
        RETURN NULL;
    END IF;
    SELECT o.status, o.attempts, o.sent_at INTO m FROM public.notifications_outboxmessage o WHERE o.id = NEW.id;
    IF FOUND AND (m.status <> NEW.status OR m.attempts <> 0 OR m.sent_at IS NOT NULL) THEN
        RAISE EXCEPTION 'mail % (%): written % and taken to % (% tries) in the same transaction; only the sender '
                        'moves a mail, after the commit that wrote it', NEW.id, NEW.event, NEW.status, m.status,
                        m.attempts USING ERRCODE = 'CI242';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER notifications_mail_delivered_apart
    AFTER INSERT ON public.notifications_outboxmessage
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.notifications_mail_delivered_apart();
"""

REVERSE = """
DROP TRIGGER IF EXISTS notifications_mail_delivered_apart ON public.notifications_outboxmessage;
DROP FUNCTION IF EXISTS public.notifications_mail_delivered_apart();
DROP FUNCTION IF EXISTS public.notifications_mail_delivered_apart_held();
"""


class Migration(migrations.Migration):

    dependencies = [("notifications", "0017_addresses_compared_as_the_app_does")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
