"""SEC-5, SEC-6, SEC-8, SEC-13, SEC-16, STAFF-1, LEDGER-7 (outside probe34 F5): a credential's
failures move only with the answers of that credential, a lock is lifted only by a staff user
who may lift it, and a lock's audit rows and mails stand only for a lock change.

CI304 (0013) holds each step of a credential's count and lock, and CI305 (0014) asks a lock, a
lift and a reset for its service's rows — but any rows: as the app's role the probe counted
failures with no failure audit row at all (``SET failures = 1``, ``= 2``), locked a customer's
image card with that count, a forged ``lockout`` row and mail, and lifted it with an
``unlock`` row naming 「ghost-staff」, a user who does not exist; a ``logout`` success row put a
guessed-at count back to 0; and an ``unlock`` row and mail committed with nothing locked (the
customer was sent 「ロック解除のお知らせ」 for a lock that never was). What the services write
in the transaction of each change (security/services.py, cards.py, otp.py, passkeys.py,
stepup.py):

* a failure counted (``credential_register_failure``) — the answer's failure audit row of that
  credential: for the login password ``login`` / ``otp_activate_identify`` / ``password_change``
  (also counting a guess made during IB取引中止, ``failures_while_suspended``); for a factor the
  ``step_up`` row (``login_otp`` for the OTP at login) whose summary names the factor as a word
  (「振込 画像認証 認証誤り」, 「ワンタイムパスワード 誤り」), ``login_passkey`` for a passkey at
  login, and ``otp_activate`` whose summary names the factor that was wrong (「画像認証：誤り」);
* failures back to 0 on an unlocked row (``credential_register_success``) — the success row of
  that credential's answer (the same actions; an ``otp_activate`` row that does not name the
  factor wrong), or, for the login password, 初回パスワード再発行's row by a staff user who may
  issue (``accounts.issue_initial_password``);
* a lock — set by the failure that reaches the limit, in the same UPDATE (CI304 holds the limit);
* a lock lifted — staff's ``credential_unlock``: the ``unlock`` row whose summary begins with the
  credential's name (「画像認証：…」, 「ログインパスワード（初回パスワード再発行）：…」), its
  ``actor`` an active staff user (``auth_user.username``, is_staff) who holds
  ``accounts.unlock_credential`` (a superuser holds every permission, as Django's
  ``ModelBackend`` says); or, for the login password, the ``initial_password_issue`` row by a
  staff user who may issue (ロック解除 with a new password, IB取引再開 after guesses);
* an ``unlock`` or ``lockout`` audit row of a customer, and a mail of event ``unlock`` or
  ``lockout`` — only with a lift or a lock of this transaction (the history the database alone
  writes, ``security_credentiallockchange``, 0013), the audit row's summary naming its credential.

For the app's role (the owner, a DBA, is not bound), at the commit (``DEFERRABLE INITIALLY
DEFERRED``: every service writes its audit row and mail after the change), CI315. The count is
held as a sum: at the commit the failures added since each counted step are no more than that
credential's failure rows of the transaction (two steps with one row are refused). CI305's own
checks stay as they were; its triggers fire first (by name), so a change CI305 refuses still
says CI305. The app's role can still write the rows and name a real staff user — then the
change is not silent: it shows in 操作ログ under that user's name, to the customer, and in
ロック履歴.

SQL functions/triggers: CREATE FUNCTION public.security_credential_label(text),
public.security_staff_may(text, text), public.security_credential_with_its_own_answer(),
public.security_lock_told_with_its_change(); CREATE CONSTRAINT TRIGGER
security_credential_with_its_own_answer (security_credential),
security_lock_audit_with_its_change (security_auditevent),
security_lock_mail_with_its_change (notifications_outboxmessage). Nothing replaced.
"""

import importlib

from django.db import migrations

NOT_OWNER = importlib.import_module("accounts.migrations.0031_timestamps_loadable").not_owner()

# Credential.Kind's labels (tests/security/test_credential_answers.py holds them equal): the
# words the services' audit summaries name a credential by
LABELS = {"password": "ログインパスワード", "image_card": "画像認証", "otp": "ワンタイムパスワード", "passkey": "パスキー"}
PASSWORD_ACTIONS = ("login", "otp_activate_identify", "password_change")
UNLOCK_PERMISSION = "accounts.unlock_credential"
ISSUE_PERMISSION = "accounts.issue_initial_password"


def _word(label: str) -> str:
    """SQL: the audit row ``a``'s summary has ``label`` as a word of its own (the step-up's
    「<operation> <factor>[ <refusal>]」, the login OTP's 「<factor> <refusal>」)."""
    return f"(' ' || a.summary || ' ') LIKE '% {label} %'"


def answer(kind: str, outcome: str) -> str:
    """SQL: the audit row ``a`` is an answer of a ``kind`` credential that ``outcome``
    ('success' or 'failure') — see the docstring above for each service's row."""
    label = LABELS[kind]
    if kind == "password":
        actions = ", ".join(f"'{action}'" for action in PASSWORD_ACTIONS)
        return f"(a.action IN ({actions}) AND a.outcome = '{outcome}')"
    if kind == "passkey":
        return (f"(a.outcome = '{outcome}' AND (a.action = 'login_passkey'"
                f" OR a.action = 'step_up' AND {_word(label)}))")
    step = "('step_up', 'login_otp')" if kind == "otp" else "('step_up')"
    # 利用開始 checks the card and the code together; its summary names each factor that was wrong
    named_wrong = f"(a.outcome = 'failure' AND a.summary LIKE '%{label}：%')"
    activate = named_wrong if outcome == "failure" else f"NOT {named_wrong}"
    return (f"((a.outcome = '{outcome}' AND a.action IN {step} AND {_word(label)})"
            f" OR (a.action = 'otp_activate' AND {activate}))")


def of_its_kind(outcome: str) -> str:
    """SQL: ``a`` is an answer of NEW's kind that ``outcome``."""
    return "(" + " OR ".join(f"(NEW.kind = '{kind}' AND {answer(kind, outcome)})" for kind in LABELS) + ")"


def rows(where: str) -> str:
    """SQL: the audit rows of NEW's customer written by this transaction ``where``."""
    return ("FROM public.security_auditevent a WHERE a.customer_id = NEW.customer_id AND " + where
            + " AND a.recorded_at >= now() AND public.transfers_row_of_this_xact(a.xmin)")


def staff(permission: str) -> str:
    return f"public.security_staff_may(a.actor, '{permission}')"


UNLOCKED = ("EXISTS (SELECT 1 " + rows("a.action = 'unlock' AND a.outcome = 'success'"
                                     " AND starts_with(a.summary, public.security_credential_label(NEW.kind))"
                                     f" AND {staff(UNLOCK_PERMISSION)}") + ")")
ISSUED = ("(NEW.kind = 'password' AND EXISTS (SELECT 1 "
          + rows(f"a.action = 'initial_password_issue' AND a.outcome = 'success' AND {staff(ISSUE_PERMISSION)}") + "))")
PASSWORD_FAILED = "(" + answer("password", "failure") + ")"


def told_with_its_change(name: str, what: str, *, audit: bool) -> str:
    """The function of the constraint trigger ``name``: an ``unlock`` / ``lockout`` audit row
    (``audit``) or mail of a customer stands for a lift / a lock of this transaction (0013's
    history, written by the database alone) — an audit row of the credential its summary names,
    its unlock by a staff user who may lift it."""
    named = " AND starts_with(NEW.summary, public.security_credential_label(h.kind))" if audit else ""
    staff_check = f"""
    IF NOT v_locked AND NOT public.security_staff_may(NEW.actor, '{UNLOCK_PERMISSION}') THEN
        RAISE EXCEPTION 'audit row unlock of customer %: its actor (%) is an active staff user holding '
                        '{UNLOCK_PERMISSION}', NEW.customer_id, NEW.actor USING ERRCODE = 'CI315';
    END IF;""" if audit else ""
    row = "audit row" if audit else "mail"
    of = " of the credential its summary names" if audit else " of a credential"
    return f"""
CREATE FUNCTION public.{name}() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_locked constant boolean := NEW.{what} = 'lockout';
BEGIN
    IF NOT {NOT_OWNER} THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.security_credentiallockchange h
                    WHERE h.customer_id = NEW.customer_id AND h.locked = v_locked
                      AND h.xact_id = pg_catalog.pg_current_xact_id()::text::bigint{named}) THEN
        RAISE EXCEPTION '{row} % of customer %: written only with % of this transaction', NEW.{what},
            NEW.customer_id, CASE WHEN v_locked THEN 'the lock' ELSE 'the lift of the lock' END || '{of}'
            USING ERRCODE = 'CI315';
    END IF;{staff_check}
    RETURN NULL;
END $$;
"""


TOLD_AUDIT = told_with_its_change("security_lock_audit_with_its_change", "action", audit=True)
TOLD_MAIL = told_with_its_change("security_lock_mail_with_its_change", "event", audit=False)

FORWARD = f"""
CREATE FUNCTION public.security_credential_label(p_kind text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT CASE p_kind {' '.join(f"WHEN '{kind}' THEN '{label}'" for kind, label in LABELS.items())} END
$$;

-- an active staff user (auth_user.username) who holds the permission '<app_label>.<codename>'
-- (directly, through a group, or as a superuser: Django's ModelBackend)
CREATE FUNCTION public.security_staff_may(p_username text, p_permission text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.auth_user u
         WHERE u.username = p_username AND p_username <> '' AND u.is_active AND u.is_staff
           AND (u.is_superuser
                OR EXISTS (SELECT 1 FROM public.auth_user_user_permissions up
                             JOIN public.auth_permission p ON p.id = up.permission_id
                             JOIN public.django_content_type t ON t.id = p.content_type_id
                            WHERE up.user_id = u.id AND t.app_label || '.' || p.codename = p_permission)
                OR EXISTS (SELECT 1 FROM public.auth_user_groups ug
                             JOIN public.auth_group_permissions gp ON gp.group_id = ug.group_id
                             JOIN public.auth_permission p ON p.id = gp.permission_id
                             JOIN public.django_content_type t ON t.id = p.content_type_id
                            WHERE ug.user_id = u.id AND t.app_label || '.' || p.codename = p_permission)))
$$;

CREATE FUNCTION public.security_credential_with_its_own_answer() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_failures integer;
    v_while_suspended integer;
    v_rows bigint;
    v_problem text;
BEGIN
    IF NOT {NOT_OWNER} THEN
        RETURN NULL;
    END IF;
    -- the row as the commit leaves it (none: removed with its customer in this transaction)
    SELECT c.failures, c.failures_while_suspended INTO v_failures, v_while_suspended
      FROM public.security_credential c WHERE c.id = NEW.id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF NEW.failures > OLD.failures THEN
        SELECT count(*) INTO v_rows {rows(of_its_kind('failure'))};
        IF v_rows < v_failures - OLD.failures THEN
            v_problem := format('%s failure(s) counted since %s with %s failure audit row(s) of its own answer '
                                '(a failure is counted with the failure row of the answer that was wrong)',
                                v_failures - OLD.failures, OLD.failures, v_rows);
        END IF;
    END IF;
    IF v_problem IS NULL AND NEW.failures_while_suspended > OLD.failures_while_suspended THEN
        SELECT count(*) INTO v_rows {rows(PASSWORD_FAILED)};
        IF v_rows < v_while_suspended - OLD.failures_while_suspended THEN
            v_problem := format('%s guess(es) during IB取引中止 counted with %s failed login row(s)',
                                v_while_suspended - OLD.failures_while_suspended, v_rows);
        END IF;
    END IF;
    IF v_problem IS NOT NULL THEN
        NULL;
    ELSIF OLD.locked_at IS NULL AND NEW.locked_at IS NOT NULL THEN
        IF NEW.failures <> OLD.failures + 1 THEN
            v_problem := 'a lock is set by the failure that reaches the limit';
        END IF;
    ELSIF OLD.locked_at IS NOT NULL AND NEW.locked_at IS NULL THEN
        IF NOT ({UNLOCKED} OR {ISSUED}) THEN
            v_problem := 'a lock is lifted by a staff user who may lift it (an active staff user holding '
                         '{UNLOCK_PERMISSION}, named by the unlock row of this credential; for the login password '
                         'also the initial_password_issue row of one holding {ISSUE_PERMISSION})';
        END IF;
    ELSIF OLD.failures > 0 AND NEW.failures = 0 THEN
        IF NOT (EXISTS (SELECT 1 {rows(of_its_kind('success'))}) OR {ISSUED}) THEN
            v_problem := 'failures go back to 0 with a right answer of this credential (its success row), or '
                         'the login password''s with 初回パスワード再発行 by a staff user who may issue';
        END IF;
    END IF;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'credential % of customer %: %', NEW.kind, NEW.customer_id, v_problem
            USING ERRCODE = 'CI315';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER security_credential_with_its_own_answer
    AFTER UPDATE ON public.security_credential
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.failures > OLD.failures
                       OR NEW.failures_while_suspended > OLD.failures_while_suspended
                       OR NEW.locked_at IS DISTINCT FROM OLD.locked_at
                       OR (OLD.failures > 0 AND NEW.failures = 0))
    EXECUTE FUNCTION public.security_credential_with_its_own_answer();

{TOLD_AUDIT}{TOLD_MAIL}
CREATE CONSTRAINT TRIGGER security_lock_audit_with_its_change
    AFTER INSERT ON public.security_auditevent
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.action IN ('lockout', 'unlock'))
    EXECUTE FUNCTION public.security_lock_audit_with_its_change();
CREATE CONSTRAINT TRIGGER security_lock_mail_with_its_change
    AFTER INSERT ON public.notifications_outboxmessage
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.event IN ('lockout', 'unlock'))
    EXECUTE FUNCTION public.security_lock_mail_with_its_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS security_lock_mail_with_its_change ON public.notifications_outboxmessage;
DROP TRIGGER IF EXISTS security_lock_audit_with_its_change ON public.security_auditevent;
DROP FUNCTION IF EXISTS public.security_lock_mail_with_its_change();
DROP FUNCTION IF EXISTS public.security_lock_audit_with_its_change();
DROP TRIGGER IF EXISTS security_credential_with_its_own_answer ON public.security_credential;
DROP FUNCTION IF EXISTS public.security_credential_with_its_own_answer();
DROP FUNCTION IF EXISTS public.security_staff_may(text, text);
DROP FUNCTION IF EXISTS public.security_credential_label(text);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("security", "0021_password_initial_taken_by_its_service"),
        ("notifications", "0029_told_by_a_mail_written_here"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
