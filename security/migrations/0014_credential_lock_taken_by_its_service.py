"""SEC-8, SEC-13, LEDGER-7 (outside review dbprobe29 F7): a credential's lock, unlock and
reset are taken by the service that takes each, with its audit row (and mail).

CI304 (0013) holds each step of a credential's failures and lock, not who takes it: five
``UPDATE … SET failures = failures + 1`` (the last with ``locked_at``) locked any customer
with no ``lockout`` audit row and no mail; ``SET failures = 0, locked_at = NULL`` unlocked
with no staff, no ``unlock`` audit row and no mail; and failures put back to 0 on an
unlocked row left no trace at all (a customer under online guessing never locked). What
each service writes in the transaction of its change (security/services.py):

* a lock — ``credential_register_failure`` (login, パスワード変更, OTP, 画像認証, passkey):
  the ``lockout`` audit row (outcome refused) and the ``lockout`` mail of the customer;
* an unlock — staff's ``credential_unlock``: the ``unlock`` audit row with the staff user
  (``actor``) and the ``unlock`` mail; ``initial_password_issue`` (ロック解除 with a new
  password, 初回パスワード再発行, IB取引再開 after guesses): the ``initial_password_issue``
  audit row with ``actor`` and its mail;
* failures put back to 0 on an unlocked row — ``credential_register_success`` (a right
  password, OTP, image card or passkey) and ``initial_password_issue``: a success audit
  row of the customer (``login``, ``step_up``, ``login_passkey``, ``password_change``,
  ``initial_password_issue`` …), or the ``otp_activate`` row whatever its outcome (the card
  and the code are checked together there: one may be right while the other is wrong);
* the guesses made during IB取引中止 put back to 0 — ``customer_ib_suspend`` and
  ``customer_ib_resume``: the ``ib_suspend`` / ``ib_resume`` success audit row.

``security_credential_taken_by_its_service`` (deferred to the commit, for the app's role,
CI305) wants those rows written in the same transaction (``transfers_row_of_this_xact``)
for each such change. A mail is the customer's of that event whatever its state (pending,
or 送信対象外 without an address). The owner (a DBA) is not bound. The audit row can still
be written by the app's role itself: the change is no longer silent — it shows in 操作ログ
and the customer's mail, and in ロック履歴 (``CredentialLockChange``, now in admin).
"""

import importlib

from django.db import migrations

TIMESTAMPS = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

def audited(where: str) -> str:
    """SQL: this transaction wrote an audit row of the credential's customer ``where`` (its
    ``recorded_at``, the database's clock (0009), is not before this transaction began)."""
    return ("EXISTS (SELECT 1 FROM public.security_auditevent a WHERE a.customer_id = NEW.customer_id"
            f" AND {where} AND a.recorded_at >= now() AND public.transfers_row_of_this_xact(a.xmin))")


def mailed(event: str) -> str:
    """SQL: this transaction wrote the customer a mail of ``event`` (pending or 送信対象外)."""
    return ("EXISTS (SELECT 1 FROM public.notifications_outboxmessage m WHERE m.customer_id = NEW.customer_id"
            f" AND m.event = '{event}' AND public.transfers_row_of_this_xact(m.xmin))")


LOCK = audited("a.action = 'lockout' AND a.outcome = 'refused'") + " AND " + mailed("lockout")
UNLOCK = " OR ".join(
    "(" + audited(f"a.action = '{action}' AND a.outcome = 'success' AND a.actor <> ''") + " AND " + mailed(action) + ")"
    for action in ("unlock", "initial_password_issue"))
# otp_activate checks the card and the code together: one may be right (its failures back
# to 0) while the row says failure for the other
RESET = audited("(a.outcome = 'success' OR a.action = 'otp_activate')")
RESUMED = audited("a.action IN ('ib_suspend', 'ib_resume') AND a.outcome = 'success'")

FORWARD = f"""
CREATE FUNCTION public.security_credential_taken_by_its_service() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_problem text;
BEGIN
    IF NOT {TIMESTAMPS.not_owner()} THEN
        RETURN NULL;
    END IF;
    IF OLD.locked_at IS NULL AND NEW.locked_at IS NOT NULL THEN
        IF NOT ({LOCK}) THEN
            v_problem := 'a lock comes with the lockout audit row and the lockout mail of its service';
        END IF;
    ELSIF OLD.locked_at IS NOT NULL AND NEW.locked_at IS NULL THEN
        IF NOT ({UNLOCK}) THEN
            v_problem := 'a lock is lifted by staff (unlock or initial_password_issue audit row with the staff user, '
                         'and its mail)';
        END IF;
    ELSIF OLD.failures > 0 AND NEW.failures = 0 THEN
        IF NOT ({RESET}) THEN
            v_problem := 'failures go back to 0 with the success (audit row) that puts them back';
        END IF;
    END IF;
    IF v_problem IS NULL AND OLD.failures_while_suspended > 0 AND NEW.failures_while_suspended = 0
       AND NOT ({RESUMED}) THEN
        v_problem := 'the guesses made during IB取引中止 go back to 0 with its ib_suspend or ib_resume audit row';
    END IF;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'credential % of customer %: %', NEW.kind, NEW.customer_id, v_problem
            USING ERRCODE = 'CI305';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER security_credential_taken_by_its_service
    AFTER UPDATE ON public.security_credential
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.locked_at IS DISTINCT FROM OLD.locked_at
                       OR (OLD.failures > 0 AND NEW.failures = 0)
                       OR (OLD.failures_while_suspended > 0 AND NEW.failures_while_suspended = 0))
    EXECUTE FUNCTION public.security_credential_taken_by_its_service();
"""

REVERSE = """
DROP TRIGGER IF EXISTS security_credential_taken_by_its_service ON public.security_credential;
DROP FUNCTION IF EXISTS public.security_credential_taken_by_its_service();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("security", "0013_credential_lock_rules"),
        ("transfers", "0012_transfer_confirmed_by_its_customer"),
        ("notifications", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
