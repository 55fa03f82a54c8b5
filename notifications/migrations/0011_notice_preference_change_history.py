"""NOTE-1, NOTE-2, LEDGER-7 (dbprobe25 F5 remainder): the app's role turned off a customer's
入出金のお知らせ (notifications_noticepreference.postings) and the withdrawals that followed
sent no mail — and nothing recorded that the choice had changed.

``notifications_noticepreferencechange``: every change of a customer's choice of optional
notices is written by the database alone (SECURITY DEFINER trigger, as 0010's address
history), append-only (CI105); the app's role only reads it (accounts/db_roles.py). No
preference row means the defaults (the model's: 入出金 on, 受付 on, ログイン off): a first
row is told against them, and a row removed (the choices back to the defaults) is recorded
too — unless its customer is being removed with it.
"""

import django.db.models.deletion
from django.db import migrations, models

RECORD = """
CREATE FUNCTION public.notifications_preference_change_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    -- NoticePreference's defaults: what no row means
    v_before boolean[] := ARRAY[true, true, false];
    v_after boolean[] := ARRAY[true, true, false];
    v_customer bigint;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        v_before := ARRAY[OLD.postings, OLD.receipts, OLD.login];
        v_customer := OLD.customer_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        v_after := ARRAY[NEW.postings, NEW.receipts, NEW.login];
        v_customer := NEW.customer_id;
    END IF;
    IF v_before = v_after
       OR (TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM public.accounts_customer c WHERE c.id = v_customer)) THEN
        RETURN NULL;  -- nothing chosen differently, or the customer itself removed
    END IF;
    INSERT INTO public.notifications_noticepreferencechange
        (customer_id, postings_before, postings_after, receipts_before, receipts_after, login_before, login_after,
         changed_at, xact_id, db_user)
    VALUES (v_customer, v_before[1], v_after[1], v_before[2], v_after[2], v_before[3], v_after[3],
            clock_timestamp(), pg_current_xact_id()::text::bigint, session_user);
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION public.notifications_preference_change_record() FROM PUBLIC;

CREATE TRIGGER notifications_preference_change_record
    AFTER INSERT OR UPDATE OR DELETE ON public.notifications_noticepreference
    FOR EACH ROW EXECUTE FUNCTION public.notifications_preference_change_record();

CREATE TRIGGER notifications_preference_change_append_only
    BEFORE UPDATE OR DELETE ON public.notifications_noticepreferencechange
    FOR EACH ROW EXECUTE FUNCTION public.ledger_append_only();
"""

RECORD_REVERSE = """
DROP TRIGGER IF EXISTS notifications_preference_change_append_only ON public.notifications_noticepreferencechange;
DROP TRIGGER IF EXISTS notifications_preference_change_record ON public.notifications_noticepreference;
DROP FUNCTION IF EXISTS public.notifications_preference_change_record();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0029_merge_closing_days_and_internal_account_guards'),
        ('notifications', '0010_email_address_change_history'),
    ]

    operations = [
        migrations.CreateModel(
            name='NoticePreferenceChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('postings_before', models.BooleanField(verbose_name='入出金のお知らせ（変更前）')),
                ('postings_after', models.BooleanField(verbose_name='入出金のお知らせ（変更後）')),
                ('receipts_before', models.BooleanField(verbose_name='振込・ペイジーの受付のお知らせ（変更前）')),
                ('receipts_after', models.BooleanField(verbose_name='振込・ペイジーの受付のお知らせ（変更後）')),
                ('login_before', models.BooleanField(verbose_name='ログインのお知らせ（変更前）')),
                ('login_after', models.BooleanField(verbose_name='ログインのお知らせ（変更後）')),
                ('changed_at', models.DateTimeField(verbose_name='変更日時')),
                ('xact_id', models.BigIntegerField(verbose_name='トランザクションID')),
                ('db_user', models.CharField(max_length=64, verbose_name='DBユーザー')),
                ('customer', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.customer', verbose_name='契約者')),
            ],
            options={
                'verbose_name': '通知設定の変更履歴',
                'verbose_name_plural': '通知設定の変更履歴',
                'indexes': [models.Index(fields=['customer', 'changed_at'], name='preference_change_customer_idx')],
            },
        ),
        migrations.RunSQL(RECORD, RECORD_REVERSE),
    ]
