"""LEDGER-6, STAFF-1, LEDGER-7 (after probe34 F5, as security 0023 / payeasy 0014): a 臨時休業日
is written by a staff user who may write it.

accounts 0036 (CI114) asked the ``staff_closing_day`` audit row of the transaction to name an
active is_staff user — any one, with or without the permission ``BankClosingDayAdmin`` checks.
Now its actor is one ``public.security_staff_may`` (security 0022) lets take the operation: an
INSERT by one holding ``accounts.add_bankclosingday``, a DELETE by one holding
``accounts.delete_bankclosingday`` (directly, by a group — the branch staff group holds both,
accounts.roles — or as a superuser). Nobody changes a closing day (CI114 refuses any UPDATE).

The function keeps its text but this one condition, rewritten in the database's own current
text (``pg_get_functiondef``, ``rewrite_condition``); the reverse writes it back.

SQL functions: CREATE OR REPLACE FUNCTION public.accounts_closing_day_by_staff() (one
condition). Nothing added.
"""

from django.db import migrations

_FUNCTION_TEXT = """
SELECT pg_catalog.pg_get_functiondef(p.oid)
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.proname = %s"""


def rewrite_condition(schema_editor, name: str, old: str, new: str) -> None:
    """CREATE OR REPLACE ``public.name()`` from its current text with the one condition ``old``
    (there exactly once) written ``new``."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(_FUNCTION_TEXT, [name])
        (definition,), = cursor.fetchall()
        if definition.count(old) != 1:
            raise RuntimeError(f"public.{name}(): {old!r} found {definition.count(old)} times, not once")
        cursor.execute(definition.replace(old, new))


def condition_rewritten(name: str, old: str, new: str) -> migrations.RunPython:
    """The operation rewriting ``public.name()``'s condition ``old`` as ``new``; back, ``new``
    as ``old``."""
    return migrations.RunPython(lambda apps, schema_editor: rewrite_condition(schema_editor, name, old, new),
                                lambda apps, schema_editor: rewrite_condition(schema_editor, name, new, old))


FUNCTION = "accounts_closing_day_by_staff"
ANY_STAFF = "JOIN public.auth_user u ON u.username = a.actor AND u.is_staff AND u.is_active"
# security_staff_may asks is_active and is_staff itself
STAFF_WHO_MAY = ("JOIN public.auth_user u ON u.username = a.actor AND public.security_staff_may(a.actor,"
                 " CASE WHEN TG_OP = 'DELETE' THEN 'accounts.delete_bankclosingday'"
                 " ELSE 'accounts.add_bankclosingday' END)")


class Migration(migrations.Migration):

    # security 0022 (security_staff_may) is read when a closing day is written, not here, as
    # 0036 says of security 0009
    dependencies = [("accounts", "0039_ledger_post_service_keys_only")]

    operations = [condition_rewritten(FUNCTION, ANY_STAFF, STAFF_WHO_MAY)]
