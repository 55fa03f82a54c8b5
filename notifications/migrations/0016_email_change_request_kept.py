"""NOTE-2, LEDGER-7 (outside review dbprobe27 F6b): an address-change request stays. dbprobe26
F11's rule (0014) wants the request of a 確認コード mail (``email_verify``) to be there at the
commit; the app's role wrote a request and a mail with any text to its address, committed, and
deleted the request in its next transaction — a bank-signed mail to anyone, with no trace but
the mail row.

A request is never deleted now, only ended (CI241, the app's role; ``EmailChangeRequest.Outcome``:
変更済, 新しい申込みで無効, 期限切れ, 誤り回数超過, アドレス削除で無効 — the services end it where
they deleted it):

* it is born open — no end, no outcome, no failures;
* its customer, address, code and times never change; its failures move by one at a time while
  it is open; it ends once (the end dated by the database's clock) and never changes again;
* at most one open request per customer (``email_change_request_one_open``, replacing the
  one-to-one of the customer);
* the code mail's request (the insert guard's exception, 0010) is an open one; 0014's check at
  the commit (the request is there) now holds for good.

Every request so stays with its address, time and outcome: the trace of each 確認コード mail.
The owner (a DBA) is bound by the CHECK only.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

TIMESTAMPS = importlib.import_module("accounts.migrations.0031_timestamps_loadable")
HELD_0014 = importlib.import_module("notifications.migrations.0014_mail_delivery_held")
LOADABLE_0015 = importlib.import_module("notifications.migrations.0015_loadable_and_no_round_trip")

OWNER = HELD_0014.OWNER
OUTCOMES = "'', 'confirmed', 'replaced', 'expired', 'too_many', 'removed'"

KEPT = f"""
CREATE FUNCTION public.notifications_emailchangerequest_kept() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_moving constant text[] := ARRAY['failures', 'ended_at', 'outcome'];
BEGIN
    IF session_user = {OWNER} THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;  -- a DBA
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'address-change request % is never deleted: it is the proof of its code mail', OLD.id
            USING ERRCODE = 'CI241';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.ended_at IS NOT NULL OR NEW.outcome <> '' OR NEW.failures <> 0 THEN
            RAISE EXCEPTION 'a new address-change request of customer % is open, with no failures', NEW.customer_id
                USING ERRCODE = 'CI241';
        END IF;
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) = to_jsonb(OLD) THEN
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) - v_moving IS DISTINCT FROM to_jsonb(OLD) - v_moving
       OR OLD.ended_at IS NOT NULL
       OR NEW.failures NOT IN (OLD.failures, OLD.failures + 1)
       OR (NEW.ended_at IS NULL) <> (NEW.outcome = '')
       OR NEW.outcome NOT IN ({OUTCOMES}) THEN
        RAISE EXCEPTION 'address-change request %: only its failures move and it ends once', OLD.id
            USING ERRCODE = 'CI241';
    END IF;
    IF NEW.ended_at IS NOT NULL THEN
        NEW.ended_at := clock_timestamp();
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER notifications_emailchangerequest_kept
    BEFORE INSERT OR UPDATE OR DELETE ON public.notifications_emailchangerequest
    FOR EACH ROW EXECUTE FUNCTION public.notifications_emailchangerequest_kept();
"""
KEPT_REVERSE = """
DROP TRIGGER IF EXISTS notifications_emailchangerequest_kept ON public.notifications_emailchangerequest;
DROP FUNCTION IF EXISTS public.notifications_emailchangerequest_kept();
"""
CHECKS, CHECKS_REVERSE = TIMESTAMPS.loadable_checks({"notifications_emailchangerequest": ("ended_at",)})

# the code mail's request, written by the same transaction (the insert guard's exception), is an open one
IN_THIS_XACT = "AND public.transfers_row_of_this_xact(r.xmin)))"
INSERT_0015 = LOADABLE_0015.INSERT_0015
assert INSERT_0015.count(IN_THIS_XACT) == 1, "not 0015's insert guard"
INSERT_0016 = INSERT_0015.replace(IN_THIS_XACT, "AND r.ended_at IS NULL " + IN_THIS_XACT)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0033_branch_and_heartbeat_held'),
        ('notifications', '0015_loadable_and_no_round_trip'),
    ]

    operations = [
        migrations.AddField(
            model_name='emailchangerequest',
            name='ended_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='終了日時'),
        ),
        migrations.AddField(
            model_name='emailchangerequest',
            name='outcome',
            field=models.CharField(blank=True, choices=[('', '確認待ち'), ('confirmed', '変更済'), ('replaced', '新しい申込みで無効'), ('expired', '期限切れ'), ('too_many', '誤り回数超過'), ('removed', 'アドレス削除で無効')], db_default='', default='', max_length=16, verbose_name='結果'),
        ),
        migrations.AlterField(
            model_name='emailchangerequest',
            name='customer',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='email_change_requests', to='accounts.customer'),
        ),
        # back to one request per customer: the ended ones go (a schema that cannot hold them)
        migrations.RunSQL(migrations.RunSQL.noop,
                          "DELETE FROM public.notifications_emailchangerequest WHERE ended_at IS NOT NULL;"),
        migrations.AddConstraint(
            model_name='emailchangerequest',
            constraint=models.UniqueConstraint(condition=models.Q(('ended_at__isnull', True)), fields=('customer',), name='email_change_request_one_open'),
        ),
        migrations.RunSQL(CHECKS, CHECKS_REVERSE),
        migrations.RunSQL(KEPT, KEPT_REVERSE),
        migrations.RunSQL(INSERT_0016, INSERT_0015),
    ]
