"""SEC-8, SEC-10, SEC-16, STAFF-1, LEDGER-7 (after probe34 F5): a staff action's audit row
stands for the change only when its ``actor`` is a staff user who may take that action.

security 0022 asks this of the ``unlock`` row (``security_staff_may``: an active is_staff
user in ``auth_user`` holding the permission directly, by a group, or as a superuser). The
older rules asked only that the row's ``actor`` is not empty, so the app's role could name
「ghost-staff」, a user who does not exist, or a staff user without the permission:

* CI308 (0015) IB取引再開 — the ``ib_resume`` row: now by one holding ``accounts.resume_ib``
  (``CustomerAdmin.resume_view``);
* CI306 (0020) 「パスキーでのみログイン」 ended by the branch's reset — the ``passkey_reset``
  row: ``security.reset_passkeys`` (``PasskeyAdmin.has_reset_permission``);
* CI314 (0021) a new initial password — the ``initial_password_issue`` row:
  ``accounts.issue_initial_password`` (``CustomerAdmin.initial_password_view``; the resume
  after guesses asks the same);
* CI309 (0016) a staff user's login lock lifted — the ``staff_login_unlock`` row: an active
  staff superuser (``StaffLoginCounterAdmin.has_unlock_permission``: superusers only).

Each rule keeps its text but this one condition: as notifications 0029 did, this migration
rewrites, in the database's own current text (``pg_get_functiondef``), every public function
that reads one of these rows of any actor — the four above, and with them CI305's
``initial_password_issue`` (0014), the passkey removal's ``passkey_reset`` (0017, CI306) and the
password's ``initial_password_issue`` (0018); the reverse rewrites them back (0022's own
function, written with the check, is left alone). A later migration that writes one of these
functions anew keeps the new condition (``STAFF_MAY``). Still of any actor: 0022's ``unlock``
row in CI305 (CI315 asks it of one who may) and ``otp_revoke`` (0018: no admin view revokes a
token, so no permission to ask for).

SQL functions: CREATE OR REPLACE FUNCTION public.security_customer_status_taken_by_its_service(),
public.security_passkey_only_taken_by_its_service(), public.security_passkey_removed_by_its_service(),
public.security_password_initial_taken_by_its_service(), public.security_credential_taken_by_its_service(),
public.security_customer_password_by_its_service(),
public.security_stafflogincounter_taken_by_its_service() (one condition each). Nothing added.
"""

from django.db import migrations

ANY_ACTOR = "a.actor <> ''"
SUPERUSER = ("EXISTS (SELECT 1 FROM public.auth_user su WHERE su.username = a.actor AND a.actor <> ''"
             " AND su.is_active AND su.is_staff AND su.is_superuser)")


def _row(action: str, actor: str) -> str:
    return f"a.action = '{action}' AND a.outcome = 'success' AND {actor}"


def staff_may(permission: str) -> str:
    return f"public.security_staff_may(a.actor, '{permission}')"


# (action of a staff row, who may write it): the permission each admin view checks
STAFF_MAY = [
    ("ib_resume", staff_may("accounts.resume_ib")),
    ("passkey_reset", staff_may("security.reset_passkeys")),
    ("initial_password_issue", staff_may("accounts.issue_initial_password")),
    ("staff_login_unlock", SUPERUSER),
]

# the rules that read them when this was written (0014–0021), each rewritten
EXPECTED = {
    "ib_resume": ["security_customer_status_taken_by_its_service"],
    "passkey_reset": ["security_passkey_only_taken_by_its_service", "security_passkey_removed_by_its_service"],
    "initial_password_issue": ["security_credential_taken_by_its_service", "security_customer_password_by_its_service",
                               "security_password_initial_taken_by_its_service"],
    "staff_login_unlock": ["security_stafflogincounter_taken_by_its_service"],
}

# written with the check already (0022's lift of a lock by the password's initial_password_issue):
# the reverse leaves them as they are
WHO_MAY_ALREADY = ("security_credential_with_its_own_answer",)

_FUNCTIONS_READING = """
SELECT p.proname, pg_catalog.pg_get_functiondef(p.oid)
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND strpos(p.prosrc, %s) > 0
 ORDER BY p.proname"""


def _rewrite(schema_editor, *, forward: bool) -> dict[str, list[str]]:
    """CREATE OR REPLACE every public function whose text reads a staff row of any actor (or,
    back, of one who may); the names rewritten for each action."""
    rewritten = {}
    with schema_editor.connection.cursor() as cursor:
        for action, who in STAFF_MAY:
            old, new = _row(action, ANY_ACTOR), _row(action, who)
            if not forward:
                old, new = new, old
            cursor.execute(_FUNCTIONS_READING, [old])
            for name, definition in cursor.fetchall():
                if name in WHO_MAY_ALREADY:
                    if forward:
                        raise RuntimeError(f"public.{name}() reads a staff row {action} of any actor")
                    continue
                cursor.execute(definition.replace(old, new))
                rewritten.setdefault(action, []).append(name)
    return rewritten


def actors_who_may(apps, schema_editor):
    rewritten = _rewrite(schema_editor, forward=True)
    for action, names in EXPECTED.items():
        assert set(names) <= set(rewritten.get(action, [])), (action, rewritten)


def any_actor(apps, schema_editor):
    _rewrite(schema_editor, forward=False)


class Migration(migrations.Migration):

    dependencies = [("security", "0022_credential_moved_by_its_own_answer")]

    operations = [migrations.RunPython(actors_who_may, any_actor)]
