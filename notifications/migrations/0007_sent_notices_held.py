"""NOTE-1, NOTE-3, LEDGER-7: a notice is evidence of what the customer was told, and a
pending one is a promise to tell them (a 振込 accepted, a debit): the app's role, or any
other, can no longer rewrite or remove one (the outside review connects as the app's role).

* ``notifications_outboxmessage``: 契約者, 種類, 宛先, 件名, 本文 and 作成日時 never change;
  only the delivery state moves — 未送信 → 未送信 (an attempt), 送信済 or 送信失敗, and
  送信失敗 → 未送信 (the staff's 再送) — and 送信済 / 送信対象外 rows never change again;
  ``sent_at`` is written only by the send. No row is deleted (a pending 振込受付 notice
  removed before the worker sends it was a way to hide a transfer from its customer).
* ``notifications_postingnotice`` (入出金 notices the ledger queues): entry, account, amount
  and time never change; ``processed_at`` and ``message`` are set once, together; no row is
  deleted.

CI204 for both. Row triggers only: the owner's flush between tests (TRUNCATE) is as before.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.notifications_outbox_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_delivery constant text[] := ARRAY['status', 'attempts', 'next_attempt_at', 'sent_at'];
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'mail % is a notice to a customer: it is never deleted', OLD.id USING ERRCODE = 'CI204';
    END IF;
    IF to_jsonb(NEW) = to_jsonb(OLD) THEN
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) - v_delivery IS DISTINCT FROM to_jsonb(OLD) - v_delivery THEN
        RAISE EXCEPTION 'mail %: its content never changes', OLD.id USING ERRCODE = 'CI204';
    END IF;
    IF OLD.status IN ('sent', 'skipped')
       OR (NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (
               ('pending', 'sent'), ('pending', 'failed'), ('failed', 'pending')))
       OR (NEW.sent_at IS DISTINCT FROM OLD.sent_at
           AND NOT (OLD.status = 'pending' AND NEW.status = 'sent' AND NEW.sent_at IS NOT NULL)) THEN
        RAISE EXCEPTION 'mail %: % -> % is not a step of its delivery', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'CI204';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER notifications_outbox_guard
    BEFORE UPDATE OR DELETE ON public.notifications_outboxmessage
    FOR EACH ROW EXECUTE FUNCTION public.notifications_outbox_guard();

CREATE FUNCTION public.notifications_posting_notice_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_processing constant text[] := ARRAY['processed_at', 'message_id'];
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'posting notice % is never deleted', OLD.id USING ERRCODE = 'CI204';
    END IF;
    IF to_jsonb(NEW) = to_jsonb(OLD) THEN
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) - v_processing IS DISTINCT FROM to_jsonb(OLD) - v_processing
       OR OLD.processed_at IS NOT NULL OR OLD.message_id IS NOT NULL OR NEW.processed_at IS NULL THEN
        RAISE EXCEPTION 'posting notice %: only its processing is recorded, once', OLD.id
            USING ERRCODE = 'CI204';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER notifications_posting_notice_guard
    BEFORE UPDATE OR DELETE ON public.notifications_postingnotice
    FOR EACH ROW EXECUTE FUNCTION public.notifications_posting_notice_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS notifications_posting_notice_guard ON public.notifications_postingnotice;
DROP FUNCTION IF EXISTS public.notifications_posting_notice_guard();
DROP TRIGGER IF EXISTS notifications_outbox_guard ON public.notifications_outboxmessage;
DROP FUNCTION IF EXISTS public.notifications_outbox_guard();
"""


class Migration(migrations.Migration):

    dependencies = [("notifications", "0006_outbox_japanese_labels")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
