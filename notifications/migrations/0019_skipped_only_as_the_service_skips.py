"""NOTE-1, NOTE-3, LEDGER-7 (outside review dbprobe30 F2): a mail is written 送信対象外 only
where the service would skip it.

CI229 (transfers 0031), CI232 (transfers 0034) and CI305 (security 0014) want the mail of
each step (取消, 未処理/振込済, ロック, ロック解除 …) written in its transaction, counted by
event. The insert guard let the app's role write it ``skipped`` to '' for any customer, also
one with an address and the notice on: the review cancelled a 予約 and locked a customer
out with the rules kept on paper and the customer never told.

What ``_outbox_write`` (notifications/services.py) writes for an address it can use is
always that address; ``skipped`` only for a notice the customer switched off; '' only for an
address it cannot use. ``notifications_outbox_skipped_as_the_service`` (BEFORE INSERT, the
app's role — the owner is not bound), CI243:

* ``skipped`` to '' — only when the customer's address is '' or outside the sendable
  pattern (0014's, which accounts 0035 holds the address to), or for the two mails the
  service addresses to another address than the registered one (``email_change`` to the
  old address, ``email_verify`` to the new): their own address may be the unusable one;
* ``skipped`` to an address — only a notice the customer may switch off (入出金
  ``deposit``/``withdrawal``: 入出金のお知らせ; the 受付 notices: 振込・ペイジーの受付のお知らせ;
  ``login``: ログインのお知らせ) and only while that choice is off
  (``notifications_noticepreference``, its defaults without a row: on, on, off).

Every mail a security rule asks for is a security notice (never optional), so it is now
pending to the customer's address whenever the customer has one. Not held, as before: a
later transaction marking a pending mail 送信済 (docs/operations.md: only a sender with a
role of its own could prove delivery).

SQL functions/triggers: CREATE FUNCTION public.notifications_outbox_skipped_as_the_service(),
CREATE TRIGGER notifications_outbox_skipped_as_the_service. Nothing replaced.
"""

import importlib

from django.db import migrations

DELIVERY_HELD = importlib.import_module("notifications.migrations.0014_mail_delivery_held")

OWNER = DELIVERY_HELD.OWNER
SENDABLE = DELIVERY_HELD.SENDABLE

# notifications/services.py as of this migration: the optional notices and their choice
POSTINGS = ("deposit", "withdrawal")
RECEIPTS = ("transfer_accepted", "transfer_scheduled", "transfer_cancelled", "payeasy_accepted", "transfer",
            "transfer_schedule", "transfer_cancel", "payeasy")
LOGIN = ("login",)
ELSEWHERE = ("email_change", "email_verify")  # addressed to another address than the registered one


def _in(events: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{event}'" for event in events) + ")"


FORWARD = f"""
CREATE FUNCTION public.notifications_outbox_skipped_as_the_service() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_email text;
    v_chosen boolean;
BEGIN
    IF session_user = {OWNER} OR NEW.status <> 'skipped' THEN
        RETURN NEW;
    END IF;
    SELECT c.email INTO v_email FROM public.accounts_customer c WHERE c.id = NEW.customer_id;
    IF NEW."to" = '' THEN
        IF NEW.event NOT IN {_in(ELSEWHERE)}
           AND length(v_email) <= 254 AND length(split_part(v_email, '@', 1)) <= 64
           AND v_email ~ '{SENDABLE}' THEN
            RAISE EXCEPTION 'mail (%) of customer % written 送信対象外 to no one, though the customer has an address',
                NEW.event, NEW.customer_id USING ERRCODE = 'CI243';
        END IF;
        RETURN NEW;
    END IF;
    SELECT CASE WHEN NEW.event IN {_in(POSTINGS)} THEN coalesce(p.postings, true)
                WHEN NEW.event IN {_in(RECEIPTS)} THEN coalesce(p.receipts, true)
                ELSE coalesce(p.login, false) END
      INTO v_chosen
      FROM (SELECT 1) one
      LEFT JOIN public.notifications_noticepreference p ON p.customer_id = NEW.customer_id;
    IF NEW.event NOT IN {_in(POSTINGS + RECEIPTS + LOGIN)} OR v_chosen THEN
        RAISE EXCEPTION 'mail (%) of customer % written 送信対象外 to %: only a notice the customer switched off is',
            NEW.event, NEW.customer_id, NEW."to" USING ERRCODE = 'CI243';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER notifications_outbox_skipped_as_the_service
    BEFORE INSERT ON public.notifications_outboxmessage
    FOR EACH ROW EXECUTE FUNCTION public.notifications_outbox_skipped_as_the_service();
"""

REVERSE = """
DROP TRIGGER IF EXISTS notifications_outbox_skipped_as_the_service ON public.notifications_outboxmessage;
DROP FUNCTION IF EXISTS public.notifications_outbox_skipped_as_the_service();
"""


class Migration(migrations.Migration):

    dependencies = [("notifications", "0018_mail_delivered_by_another_transaction")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
