"""PAY-2, PAY-3, PAY-4, STAFF-1, LEDGER-7 (outside review dbprobe31 F9): the wrong-entry
counter, the used 情報リンク nonces and the billers move only as their services move them.

As the app's role the review, in rolled-back transactions, had all of these accepted:
``DELETE FROM payeasy_entryfailurecounter`` gave a guesser of 納付番号 and 確認番号 a fresh
day's count at will; ``DELETE FROM payeasy_linknonce`` made a used 情報リンク payable again;
``UPDATE payeasy_biller SET name = …, link_secret = …`` renamed the biller on the confirm
page and put the link-signing key in the attacker's hands (the biller's own links failed,
the attacker's passed). What the services write:

* ``bill_lookup_for_customer`` (services.py): today's counter INSERTed at 0
  (``bulk_create(ignore_conflicts=True)``); a wrong entry adds one under the row lock with
  the customer's ``payeasy_lookup`` failure audit row 「… 番号誤り（本日<n>回目）」. Nothing
  resets it: tomorrow is another row. Nothing deletes it but the customer's own deletion;
* ``link_accept``: the nonce INSERTed (with the customer, or none before the login);
  ``link_bill_lookup``: its customer set once, from none, after the login. Nothing prunes
  the nonces (a replay would pass once its nonce was gone);
* the admin (``payeasy.admin.BillerAdmin``, staff of 営業店担当者): a biller added or changed,
  never deleted, with the ``staff_biller_change`` success row 「追加 収納機関 <番号> …」 /
  「変更 収納機関 <番号> …」 of the staff member (``actor``); the demo seed
  (``payeasy.demo.payeasy_demo_seed``, run as the app's role by ``seed_demo``) adds the demo
  billers with the same row, actor ``seed_demo``.

For the app's role (the owner, a DBA, is not bound), deferred to the commit (the services
write the row first and the audit row after it), as CI304/CI309 (security 0013, 0016):

* CI245 ``payeasy_entryfailurecounter_moved_by_its_service``: a counter is INSERTed at 0; an
  UPDATE keeps its customer and day and adds exactly one, with that customer's
  ``payeasy_lookup`` failure row of the transaction counting to the new figure; a DELETE only
  with its customer;
* CI246 ``payeasy_linknonce_kept``: a nonce is never DELETEd (unless its biller goes with it,
  which only the owner can do); an UPDATE changes only its customer, from none to one (or to
  none with that customer's deletion);
* CI247 ``payeasy_biller_by_staff``: a biller is never DELETEd (at once: admin has no delete,
  and payments refer to it); an INSERT or a change of any column needs the transaction's
  ``staff_biller_change`` success row naming its number, by an active staff user — or, for
  an INSERT, by ``seed_demo``. The app's role writes audit rows too, so a change is still
  possible with a forged row, but no longer silent: it stands in the admin's 操作ログ.

SQL functions/triggers: CREATE FUNCTION public.payeasy_entryfailurecounter_moved_by_its_service(),
public.payeasy_linknonce_kept(), public.payeasy_biller_by_staff(),
public.payeasy_biller_not_deleted(); CREATE CONSTRAINT TRIGGER
payeasy_entryfailurecounter_moved_by_its_service, payeasy_linknonce_kept,
payeasy_biller_by_staff; CREATE TRIGGER payeasy_biller_not_deleted. Nothing replaced.
"""

import importlib

from django.db import migrations

TIMESTAMPS = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

OF_THIS_XACT = "a.recorded_at >= now() AND public.transfers_row_of_this_xact(a.xmin)"

FORWARD = f"""
CREATE FUNCTION public.payeasy_entryfailurecounter_moved_by_its_service() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_problem text;
BEGIN
    IF NOT {TIMESTAMPS.not_owner()} THEN
        RETURN NULL;  -- the owner: a DBA
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM public.accounts_customer c WHERE c.id = OLD.customer_id) THEN
            RAISE EXCEPTION 'Pay-easy wrong-entry counter of customer % on %: removed only with its customer',
                OLD.customer_id, OLD.day USING ERRCODE = 'CI245';
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.failures <> 0 THEN
            v_problem := 'a counter starts at 0';
        END IF;
    ELSIF NEW.customer_id <> OLD.customer_id OR NEW.day <> OLD.day THEN
        v_problem := 'a counter stays its customer''s and its day''s';
    ELSIF NEW.failures = OLD.failures THEN
        RETURN NULL;
    ELSIF NEW.failures <> OLD.failures + 1 THEN
        v_problem := 'a count moves by one (tomorrow is another row)';
    ELSIF NOT EXISTS (SELECT 1 FROM public.security_auditevent a
                       WHERE a.customer_id = NEW.customer_id AND a.action = 'payeasy_lookup'
                         AND a.outcome = 'failure'
                         AND a.summary LIKE '%番号誤り（本日' || NEW.failures || '回目）%'
                         AND {OF_THIS_XACT}) THEN
        v_problem := 'a wrong entry is counted with the customer''s payeasy_lookup failure audit row';
    END IF;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'Pay-easy wrong-entry counter of customer % on %: %', NEW.customer_id, NEW.day, v_problem
            USING ERRCODE = 'CI245';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER payeasy_entryfailurecounter_moved_by_its_service
    AFTER INSERT OR UPDATE OR DELETE ON public.payeasy_entryfailurecounter DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.payeasy_entryfailurecounter_moved_by_its_service();

CREATE FUNCTION public.payeasy_linknonce_kept() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NOT {TIMESTAMPS.not_owner()} THEN
        RETURN NULL;  -- the owner: a DBA
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM public.payeasy_biller b WHERE b.id = OLD.biller_id) THEN
            RAISE EXCEPTION 'used 情報リンク nonce % of biller %: kept (a replay passes once it is gone)',
                OLD.id, OLD.biller_id USING ERRCODE = 'CI246';
        END IF;
    ELSIF NEW.biller_id <> OLD.biller_id OR NEW.nonce <> OLD.nonce OR NEW.used_at <> OLD.used_at
          OR (OLD.customer_id IS NOT NULL AND NEW.customer_id IS NOT NULL AND NEW.customer_id <> OLD.customer_id)
          OR (OLD.customer_id IS NOT NULL AND NEW.customer_id IS NULL
              AND EXISTS (SELECT 1 FROM public.accounts_customer c WHERE c.id = OLD.customer_id)) THEN
        RAISE EXCEPTION 'used 情報リンク nonce %: only its customer is set, once, after the login', OLD.id
            USING ERRCODE = 'CI246';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER payeasy_linknonce_kept
    AFTER UPDATE OR DELETE ON public.payeasy_linknonce DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.payeasy_linknonce_kept();

CREATE FUNCTION public.payeasy_biller_not_deleted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {TIMESTAMPS.not_owner()} THEN
        RAISE EXCEPTION 'biller %: a biller is not deleted (取扱中 off stops it)', OLD.number
            USING ERRCODE = 'CI247';
    END IF;
    RETURN OLD;
END $$;

CREATE TRIGGER payeasy_biller_not_deleted
    BEFORE DELETE ON public.payeasy_biller
    FOR EACH ROW EXECUTE FUNCTION public.payeasy_biller_not_deleted();

CREATE FUNCTION public.payeasy_biller_by_staff() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_summary text := CASE WHEN TG_OP = 'INSERT' THEN '追加 ' ELSE '変更 ' END || '収納機関 ' || NEW.number || ' %';
BEGIN
    IF NOT {TIMESTAMPS.not_owner()} THEN
        RETURN NULL;  -- the owner: a DBA
    END IF;
    IF TG_OP = 'UPDATE' AND to_jsonb(NEW) = to_jsonb(OLD) THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.security_auditevent a
                    WHERE a.action = 'staff_biller_change' AND a.outcome = 'success' AND a.customer_id IS NULL
                      AND a.summary LIKE v_summary
                      AND ((TG_OP = 'INSERT' AND a.actor = 'seed_demo')
                           OR EXISTS (SELECT 1 FROM public.auth_user u
                                       WHERE u.username = a.actor AND u.is_staff AND u.is_active))
                      AND {OF_THIS_XACT}) THEN
        RAISE EXCEPTION 'biller %: % without the staff audit row (staff_biller_change) of its transaction',
            NEW.number, lower(TG_OP) USING ERRCODE = 'CI247';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER payeasy_biller_by_staff
    AFTER INSERT OR UPDATE ON public.payeasy_biller DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.payeasy_biller_by_staff();
"""

REVERSE = """
DROP TRIGGER IF EXISTS payeasy_biller_by_staff ON public.payeasy_biller;
DROP FUNCTION IF EXISTS public.payeasy_biller_by_staff();
DROP TRIGGER IF EXISTS payeasy_biller_not_deleted ON public.payeasy_biller;
DROP FUNCTION IF EXISTS public.payeasy_biller_not_deleted();
DROP TRIGGER IF EXISTS payeasy_linknonce_kept ON public.payeasy_linknonce;
DROP FUNCTION IF EXISTS public.payeasy_linknonce_kept();
DROP TRIGGER IF EXISTS payeasy_entryfailurecounter_moved_by_its_service ON public.payeasy_entryfailurecounter;
DROP FUNCTION IF EXISTS public.payeasy_entryfailurecounter_moved_by_its_service();
"""


class Migration(migrations.Migration):

    # security 0009 (recorded_at) and transfers 0012 (transfers_row_of_this_xact) are read
    # when a row is written, not here, as accounts 0036
    dependencies = [("payeasy", "0011_payment_bill_id_as_spelled")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
