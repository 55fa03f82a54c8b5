"""SEC-5, SEC-6, SEC-10, SEC-13, SEC-16 (outside review dbprobe30 F1, F8): a customer's
authentication factors and IB status are changed, by the app's role, only by the service
that changes each, with its audit row and mail in the same transaction.

dbprobe30 F1: the app's role planted a passkey (its own key pair) for a customer and set
「パスキーでのみログイン」 in one transaction, with no audit row and no mail — the planted
key then passed every login and step-up of the customer, and the customer's own way in
was gone. The same held for the image card's layout and the OTP seed. dbprobe30 F8: one
``UPDATE accounts_customer SET status = 'active'`` lifted a customer's IB取引中止 with no
staff and no trace ('suspended' shut a customer out; 'closed' → 'active' reopened a 解約).
What each service writes in the transaction of its change:

* a passkey — ``passkey_register`` (security/passkeys.py): the used ``register`` WebAuthn
  challenge of that customer and name, the ``passkey_register`` success audit row and the
  ``passkey_add`` mail; afterwards a passkey row only takes its sign counter (never
  backwards) and its last-used time (``passkey_check``);
* 「パスキーでのみログイン」 on — ``passkey_only_set``: the ``passkey_only`` success audit
  row and the ``passkey_only`` mail;
* an image card — ``image_card_issue`` (cards.py): the ``card_issue`` success audit row and
  mail; the previous card deactivated in that transaction; a layout is never rewritten, a
  card never moved to another customer, never made active again;
* an OTP token made active, at login or not — ``otp_activate`` (otp.py): the
  ``otp_activate`` success audit row and mail; its ログイン時認証 changed later —
  ``otp_login_setting_change``: the ``otp_login_setting`` row and mail; a token never moves
  to another customer, serial or device, and the key (the seed) and TOTP parameters of a
  customer's token's device are never rewritten (``otp_token_issue`` replaces a pending
  token with a new device instead);
* IB取引中止 — ``customer_ib_suspend`` (services.py, the customer after a step-up or staff):
  the ``ib_suspend`` success audit row and mail; IB取引再開 — ``customer_ib_resume``
  (staff only): the ``ib_resume`` success row with the staff user (``actor``), its mail,
  and the guesses of the suspension back to 0 (CI305 holds their reset to the same rows);
  解約 (``closed``) is made by no path of the app (the contract is closed by the back
  office): for the app's role no contract is closed, and a closed one is final.

A mail counts when it is to be sent (not ``skipped``), or ``skipped`` for a customer with
no address (none now, or none before this transaction registered one) — a mail written
送信対象外 to '' for a customer with an address tells no one (dbprobe30 F2). CI306 (at the commit) and CI308 (at the commit) want the rows of the
transaction (``transfers_row_of_this_xact``, as CI305); CI307 refuses at once the rewrites
no service makes. The owner (a DBA) is not bound.
"""

import importlib

from django.db import migrations

TIMESTAMPS = importlib.import_module("accounts.migrations.0031_timestamps_loadable")
NOT_OWNER = TIMESTAMPS.not_owner()


def audited(customer: str, action: str, *, staff: bool = False) -> str:
    """SQL: this transaction wrote the ``action`` success audit row of ``customer`` (an SQL
    expression), with a staff user as ``actor`` when ``staff``."""
    return ("EXISTS (SELECT 1 FROM public.security_auditevent a WHERE a.customer_id = " + customer
            + f" AND a.action = '{action}' AND a.outcome = 'success'" + (" AND a.actor <> ''" if staff else "")
            + " AND a.recorded_at >= now() AND public.transfers_row_of_this_xact(a.xmin))")


def mailed(customer: str, event: str) -> str:
    """SQL: this transaction wrote ``customer`` a mail of ``event`` that tells them: to be
    sent, or 送信対象外 only for a customer with no address — none now, or none before this
    transaction gave one (its row in the database's address history, notifications 0010).
    A mail written 送信対象外 to '' for a customer with an address tells no one (dbprobe30 F2)."""
    return ("EXISTS (SELECT 1 FROM public.notifications_outboxmessage m WHERE m.customer_id = " + customer
            + f" AND m.event = '{event}' AND public.transfers_row_of_this_xact(m.xmin)"
            " AND (m.status <> 'skipped'"
            " OR EXISTS (SELECT 1 FROM public.accounts_customer c WHERE c.id = " + customer + " AND c.email = '')"
            " OR EXISTS (SELECT 1 FROM public.notifications_emailaddresschange h WHERE h.customer_id = " + customer
            + " AND h.old_email = '' AND h.xact_id = pg_catalog.pg_current_xact_id()::text::bigint)))")


def told(customer: str, action: str, event: str | None = None, *, staff: bool = False) -> str:
    return "(" + audited(customer, action, staff=staff) + " AND " + mailed(customer, event or action) + ")"


CHALLENGE_USED = ("EXISTS (SELECT 1 FROM public.security_webauthnchallenge w WHERE w.customer_id = NEW.customer_id"
                  " AND w.purpose = 'register' AND w.name = NEW.name AND w.used_at IS NOT NULL"
                  " AND public.transfers_row_of_this_xact(w.xmin))")
RESUME_GUESSES_FORGOTTEN = ("NOT EXISTS (SELECT 1 FROM public.security_credential k WHERE k.customer_id = NEW.id"
                            " AND k.kind = 'password' AND k.failures_while_suspended > 0)")


def function(name: str, body: str, code: str) -> str:
    """A trigger function for the app's role that raises ``code`` with ``v_problem``."""
    return f"""
CREATE FUNCTION public.{name}() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_problem text;
BEGIN
    IF NOT {NOT_OWNER} THEN
        RETURN NULL;
    END IF;
{body}
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION '%', v_problem USING ERRCODE = '{code}';
    END IF;
    RETURN NULL;
END $$;
"""


# --- CI306 at the commit: a factor is taken by its service -----------------------------------

PASSKEY_TAKEN = function("security_passkey_taken_by_its_service", f"""
    IF NOT ({CHALLENGE_USED} AND {told('NEW.customer_id', 'passkey_register', 'passkey_add')}) THEN
        v_problem := format('passkey %s of customer %s: a passkey is registered by passkey_register (its register '
                            'challenge used, the passkey_register audit row and the passkey_add mail)',
                            NEW.id, NEW.customer_id);
    END IF;""", "CI306")

PASSKEY_ONLY_TAKEN = function("security_passkey_only_taken_by_its_service", f"""
    IF NOT {told('NEW.id', 'passkey_only')} THEN
        v_problem := format('customer %s: 「パスキーでのみログイン」 is switched on by passkey_only_set (the '
                            'passkey_only audit row and mail)', NEW.id);
    END IF;""", "CI306")

CARD_TAKEN = function("security_imagecard_taken_by_its_service", f"""
    IF NOT {told('NEW.customer_id', 'card_issue')} THEN
        v_problem := format('image card %s of customer %s: a card is issued, and the one before it deactivated, '
                            'by image_card_issue (the card_issue audit row and mail)', NEW.id, NEW.customer_id);
    END IF;""", "CI306")

OTP_TAKEN = function("security_otptoken_taken_by_its_service", f"""
    IF TG_OP = 'INSERT' OR OLD.activated_at IS NULL THEN  -- (the WHEN: NEW.activated_at is set)
        IF NOT {told('NEW.customer_id', 'otp_activate')} THEN
            v_problem := format('OTP token %s of customer %s: a token is made active by otp_activate (the '
                                'otp_activate audit row and mail)', NEW.id, NEW.customer_id);
        END IF;
    ELSIF NOT {told('NEW.customer_id', 'otp_login_setting')} THEN
        v_problem := format('OTP token %s of customer %s: ログイン時認証 is changed by otp_login_setting_change '
                            '(the otp_login_setting audit row and mail)', NEW.id, NEW.customer_id);
    END IF;""", "CI306")

# --- CI307 at once: rewrites no service makes ------------------------------------------------

PASSKEY_HELD = function("security_passkey_held", """
    IF (NEW.id, NEW.customer_id, NEW.name, NEW.credential_id, NEW.public_key, NEW.transports, NEW.created_at)
       IS DISTINCT FROM (OLD.id, OLD.customer_id, OLD.name, OLD.credential_id, OLD.public_key, OLD.transports,
                         OLD.created_at) THEN
        v_problem := 'a passkey takes only its sign counter and last-used time';
    ELSIF NEW.sign_count < OLD.sign_count THEN
        v_problem := 'a passkey''s sign counter never goes back';
    ELSIF NEW.last_used_at IS NULL AND OLD.last_used_at IS NOT NULL THEN
        v_problem := 'a passkey''s last-used time is never taken away';
    END IF;
    IF v_problem IS NOT NULL THEN
        v_problem := format('passkey %s of customer %s: %s', OLD.id, OLD.customer_id, v_problem);
    END IF;""", "CI307")

CARD_HELD = function("security_imagecard_held", """
    IF (NEW.id, NEW.customer_id, NEW.layout::text, NEW.issued_at, NEW.issued_by)
       IS DISTINCT FROM (OLD.id, OLD.customer_id, OLD.layout::text, OLD.issued_at, OLD.issued_by) THEN
        v_problem := format('image card %s of customer %s: a card''s layout, customer and issue are never '
                            'rewritten (a new card is issued instead)', OLD.id, OLD.customer_id);
    ELSIF NEW.is_active AND NOT OLD.is_active THEN
        v_problem := format('image card %s of customer %s: a deactivated card is never active again',
                            OLD.id, OLD.customer_id);
    END IF;""", "CI307")

OTP_HELD = function("security_otptoken_held", """
    IF (NEW.id, NEW.customer_id, NEW.device_id, NEW.serial, NEW.issued_at)
       IS DISTINCT FROM (OLD.id, OLD.customer_id, OLD.device_id, OLD.serial, OLD.issued_at) THEN
        v_problem := format('OTP token %s of customer %s: a token never moves to another customer, device or '
                            'serial (a new token is issued instead)', OLD.id, OLD.customer_id);
    ELSIF OLD.activated_at IS NOT NULL AND NEW.activated_at IS DISTINCT FROM OLD.activated_at THEN
        v_problem := format('OTP token %s of customer %s: an activation is never undone or moved',
                            OLD.id, OLD.customer_id);
    END IF;""", "CI307")

DEVICE_HELD = function("security_otp_device_held", """
    IF EXISTS (SELECT 1 FROM public.security_otptoken t WHERE t.device_id = OLD.id) THEN
        v_problem := format('OTP device %s of a customer''s token: its key (the seed), user and TOTP parameters '
                            'are never rewritten (otp_token_issue makes a new device)', OLD.id);
    END IF;""", "CI307")

# --- CI308 at the commit: IB取引中止 / 再開, 解約 ---------------------------------------------

STATUS_TAKEN = function("security_customer_status_taken_by_its_service", f"""
    IF OLD.status = 'closed' THEN
        v_problem := '解約 (closed) is final';
    ELSIF OLD.status = 'active' AND NEW.status = 'suspended' THEN
        IF NOT {told('NEW.id', 'ib_suspend')} THEN
            v_problem := 'IB取引中止 is taken by customer_ib_suspend (the ib_suspend audit row and mail)';
        END IF;
    ELSIF OLD.status = 'suspended' AND NEW.status = 'active' THEN
        IF NOT ({told('NEW.id', 'ib_resume', staff=True)} AND {RESUME_GUESSES_FORGOTTEN}) THEN
            v_problem := 'IB取引再開 is taken by staff through customer_ib_resume (the ib_resume audit row with '
                         'the staff user, its mail, and the guesses of the suspension back to 0)';
        END IF;
    ELSE
        v_problem := format('%s -> %s is no change the app makes (解約 is made by the back office)',
                            OLD.status, NEW.status);
    END IF;
    IF v_problem IS NOT NULL THEN
        v_problem := format('customer %s: %s', NEW.id, v_problem);
    END IF;""", "CI308")

FORWARD = "".join([PASSKEY_TAKEN, PASSKEY_ONLY_TAKEN, CARD_TAKEN, OTP_TAKEN, PASSKEY_HELD, CARD_HELD, OTP_HELD,
                   DEVICE_HELD, STATUS_TAKEN]) + """
CREATE CONSTRAINT TRIGGER security_passkey_taken_by_its_service
    AFTER INSERT ON public.security_passkey DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.security_passkey_taken_by_its_service();
CREATE TRIGGER security_passkey_held
    AFTER UPDATE ON public.security_passkey
    FOR EACH ROW EXECUTE FUNCTION public.security_passkey_held();

CREATE CONSTRAINT TRIGGER security_passkey_only_taken_by_its_service
    AFTER UPDATE OF passkey_only ON public.accounts_customer DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.passkey_only AND NOT OLD.passkey_only)
    EXECUTE FUNCTION public.security_passkey_only_taken_by_its_service();
CREATE CONSTRAINT TRIGGER security_customer_status_taken_by_its_service
    AFTER UPDATE OF status ON public.accounts_customer DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status)
    EXECUTE FUNCTION public.security_customer_status_taken_by_its_service();

CREATE CONSTRAINT TRIGGER security_imagecard_issued_by_its_service
    AFTER INSERT ON public.security_imagecard DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.security_imagecard_taken_by_its_service();
CREATE CONSTRAINT TRIGGER security_imagecard_taken_by_its_service
    AFTER UPDATE OF is_active ON public.security_imagecard DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.is_active AND NOT NEW.is_active)
    EXECUTE FUNCTION public.security_imagecard_taken_by_its_service();
CREATE TRIGGER security_imagecard_held
    AFTER UPDATE ON public.security_imagecard
    FOR EACH ROW EXECUTE FUNCTION public.security_imagecard_held();

CREATE CONSTRAINT TRIGGER security_otptoken_activated_by_its_service
    AFTER INSERT ON public.security_otptoken DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.activated_at IS NOT NULL)
    EXECUTE FUNCTION public.security_otptoken_taken_by_its_service();
CREATE CONSTRAINT TRIGGER security_otptoken_taken_by_its_service
    AFTER UPDATE ON public.security_otptoken DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN ((OLD.activated_at IS NULL AND NEW.activated_at IS NOT NULL)
                       OR (OLD.activated_at IS NOT NULL AND NEW.required_at_login <> OLD.required_at_login))
    EXECUTE FUNCTION public.security_otptoken_taken_by_its_service();
CREATE TRIGGER security_otptoken_held
    AFTER UPDATE ON public.security_otptoken
    FOR EACH ROW EXECUTE FUNCTION public.security_otptoken_held();
CREATE TRIGGER security_otp_device_held
    AFTER UPDATE ON public.otp_totp_totpdevice
    FOR EACH ROW WHEN ((NEW.key, NEW.user_id, NEW.step, NEW.t0, NEW.digits, NEW.tolerance)
                       IS DISTINCT FROM (OLD.key, OLD.user_id, OLD.step, OLD.t0, OLD.digits, OLD.tolerance))
    EXECUTE FUNCTION public.security_otp_device_held();
"""

TRIGGERS = [
    ("security_passkey_taken_by_its_service", "security_passkey"),
    ("security_passkey_held", "security_passkey"),
    ("security_passkey_only_taken_by_its_service", "accounts_customer"),
    ("security_customer_status_taken_by_its_service", "accounts_customer"),
    ("security_imagecard_issued_by_its_service", "security_imagecard"),
    ("security_imagecard_taken_by_its_service", "security_imagecard"),
    ("security_imagecard_held", "security_imagecard"),
    ("security_otptoken_activated_by_its_service", "security_otptoken"),
    ("security_otptoken_taken_by_its_service", "security_otptoken"),
    ("security_otptoken_held", "security_otptoken"),
    ("security_otp_device_held", "otp_totp_totpdevice"),
]
FUNCTIONS = ["security_passkey_taken_by_its_service", "security_passkey_only_taken_by_its_service",
             "security_imagecard_taken_by_its_service", "security_otptoken_taken_by_its_service",
             "security_passkey_held", "security_imagecard_held", "security_otptoken_held",
             "security_otp_device_held", "security_customer_status_taken_by_its_service"]

REVERSE = "".join(f"DROP TRIGGER IF EXISTS {trigger} ON public.{table};\n" for trigger, table in TRIGGERS) + "".join(
    f"DROP FUNCTION IF EXISTS public.{name}();\n" for name in FUNCTIONS)


class Migration(migrations.Migration):

    dependencies = [
        ("security", "0014_credential_lock_taken_by_its_service"),
        ("accounts", "0031_timestamps_loadable"),
        ("otp_totp", "0001_initial"),
        ("notifications", "0010_email_address_change_history"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
