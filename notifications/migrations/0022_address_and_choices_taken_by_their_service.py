"""NOTE-1, NOTE-2, SEC-7, LEDGER-7 (outside review dbprobe31 F2, F5): for the app's role, a
customer's address and choice of notices change only with what their service writes in the
same transaction.

F2 — one ``UPDATE accounts_customer SET email = 'collector@attacker.example'`` moved an address
with no audit row and no mail to the old address. Every rule of session 30 that asks for "a
mail of this transaction, pending to the customer's address" (CI229, CI232, CI305, CI306,
CI308 …) was then met by mail to the attacker: a planted passkey with 「パスキーでのみログイン」
(dbprobe30 F1) passed CI306 again, and the customer was never told.

F5 — one ``INSERT … ON CONFLICT DO UPDATE`` on ``notifications_noticepreference`` switched the
入出金 and 受付 notices off with no step-up, audit row or mail; the ご出金 mails that followed
were written 送信対象外.

CI310 at the commit (``notifications_customer_email_taken_by_its_service``, a constraint
trigger on ``accounts_customer`` UPDATE of a different ``email``): each change needs in its
transaction what ``email_change_confirm`` / ``email_remove`` (notifications.services) write —

* a new address: an address-change request of that customer for exactly that address, ended
  ``confirmed`` by this transaction (its code entered; ``email_change_confirm``); the
  ``email_change`` success audit row 「アドレス変更 …」;
* the removal (to ''): the ``email_change`` success audit row 「アドレス削除 …」;
* either: the ``email_change`` mail pending to the old address — or, when there was none, to
  the new one (the service's mail to each address it has).

So a "pending to the customer's address" of those rules means the customer's address: a move
to another address is told to the old one in the move's own transaction. A chain in one
transaction (A → '' → A′) needs this for each step, so A is told. A customer INSERTed with an
address (the seed, a new contract) is not an address change.

CI311 at the commit (``notifications_preference_taken_by_its_service``, a constraint trigger on
the database's own history of choices, notifications 0011, so exactly the writes that change
a choice: an INSERT equal to the defaults — the service's ``get_or_create`` — writes no
history, and neither does a customer removed with its row): each change needs in its
transaction what ``notice_preference_change`` writes after its step-up —

* a used ``email_change`` step-up of that customer (the Ｅメール設定 confirm page's,
  ``stepup_pending_confirm`` consumes it in the operation's transaction), whose content is
  ``operation`` 'preferences' and the new choices (as CI202 for a transfer);
* the ``email_change`` success audit row 「通知の選択 …」;
* the ``email_change`` mail pending to the customer's address — or 送信対象外 to no one for a
  customer without one.

Of this transaction: ``transfers_row_of_this_xact`` (transfers 0012), and the audit row's
``recorded_at`` (security 0009) not before it began, as security 0015. A mail "pending" is one
to be sent (not 送信対象外): it stays pending until the commit (CI242, 0018). The owner (a
DBA) is not bound.

SQL functions/triggers: CREATE FUNCTION public.notifications_customer_email_taken_by_its_service(),
CREATE CONSTRAINT TRIGGER notifications_customer_email_taken_by_its_service; CREATE FUNCTION
public.notifications_preference_taken_by_its_service(), CREATE CONSTRAINT TRIGGER
notifications_preference_taken_by_its_service. Nothing replaced.
"""

import importlib

from django.db import migrations

OWNER = importlib.import_module("notifications.migrations.0014_mail_delivery_held").OWNER


def audited(customer: str, summary_like: str) -> str:
    """SQL: this transaction wrote the ``email_change`` success audit row of ``customer`` (an
    SQL expression) whose summary is ``LIKE summary_like``."""
    return ("EXISTS (SELECT 1 FROM public.security_auditevent a WHERE a.customer_id = " + customer
            + " AND a.action = 'email_change' AND a.outcome = 'success' AND a.summary LIKE '" + summary_like + "'"
            " AND a.recorded_at >= now() AND public.transfers_row_of_this_xact(a.xmin))")


def mailed(customer: str, to: str, *, sent: bool = True) -> str:
    """SQL: this transaction wrote ``customer`` an ``email_change`` mail to ``to`` (SQL), to be
    sent (not ``skipped``: pending until the commit, CI242) — or, not ``sent``, 送信対象外."""
    return ("EXISTS (SELECT 1 FROM public.notifications_outboxmessage m WHERE m.customer_id = " + customer
            + " AND m.event = 'email_change' AND m.\"to\" = " + to
            + " AND m.status " + ("<>" if sent else "=") + " 'skipped' AND public.transfers_row_of_this_xact(m.xmin))")


FORWARD = f"""
CREATE FUNCTION public.notifications_customer_email_taken_by_its_service() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_problem text;
BEGIN
    IF session_user = {OWNER} THEN
        RETURN NULL;  -- the owner: a DBA
    END IF;
    IF NEW.email = '' THEN
        IF NOT {audited('NEW.id', 'アドレス削除 %')} THEN
            v_problem := 'a removal is made by email_remove (the email_change audit row 「アドレス削除 …」)';
        END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM public.notifications_emailchangerequest r
                       WHERE r.customer_id = NEW.id AND r.new_email = NEW.email AND r.outcome = 'confirmed'
                         AND public.transfers_row_of_this_xact(r.xmin)) THEN
        v_problem := 'a new address is the one of an address-change request confirmed (its code entered) by '
                     'this transaction (email_change_confirm)';
    ELSIF NOT {audited('NEW.id', 'アドレス変更 %')} THEN
        v_problem := 'an address change is made by email_change_confirm (the email_change audit row 「アドレス変更 …」)';
    END IF;
    IF v_problem IS NULL AND NOT {mailed('NEW.id', "CASE WHEN OLD.email = '' THEN NEW.email ELSE OLD.email END")} THEN
        v_problem := 'the old address (or, with none, the new one) is told by the email_change mail of the '
                     'transaction, pending';
    END IF;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'customer %: address % -> %: %', NEW.id, OLD.email, NEW.email, v_problem
            USING ERRCODE = 'CI310';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER notifications_customer_email_taken_by_its_service
    AFTER UPDATE OF email ON public.accounts_customer DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.email IS DISTINCT FROM OLD.email)
    EXECUTE FUNCTION public.notifications_customer_email_taken_by_its_service();

CREATE FUNCTION public.notifications_preference_taken_by_its_service() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_email text;
    v_problem text;
BEGIN
    IF NEW.db_user = {OWNER} THEN
        RETURN NULL;  -- written by the owner: a DBA
    END IF;
    SELECT c.email INTO v_email FROM public.accounts_customer c WHERE c.id = NEW.customer_id;
    IF NOT FOUND THEN
        RETURN NULL;  -- the customer removed in the same transaction
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.security_stepup st
                    WHERE st.customer_id = NEW.customer_id AND st.kind = 'email_change'
                      AND st.verified_at IS NOT NULL AND st.used_at IS NOT NULL
                      AND st.content @> jsonb_build_object('operation', 'preferences', 'postings', NEW.postings_after,
                                                           'receipts', NEW.receipts_after, 'login', NEW.login_after)
                      AND public.transfers_row_of_this_xact(st.xmin)) THEN
        v_problem := 'no email_change step-up confirming these choices, used by this transaction';
    ELSIF NOT {audited('NEW.customer_id', '通知の選択 %')} THEN
        v_problem := 'no email_change audit row 「通知の選択 …」 of this transaction';
    ELSIF NOT (CASE WHEN v_email = '' THEN {mailed('NEW.customer_id', "''", sent=False)}
                    ELSE {mailed('NEW.customer_id', 'v_email')} END) THEN
        v_problem := 'no email_change mail of this transaction pending to the customer''s address';
    END IF;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'customer %: notices chosen (入出金 %, 受付 %, ログイン %) by notice_preference_change only: %',
            NEW.customer_id, NEW.postings_after, NEW.receipts_after, NEW.login_after, v_problem
            USING ERRCODE = 'CI311';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER notifications_preference_taken_by_its_service
    AFTER INSERT ON public.notifications_noticepreferencechange DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.notifications_preference_taken_by_its_service();
"""

REVERSE = """
DROP TRIGGER IF EXISTS notifications_preference_taken_by_its_service ON public.notifications_noticepreferencechange;
DROP FUNCTION IF EXISTS public.notifications_preference_taken_by_its_service();
DROP TRIGGER IF EXISTS notifications_customer_email_taken_by_its_service ON public.accounts_customer;
DROP FUNCTION IF EXISTS public.notifications_customer_email_taken_by_its_service();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0021_outbox_sealed"),
        ("security", "0015_factors_and_ib_status_taken_by_their_service"),
        ("transfers", "0012_transfer_confirmed_by_its_customer"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
