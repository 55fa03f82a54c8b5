"""SEC-8, SEC-16, LEDGER-7 (outside review dbprobe33 F3): 「パスキーでのみログイン」 is switched off,
for the app's role, only as the services switch it off — as 0015 (CI306) already held its
switching on.

Off is the weaker login (the image card and the one-time password take a passkey's place again),
and the app's role switched it off with one UPDATE: no audit row, no mail. The services that
switch it off each write their row and mail in the transaction:

* the customer's own 「利用しない」 (``passkey_only_set``): the ``passkey_only`` audit row and mail;
* the deletion of the customer's last passkey (``passkey_delete``): the ``passkey_delete`` row
  and the ``passkey_remove`` mail;
* the branch's reset for a customer who lost every passkey (``passkeys_staff_reset``): the
  ``passkey_reset`` row with the staff user, and the ``passkey_remove`` mail.

A mail counts as 0015's ``mailed`` says, the mail *written* by the transaction (notifications
0029's ``inserted_xact``). The owner (a DBA) is not bound.

SQL functions/triggers: CREATE OR REPLACE FUNCTION
public.security_passkey_only_taken_by_its_service(); the constraint trigger of the same name
now fires on a change either way (it fired on the way on only).
"""

import importlib

from django.db import migrations

FACTORS_0015 = importlib.import_module("security.migrations.0015_factors_and_ib_status_taken_by_their_service")
TOLD_0029 = importlib.import_module("notifications.migrations.0029_told_by_a_mail_written_here")


def told(action: str, event: str | None = None, *, staff: bool = False) -> str:
    """0015's ``told`` of the customer NEW.id, its mail read by 0029's condition."""
    return FACTORS_0015.told("NEW.id", action, event, staff=staff).replace(TOLD_0029.XMIN_CHECK,
                                                                          TOLD_0029.MAIL_OF_THIS_XACT)


FUNCTION = FACTORS_0015.function("security_passkey_only_taken_by_its_service", f"""
    IF NEW.passkey_only AND NOT {told('passkey_only')} THEN
        v_problem := format('customer %s: 「パスキーでのみログイン」 is switched on by passkey_only_set (the '
                            'passkey_only audit row and mail)', NEW.id);
    ELSIF NOT NEW.passkey_only
          AND NOT ({told('passkey_only')} OR {told('passkey_delete', 'passkey_remove')}
                   OR {told('passkey_reset', 'passkey_remove', staff=True)}) THEN
        v_problem := format('customer %s: 「パスキーでのみログイン」 is switched off by passkey_only_set, or by the '
                            'deletion of the last passkey or the branch''s reset (their audit row and mail)', NEW.id);
    END IF;""", "CI306").replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)

TRIGGER = """
DROP TRIGGER security_passkey_only_taken_by_its_service ON public.accounts_customer;
CREATE CONSTRAINT TRIGGER security_passkey_only_taken_by_its_service
    AFTER UPDATE OF passkey_only ON public.accounts_customer DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.passkey_only IS DISTINCT FROM OLD.passkey_only)
    EXECUTE FUNCTION public.security_passkey_only_taken_by_its_service();
"""

FUNCTION_0029 = (FACTORS_0015.PASSKEY_ONLY_TAKEN.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
                 .replace(TOLD_0029.XMIN_CHECK, TOLD_0029.MAIL_OF_THIS_XACT))
TRIGGER_0015 = TRIGGER.replace("(NEW.passkey_only IS DISTINCT FROM OLD.passkey_only)",
                               "(NEW.passkey_only AND NOT OLD.passkey_only)")


class Migration(migrations.Migration):

    dependencies = [
        ("security", "0019_credential_and_passkey_deletes"),
        ("notifications", "0029_told_by_a_mail_written_here"),
    ]

    operations = [migrations.RunSQL(FUNCTION + TRIGGER, FUNCTION_0029 + TRIGGER_0015)]
