"""SEC-13, ACCT-4, LEDGER-7: an audit row (取引履歴) says when and whose — the app's role
could INSERT one dated 400 days back, or one whose 契約者ID is another customer's than its
契約者 (the outside review, as the app's role). The app's clock stays the row's 日時 (tests
travel in time through it); the database adds its own:

* ``recorded_at`` is set by the trigger to the database's clock whatever the INSERT says,
  so a row dated back stands out (``manage.py audit_check``, docs/operations.md);
* a row naming a 契約者 carries that customer's 契約者ID (``audit_record`` writes it so; an
  empty one is filled in).

CI302. Rows are never updated or deleted by the app (accounts/db_roles.py revokes it).
"""

from django.db import migrations, models

FORWARD = """
CREATE FUNCTION public.security_audit_insert_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_contract text;
BEGIN
    IF NEW.customer_id IS NOT NULL THEN
        SELECT c.contract_id INTO v_contract FROM public.accounts_customer c WHERE c.id = NEW.customer_id;
        IF NEW.contract_id = '' THEN
            NEW.contract_id := coalesce(v_contract, '');
        ELSIF NEW.contract_id IS DISTINCT FROM v_contract THEN
            RAISE EXCEPTION 'audit row: contract ID % is not that of customer %', NEW.contract_id, NEW.customer_id
                USING ERRCODE = 'CI302';
        END IF;
    END IF;
    NEW.recorded_at := clock_timestamp();
    RETURN NEW;
END $$;

CREATE TRIGGER security_audit_insert_guard
    BEFORE INSERT ON public.security_auditevent
    FOR EACH ROW EXECUTE FUNCTION public.security_audit_insert_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS security_audit_insert_guard ON public.security_auditevent;
DROP FUNCTION IF EXISTS public.security_audit_insert_guard();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("security", "0008_stepup_held"),
        ("accounts", "0016_suspend_ib_permission"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="recorded_at",
            field=models.DateTimeField(editable=False, null=True, verbose_name="記録日時（データベース）"),
        ),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
