"""SEC-3, SEC-8, LEDGER-7 (outside review dbprobe33 F3/F4): 初回パスワード — the flag that makes
a customer change the initial password the branch gave them before anything else works — is
changed, for the app's role, only as the services change it.

``accounts_customer.password_is_initial`` had no rule: one ``UPDATE … SET password_is_initial
= false`` skipped the forced change (the initial password on the printed slip, or one issued
by the branch's ロック解除, went on working as the customer's password, and nobody was told),
and ``= true`` sent a customer back to the forced change. The services that change it each
write their audit row and mail in the transaction of the change (security/services.py):

* off — the customer's own change of the password (``password_change``, the first login's
  change and 各種設定's alike): the ``password_change`` success audit row and mail (the same
  the password itself asks for, 0018);
* on — the branch's 初回パスワード再発行 (``initial_password_issue``, also from ロック解除 and
  IB取引再開): the ``initial_password_issue`` row with the staff user (``actor``) and its mail.

As 0015/0020 hold 「パスキーでのみログイン」 and the contract's status on the same table: at the
commit (``DEFERRABLE INITIALLY DEFERRED``: the audit row and the mail come after the change in
each service), for the app's role only (the owner, a DBA, is not bound), a mail counted as 0020
counts it (written by this transaction, notifications 0029), CI314. A customer INSERTed with
either value is the back office's (accounts 0037: the demo seed, the tests' factories), and
holds no earlier password to keep.

SQL functions/triggers: CREATE FUNCTION public.security_password_initial_taken_by_its_service(),
CREATE CONSTRAINT TRIGGER of the same name on accounts_customer. Nothing replaced.
"""

import importlib

from django.db import migrations

FACTORS_0015 = importlib.import_module("security.migrations.0015_factors_and_ib_status_taken_by_their_service")
told = importlib.import_module("security.migrations.0020_passkey_only_off_told").told

FUNCTION = FACTORS_0015.function("security_password_initial_taken_by_its_service", f"""
    IF NOT NEW.password_is_initial AND NOT {told('password_change')} THEN
        v_problem := format('customer %s: 初回パスワード ends only with the customer''s password_change (its '
                            'audit row and mail)', NEW.id);
    ELSIF NEW.password_is_initial AND NOT {told('initial_password_issue', staff=True)} THEN
        v_problem := format('customer %s: 初回パスワード is set only by the branch''s initial_password_issue (its '
                            'audit row with the staff user and its mail)', NEW.id);
    END IF;""", "CI314")

FORWARD = FUNCTION + """
CREATE CONSTRAINT TRIGGER security_password_initial_taken_by_its_service
    AFTER UPDATE OF password_is_initial ON public.accounts_customer DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.password_is_initial IS DISTINCT FROM OLD.password_is_initial)
    EXECUTE FUNCTION public.security_password_initial_taken_by_its_service();
"""

REVERSE = """
DROP TRIGGER IF EXISTS security_password_initial_taken_by_its_service ON public.accounts_customer;
DROP FUNCTION IF EXISTS public.security_password_initial_taken_by_its_service();
"""


class Migration(migrations.Migration):

    dependencies = [("security", "0020_passkey_only_off_told")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
