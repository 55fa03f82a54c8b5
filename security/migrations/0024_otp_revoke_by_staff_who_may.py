"""SEC-5, SEC-16, STAFF-1, LEDGER-7 (after probe34 F5, the one staff row security 0023 left of
any actor): a customer's active OTP token is ended by a staff user who may reset a lost
device's factor.

security 0018 (CI306) asked ``otp_token_revoke``'s ``otp_revoke`` audit row of the
transaction only for a non-empty ``actor``: the app's role could name 「ghost-staff」, a user
who does not exist, an inactive one, or a staff user without any such permission. No admin view
revokes a token yet, so no view's permission was there to ask for; the service is branch work
for a lost or replaced phone, and the bank's nearest power is the passkey reset's
``security.reset_passkeys`` (``PasskeyAdmin.has_reset_permission``): the same counter
procedure (the customer's identity checked for a lost device) with the same effect — a login
factor taken away, the customer logging in with less (the image card). Asking
``accounts.unlock_credential`` instead would let the holder of a lighter power (lifting a
lock after failed guesses, the factor kept) remove the factor itself.

Now the row's actor is one ``public.security_staff_may(actor, 'security.reset_passkeys')``
lets take it (an active is_staff user holding it directly, by a group — the branch staff
group holds it — or as a superuser). As 0023, every public function reading the row of any
actor is rewritten in its current text (``pg_get_functiondef``), the one condition only; the
reverse writes it back.

SQL functions: CREATE OR REPLACE FUNCTION public.security_otptoken_removed_by_its_service()
(one condition). Nothing added.
"""

import importlib

from django.db import migrations

WHO_MAY_0023 = importlib.import_module("security.migrations.0023_staff_actor_who_may")

ACTION = "otp_revoke"
PERMISSION = "security.reset_passkeys"
EXPECTED = {"security_otptoken_removed_by_its_service"}


def _rewrite(schema_editor, *, forward: bool) -> set[str]:
    old = WHO_MAY_0023._row(ACTION, WHO_MAY_0023.ANY_ACTOR)
    new = WHO_MAY_0023._row(ACTION, WHO_MAY_0023.staff_may(PERMISSION))
    if not forward:
        old, new = new, old
    rewritten = set()
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(WHO_MAY_0023._FUNCTIONS_READING, [old])
        for name, definition in cursor.fetchall():
            cursor.execute(definition.replace(old, new))
            rewritten.add(name)
    return rewritten


def actors_who_may(apps, schema_editor):
    rewritten = _rewrite(schema_editor, forward=True)
    assert EXPECTED <= rewritten, rewritten


def any_actor(apps, schema_editor):
    _rewrite(schema_editor, forward=False)


class Migration(migrations.Migration):

    dependencies = [("security", "0023_staff_actor_who_may")]

    operations = [migrations.RunPython(actors_who_may, any_actor)]
