"""NOTE-1, NOTE-2, NOTE-3, LEDGER-7 (outside review dbprobe27 F2, F6).

F2 — a date or time Python cannot load stopped every mail of the bank: one pending mail with
``created_at = 'infinity'`` due first made ``outbox_send_pending`` raise DataError on every
run (and the admin's 送信メール list with it), and the app's role could not remove it (CI204).

* every date/time column of these tables the app writes is within the years 1900–8999
  (CHECK ``<table>_<column>_loadable``, 23514, accounts 0031's ``loadable_checks``), whoever
  writes it;
* for the app's role a mail's 作成日時 more than ``cosei_clock_slack()`` (five minutes) from
  the database's clock is the database's clock (the insert guard, 0014's, extended) — not
  always the database's: the tests travel in time through it (0008), and their database
  has the slack widened;
* the sender loads each due mail on its own, and fails alone one it cannot load
  (notifications.tasks).

F6 — the outbox and 入出金 notice guards compare a mail's address (and, for a notice, the
customer's choice of 入出金のお知らせ) with the customer's of the moment, and the app's role
changed it and changed it back inside one transaction: a bank-signed mail to any address
(F6a), a ご出金 notice made 送信対象外 (F6c) or sent to another address (F6d).

* ``notifications_email_no_round_trip`` (deferred to the commit, CI240): for the app's role,
  a transaction whose changes of a customer's address (notifications_emailaddresschange, the
  database's own record, one ``xact_id``) end where they began is refused — the service
  changes an address once per transaction (``email_change_confirm``, ``email_remove``);
* ``notifications_preference_no_round_trip`` (the same, CI240): a transaction whose changes
  of a customer's choice of notices (notifications_noticepreferencechange) end where they
  began (the preference row, or the defaults when it was removed).

The owner (a DBA) is bound by the CHECKs only.
"""

import importlib

from django.db import migrations

from ._function_text import extended

TIMESTAMPS = importlib.import_module("accounts.migrations.0031_timestamps_loadable")
HELD_0014 = importlib.import_module("notifications.migrations.0014_mail_delivery_held")

OWNER = HELD_0014.OWNER

COLUMNS = {
    "notifications_outboxmessage": ("created_at", "sent_at", "next_attempt_at"),
    "notifications_noticepreference": ("updated_at",),
    "notifications_emailchangerequest": ("created_at", "expires_at"),
    "notifications_postingnotice": ("created_at", "processed_at"),
}
CHECKS, CHECKS_REVERSE = TIMESTAMPS.loadable_checks(COLUMNS)

# --- F2: a mail dated by the database's clock when the app's is far from it -----------------
CREATED = f"""    IF session_user <> {OWNER} AND (NEW.created_at IS NULL
            OR NEW.created_at NOT BETWEEN clock_timestamp() - public.cosei_clock_slack()
                                      AND clock_timestamp() + public.cosei_clock_slack()) THEN
        NEW.created_at := clock_timestamp();
    END IF;
"""
INSERT_0015 = extended(HELD_0014.INSERT_0014, declarations="", checks=CREATED)

# --- F6: no change of address or choice that ends where it began --------------------------
ROUND_TRIP = f"""
CREATE FUNCTION public.notifications_email_no_round_trip() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_first text;
BEGIN
    IF NEW.db_user = {OWNER} THEN
        RETURN NULL;
    END IF;
    SELECT h.old_email INTO v_first FROM public.notifications_emailaddresschange h
     WHERE h.customer_id = NEW.customer_id AND h.xact_id = NEW.xact_id ORDER BY h.id LIMIT 1;
    IF EXISTS (SELECT 1 FROM public.accounts_customer c
                WHERE c.id = NEW.customer_id AND c.email IS NOT DISTINCT FROM v_first) THEN
        RAISE EXCEPTION 'customer %: an address changed and changed back to % in one transaction',
            NEW.customer_id, v_first USING ERRCODE = 'CI240';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER notifications_email_no_round_trip
    AFTER INSERT ON public.notifications_emailaddresschange
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.notifications_email_no_round_trip();

CREATE FUNCTION public.notifications_preference_no_round_trip() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_first record;
    v_now boolean[] := ARRAY[true, true, false];  -- NoticePreference's defaults: what no row means
BEGIN
    IF NEW.db_user = {OWNER}
       OR NOT EXISTS (SELECT 1 FROM public.accounts_customer c WHERE c.id = NEW.customer_id) THEN
        RETURN NULL;
    END IF;
    SELECT h.postings_before, h.receipts_before, h.login_before INTO v_first
      FROM public.notifications_noticepreferencechange h
     WHERE h.customer_id = NEW.customer_id AND h.xact_id = NEW.xact_id ORDER BY h.id LIMIT 1;
    SELECT ARRAY[p.postings, p.receipts, p.login] INTO v_now
      FROM public.notifications_noticepreference p WHERE p.customer_id = NEW.customer_id;
    IF NOT FOUND THEN
        v_now := ARRAY[true, true, false];
    END IF;
    IF v_now = ARRAY[v_first.postings_before, v_first.receipts_before, v_first.login_before] THEN
        RAISE EXCEPTION 'customer %: a choice of notices changed and changed back in one transaction',
            NEW.customer_id USING ERRCODE = 'CI240';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER notifications_preference_no_round_trip
    AFTER INSERT ON public.notifications_noticepreferencechange
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.notifications_preference_no_round_trip();
"""
ROUND_TRIP_REVERSE = """
DROP TRIGGER IF EXISTS notifications_preference_no_round_trip ON public.notifications_noticepreferencechange;
DROP FUNCTION IF EXISTS public.notifications_preference_no_round_trip();
DROP TRIGGER IF EXISTS notifications_email_no_round_trip ON public.notifications_emailaddresschange;
DROP FUNCTION IF EXISTS public.notifications_email_no_round_trip();
"""


class Migration(migrations.Migration):

    dependencies = [("notifications", "0014_mail_delivery_held"), ("accounts", "0031_timestamps_loadable")]

    operations = [
        migrations.RunSQL(CHECKS, CHECKS_REVERSE),
        migrations.RunSQL(INSERT_0015, HELD_0014.INSERT_0014),
        migrations.RunSQL(ROUND_TRIP, ROUND_TRIP_REVERSE),
    ]
