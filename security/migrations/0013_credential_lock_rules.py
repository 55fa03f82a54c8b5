"""SEC-8, SEC-13, LEDGER-7 (outside review dbprobe28 F5): a credential's failures and lock.

The security tables had no database rule: one statement as the app's role locked every
customer out (``INSERT … failures 5, locked_at now() ON CONFLICT DO UPDATE``) with no
``lockout`` audit row and no mail, or kept a customer under online guessing from ever
locking, and nothing recorded it. What ``security.services`` does to a credential:

* a new row has no failures and no lock (``credential_for_update``);
* a wrong answer counts one more failure (``credential_register_failure``), and the one
  that reaches the kind's limit (``SECURITY_LOCKOUT_THRESHOLDS``: password 5, image card 3,
  OTP 5, passkey 5 — ``security_lockout_threshold(kind)``) locks it in the same UPDATE;
* a right answer, staff's ロック解除 and 初回パスワード再発行 put the failures back to 0 with
  no lock (``credential_register_success``, ``credential_unlock``, ``initial_password_issue``);
* a wrong password during IB取引中止 counts one more, and 再開 puts them back to 0.

For the app's role anything else is refused (CI304): a row born with failures or a lock,
failures moved by more than one or to any number but 0, a lock set below the limit or on a
locked row, a row at the limit left unlocked, a lock lifted with failures kept, the row
moved to another customer or kind. The owner (a DBA) is not bound.

``security_credentiallockchange`` (``CredentialLockChange``): every lock and every lift (a
locked row removed too) is written by the database alone (SECURITY DEFINER trigger, as
notifications 0010's addresses), append-only; the app's role only reads it
(accounts/db_roles.py).
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

TIMESTAMPS = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

# settings.SECURITY_LOCKOUT_THRESHOLDS (tests/security/test_credential_lock_rules.py holds them equal)
THRESHOLDS = {"password": 5, "image_card": 3, "otp": 5, "passkey": 5}

RULES = f"""
CREATE FUNCTION public.security_lockout_threshold(p_kind text) RETURNS integer
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT CASE p_kind {' '.join(f"WHEN '{kind}' THEN {limit}" for kind, limit in THRESHOLDS.items())} END
$$;

CREATE FUNCTION public.security_credential_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_limit integer := public.security_lockout_threshold(NEW.kind);
    v_problem text;
BEGIN
    IF NOT {TIMESTAMPS.not_owner()} THEN
        RETURN NEW;
    END IF;
    IF v_limit IS NULL THEN
        v_problem := 'a credential of an unknown kind';
    ELSIF TG_OP = 'INSERT' THEN
        IF NEW.failures <> 0 OR NEW.locked_at IS NOT NULL OR NEW.unlocked_at IS NOT NULL
           OR NEW.failures_while_suspended <> 0 THEN
            v_problem := 'a credential is born with no failures and no lock';
        END IF;
    ELSIF NEW.customer_id <> OLD.customer_id OR NEW.kind <> OLD.kind THEN
        v_problem := 'a credential stays its customer''s and its kind';
    ELSIF NEW.failures NOT IN (OLD.failures, OLD.failures + 1, 0)
          OR NEW.failures_while_suspended NOT IN (OLD.failures_while_suspended, OLD.failures_while_suspended + 1, 0) THEN
        v_problem := format('failures move by one or back to 0 (%s -> %s)', OLD.failures, NEW.failures);
    ELSIF NEW.locked_at IS NOT NULL AND NEW.failures < v_limit THEN
        v_problem := format('a lock needs %s failures in a row (%s)', v_limit, NEW.failures);
    ELSIF NEW.locked_at IS NOT NULL AND OLD.locked_at IS NOT NULL AND NEW.locked_at <> OLD.locked_at THEN
        v_problem := 'a lock keeps its time';
    ELSIF NEW.locked_at IS NULL AND NEW.failures >= v_limit THEN
        v_problem := format('%s failures in a row lock the credential', NEW.failures);
    ELSIF NEW.locked_at IS NULL AND OLD.locked_at IS NOT NULL AND NEW.failures <> 0 THEN
        v_problem := 'a lock is lifted with the failures put back to 0';
    ELSIF NEW.unlocked_at IS DISTINCT FROM OLD.unlocked_at AND NOT (NEW.failures = 0 AND NEW.locked_at IS NULL) THEN
        v_problem := 'the time of an unlock is set by an unlock';
    END IF;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'credential % of customer %: %', NEW.kind, NEW.customer_id, v_problem
            USING ERRCODE = 'CI304';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER security_credential_guard
    BEFORE INSERT OR UPDATE ON public.security_credential
    FOR EACH ROW EXECUTE FUNCTION public.security_credential_guard();

CREATE FUNCTION public.security_credential_lock_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO public.security_credentiallockchange (customer_id, kind, locked, failures, changed_at, xact_id, db_user)
        VALUES (OLD.customer_id, OLD.kind, false, 0, clock_timestamp(), pg_current_xact_id()::text::bigint, session_user);
    ELSE
        INSERT INTO public.security_credentiallockchange (customer_id, kind, locked, failures, changed_at, xact_id, db_user)
        VALUES (NEW.customer_id, NEW.kind, NEW.locked_at IS NOT NULL, NEW.failures, clock_timestamp(),
                pg_current_xact_id()::text::bigint, session_user);
    END IF;
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION public.security_credential_lock_record() FROM PUBLIC;

CREATE TRIGGER security_credential_lock_record_insert
    AFTER INSERT ON public.security_credential
    FOR EACH ROW WHEN (NEW.locked_at IS NOT NULL)
    EXECUTE FUNCTION public.security_credential_lock_record();
CREATE TRIGGER security_credential_lock_record_update
    AFTER UPDATE ON public.security_credential
    FOR EACH ROW WHEN (NEW.locked_at IS DISTINCT FROM OLD.locked_at)
    EXECUTE FUNCTION public.security_credential_lock_record();
CREATE TRIGGER security_credential_lock_record_delete
    AFTER DELETE ON public.security_credential
    FOR EACH ROW WHEN (OLD.locked_at IS NOT NULL)
    EXECUTE FUNCTION public.security_credential_lock_record();

CREATE TRIGGER security_credential_lock_append_only
    BEFORE UPDATE OR DELETE ON public.security_credentiallockchange
    FOR EACH ROW EXECUTE FUNCTION public.ledger_append_only();
CREATE TRIGGER security_credential_lock_no_truncate
    BEFORE TRUNCATE ON public.security_credentiallockchange
    FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_no_truncate();
"""
# the history's time is clock_timestamp(), held loadable like every date of these apps (accounts 0031)
CHECKS, CHECKS_REVERSE = TIMESTAMPS.loadable_checks({"security_credentiallockchange": ("changed_at",)})

RULES_REVERSE = """
DROP TRIGGER IF EXISTS security_credential_lock_no_truncate ON public.security_credentiallockchange;
DROP TRIGGER IF EXISTS security_credential_lock_append_only ON public.security_credentiallockchange;
DROP TRIGGER IF EXISTS security_credential_lock_record_delete ON public.security_credential;
DROP TRIGGER IF EXISTS security_credential_lock_record_update ON public.security_credential;
DROP TRIGGER IF EXISTS security_credential_lock_record_insert ON public.security_credential;
DROP FUNCTION IF EXISTS public.security_credential_lock_record();
DROP TRIGGER IF EXISTS security_credential_guard ON public.security_credential;
DROP FUNCTION IF EXISTS public.security_credential_guard();
DROP FUNCTION IF EXISTS public.security_lockout_threshold(text);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0034_account_names_held'),
        ('security', '0012_timestamps_loadable'),
    ]

    operations = [
        migrations.CreateModel(
            name='CredentialLockChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('changed_at', models.DateTimeField(verbose_name='変更日時')),
                ('xact_id', models.BigIntegerField(verbose_name='トランザクションID')),
                ('db_user', models.CharField(max_length=64, verbose_name='DBユーザー')),
                ('kind', models.CharField(choices=[('password', 'ログインパスワード'), ('image_card', '画像認証'), ('otp', 'ワンタイムパスワード'), ('passkey', 'パスキー')], max_length=16, verbose_name='種類')),
                ('locked', models.BooleanField(verbose_name='ロック')),
                ('failures', models.PositiveIntegerField(verbose_name='連続失敗回数')),
                ('customer', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.customer', verbose_name='契約者')),
            ],
            options={
                'verbose_name': 'ロック履歴',
                'verbose_name_plural': 'ロック履歴',
            },
        ),
        migrations.RunSQL(RULES, RULES_REVERSE),
        migrations.RunSQL(CHECKS, CHECKS_REVERSE),
    ]
