"""NOTE-1, NOTE-2, LEDGER-7 (dbprobe25 F5): a customer's mail goes to the customer's
address. The app's role inserted a ご入金 mail of customer 1 to attacker@evil.example, and
changed customer 1's address with no trace.

* ``notifications_emailaddresschange``: every change of ``accounts_customer.email`` is
  written by the database alone (SECURITY DEFINER trigger, as accounts' state history),
  append-only (CI105); the app's role only reads it (accounts/db_roles.py).
* The outbox INSERT guard (0008's function, extended; CI204), for the app's role: a mail is
  addressed to no one (送信対象外) or to its customer's current address, except exactly the
  two mails ``notifications.services`` sends elsewhere —
  - ``email_verify`` (the code of an address change) to the new address of that
    customer's address-change request written by this same transaction
    (``email_change_request``);
  - ``email_change`` (the notice of a change or removal) to the address the customer had
    before a change made by this same transaction (``email_change_confirm``,
    ``email_remove``: the history row's ``old_email`` and ``xact_id``).
  The owner (a DBA) is not bound by the address rule, as in transfers 0012.
"""

import django.db.models.deletion
from django.db import migrations, models

from ._function_text import extended, function_of

RECORD = """
CREATE FUNCTION public.notifications_email_change_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    INSERT INTO public.notifications_emailaddresschange (customer_id, old_email, new_email, changed_at, xact_id, db_user)
    VALUES (NEW.id, OLD.email, NEW.email, clock_timestamp(), pg_current_xact_id()::text::bigint, session_user);
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION public.notifications_email_change_record() FROM PUBLIC;

CREATE TRIGGER notifications_email_change_record
    AFTER UPDATE ON public.accounts_customer
    FOR EACH ROW WHEN (NEW.email IS DISTINCT FROM OLD.email)
    EXECUTE FUNCTION public.notifications_email_change_record();

CREATE TRIGGER notifications_email_change_append_only
    BEFORE UPDATE OR DELETE ON public.notifications_emailaddresschange
    FOR EACH ROW EXECUTE FUNCTION public.ledger_append_only();
"""

RECORD_REVERSE = """
DROP TRIGGER IF EXISTS notifications_email_change_append_only ON public.notifications_emailaddresschange;
DROP TRIGGER IF EXISTS notifications_email_change_record ON public.accounts_customer;
DROP FUNCTION IF EXISTS public.notifications_email_change_record();
"""

ADDRESSED = """    IF NEW."to" <> ''
       AND session_user <> pg_get_userbyid((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID))
       AND NOT EXISTS (SELECT 1 FROM public.accounts_customer c WHERE c.id = NEW.customer_id AND c.email = NEW."to")
       AND NOT (NEW.event = 'email_verify' AND EXISTS (
                SELECT 1 FROM public.notifications_emailchangerequest r
                 WHERE r.customer_id = NEW.customer_id AND r.new_email = NEW."to"
                   AND public.transfers_row_of_this_xact(r.xmin)))
       AND NOT (NEW.event = 'email_change' AND EXISTS (
                SELECT 1 FROM public.notifications_emailaddresschange h
                 WHERE h.customer_id = NEW.customer_id AND h.old_email = NEW."to"
                   AND h.xact_id = pg_current_xact_id()::text::bigint)) THEN
        RAISE EXCEPTION 'a mail (%) of customer % goes to the customer''s address, not to %',
            NEW.event, NEW.customer_id, NEW."to" USING ERRCODE = 'CI204';
    END IF;
"""

INSERT_GUARD = function_of("0008_notice_inserts_held.py", "notifications_outbox_insert_guard")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0029_merge_closing_days_and_internal_account_guards'),
        ('notifications', '0009_posting_notice_names_its_mail'),
    ]

    operations = [
        migrations.CreateModel(
            name='EmailAddressChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('old_email', models.CharField(blank=True, max_length=254, verbose_name='変更前のアドレス')),
                ('new_email', models.CharField(blank=True, max_length=254, verbose_name='変更後のアドレス')),
                ('changed_at', models.DateTimeField(verbose_name='変更日時')),
                ('xact_id', models.BigIntegerField(verbose_name='トランザクションID')),
                ('db_user', models.CharField(max_length=64, verbose_name='DBユーザー')),
                ('customer', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.customer', verbose_name='契約者')),
            ],
            options={
                'verbose_name': 'アドレス変更履歴',
                'verbose_name_plural': 'アドレス変更履歴',
                'indexes': [models.Index(fields=['customer', 'xact_id'], name='email_change_customer_xact_idx')],
            },
        ),
        migrations.RunSQL(RECORD, RECORD_REVERSE),
        migrations.RunSQL(extended(INSERT_GUARD, declarations="", checks=ADDRESSED), INSERT_GUARD),
    ]
