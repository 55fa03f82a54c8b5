"""SEC-5, SEC-6, SEC-10, SEC-16 (outside review dbprobe30 F1, F8; security 0015): as the app's
role, a passkey, 「パスキーでのみログイン」, an image card, an OTP token and IB取引中止 / 再開 are
taken only with their service's audit row and mail in the transaction (CI306, CI308 at the
commit), and the rewrites no service makes are refused at once (CI307). Every service path
still commits."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Customer
from notifications.models import OutboxMessage
from security import cards, otp, passkeys
from security.models import AuditEvent, Credential, ImageCard, OtpToken, Passkey
from security.services import (
    customer_ib_resume,
    customer_ib_suspend,
    initial_password_issue,
    login_authenticate,
    password_change,
)
from tests import factories
from tests.accounts.test_counter_deposit_key import at_commit
from tests.accounts.test_ledger_lockdown import refused
from tests.security import secondfactor
from tests.security.test_passkeys import ORIGINS, login_options, registered

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def staff_actors():
    """The staff users the staff rows below name: active, of the branch staff group (security
    0023: a staff action's row stands only by a staff user who may take it)."""
    return [factories.staff_user("staff01"), factories.staff_user("staff-t")]


TAKEN, HELD, STATUS = "CI306", "CI307", "CI308"
# a mail written 送信対象外 to no one for a customer with an address is refused as it is written
# (notifications 0019, dbprobe30 F2), before these rules count it at the commit
UNSENT = "CI243"
AUDIT = ("INSERT INTO security_auditevent (contract_id, action, outcome, summary, actor, created_at, customer_id)"
         " VALUES ('', %s, 'success', '', %s, now(), %s)")
MAIL = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
        " next_attempt_at, created_at) VALUES (%s, %s, %s, 's', 'b', %s, 0, now(), now())")
# dbprobe30-repro.sql F1: the attacker's COSE P-256 public key
PLANTED = ("INSERT INTO security_passkey (name, credential_id, public_key, sign_count, transports, created_at,"
           " customer_id) VALUES ('iPhone', '\\x61747461636b65722d637265642d30303031', '\\xa501020326', 0, '[]',"
           " now(), %s)")
CHALLENGE = ("INSERT INTO security_webauthnchallenge (id, customer_id, purpose, nonce, challenge, name, created_at,"
             " expires_at, used_at) VALUES (gen_random_uuid(), %s, 'register', '\\x00', gen_random_uuid()::text::bytea,"
             " 'iPhone', now(), now() + interval '5 minutes', now())")


def audit(customer, action, actor=""):
    return (AUDIT, [action, actor, customer.pk])


def mail(customer, event, *, skipped=False, to=None):
    return (MAIL, [customer.pk, event, customer.email if to is None else to, "skipped" if skipped else "pending"])


def told(customer, action, event=None, actor=""):
    return [audit(customer, action, actor), mail(customer, event or action)]


def with_address():
    return factories.customer(email=f"{factories.unique('f')}@example.jp".lower())


# --- F1: passkeys -------------------------------------------------------------------------

def test_a_planted_passkey_is_refused_at_the_commit():
    """The repro of F1 (its first step): a passkey INSERTed with nothing of its service."""
    customer = with_address()
    plant = (PLANTED, [customer.pk])
    challenge = (CHALLENGE, [customer.pk])
    register = told(customer, "passkey_register", "passkey_add")
    assert at_commit([plant]) == TAKEN
    assert at_commit([plant, challenge, audit(customer, "passkey_register")]) == TAKEN, "no mail"
    assert at_commit([plant, challenge, mail(customer, "passkey_add")]) == TAKEN, "no audit row"
    assert at_commit([plant, *register]) == TAKEN, "no register challenge used"
    assert at_commit([plant, challenge, audit(customer, "passkey_register"),
                      mail(customer, "passkey_add", skipped=True, to="")]) == UNSENT, "skipped, to no one"
    other = with_address()
    assert at_commit([plant, (CHALLENGE, [other.pk]), *told(other, "passkey_register", "passkey_add")]) == TAKEN
    assert at_commit([plant, challenge, *register]) is None


def test_a_customer_with_no_address_is_told_by_the_skipped_mail():
    customer = factories.customer(email="")
    assert at_commit([(PLANTED, [customer.pk]), (CHALLENGE, [customer.pk]), audit(customer, "passkey_register"),
                      mail(customer, "passkey_add", skipped=True, to="")]) is None


def test_passkey_only_is_switched_on_by_its_service():
    """The repro of F1 (its second step)."""
    customer = with_address()
    switch = ("UPDATE accounts_customer SET passkey_only = true WHERE id = %s", [customer.pk])
    assert at_commit([switch]) == TAKEN
    assert at_commit([switch, audit(customer, "passkey_only")]) == TAKEN
    assert at_commit([switch, audit(customer, "passkey_only"), mail(customer, "passkey_only", skipped=True, to="")]) \
        == UNSENT
    assert at_commit([switch, *told(customer, "passkey_register", "passkey_add")]) == TAKEN
    assert at_commit([switch, *told(customer, "passkey_only")]) is None


@pytest.mark.django_db(transaction=True)  # switched on by its service in a transaction of its own, before
def test_passkey_only_is_switched_off_by_its_services():
    """dbprobe33 F3 (security 0020): off — the weaker login — was one UPDATE, with no audit
    row or mail. Now only with 「利用しない」's row and mail, or the last passkey's deletion, or
    the branch's reset (with its staff user); the services themselves commit."""
    customer = secondfactor.customer_with_card(email=f"{factories.unique('p')}@example.jp".lower())
    with transaction.atomic():
        registered(customer)
    with transaction.atomic():  # as the view runs it
        passkeys.passkey_only_set(customer=customer, enabled=True, ip=None)
    off = ("UPDATE accounts_customer SET passkey_only = false WHERE id = %s", [customer.pk])
    assert at_commit([off]) == TAKEN
    assert at_commit([off, audit(customer, "passkey_only")]) == TAKEN, "no mail"
    assert at_commit([off, mail(customer, "passkey_only")]) == TAKEN, "no audit row"
    assert at_commit([off, *told(customer, "passkey_register", "passkey_add")]) == TAKEN, "another service's"
    assert at_commit([off, audit(customer, "passkey_reset"), mail(customer, "passkey_remove")]) == TAKEN, \
        "a reset without the staff user"
    assert at_commit([off, *told(customer, "passkey_only")]) is None
    assert at_commit([off, *told(customer, "passkey_delete", "passkey_remove")]) is None
    assert at_commit([off, audit(customer, "passkey_reset", actor="staff-t"), mail(customer, "passkey_remove")]) is None
    with transaction.atomic():  # a real commit: its own rules hold
        passkeys.passkey_only_set(customer=customer, enabled=False, ip=None)
    customer.refresh_from_db()
    assert not customer.passkey_only


@pytest.mark.parametrize("change", [
    "public_key = '\\xa501020326'", "credential_id = '\\x61'", "customer_id = %(other)s", "name = 'iPhone'",
    "sign_count = sign_count - 1", "last_used_at = NULL", "transports = '[\"usb\"]'", "created_at = now()",
])
def test_a_passkey_takes_only_its_counter_and_last_use(change):
    customer = secondfactor.customer_with_card()
    authenticator = registered(customer)
    passkeys.passkey_verify_login(customer=customer, response_json=authenticator.assertion(login_options(customer)),
                                  origins=ORIGINS, ip=None)
    other = factories.customer()
    assert refused(f"UPDATE security_passkey SET {change} WHERE customer_id = %(customer)s",
                   {"customer": customer.pk, "other": other.pk}) == HELD
    with connection.cursor() as cursor:
        cursor.execute("UPDATE security_passkey SET sign_count = sign_count + 5, last_used_at = now()"
                       " WHERE customer_id = %s", [customer.pk])


def test_a_passkey_is_removed_only_by_its_services_and_never_leaves_passkey_only_alone():
    """security 0017 (what 0015 left of F1): the app's role deleted a customer's passkeys and
    left 「パスキーでのみログイン」 on — the customer, after the right password, was sent to a
    passkey they no longer had — with no audit row or mail."""
    customer = secondfactor.customer_with_card(email=f"{factories.unique('p')}@example.jp".lower())
    registered(customer)
    remove = ("DELETE FROM security_passkey WHERE customer_id = %s", [customer.pk])
    assert at_commit([remove]) == TAKEN
    assert at_commit([remove, audit(customer, "passkey_delete")]) == TAKEN, "no mail"
    assert at_commit([remove, mail(customer, "passkey_remove")]) == TAKEN, "no audit row"
    assert at_commit([remove, audit(customer, "passkey_reset"), mail(customer, "passkey_remove")]) == TAKEN, \
        "a reset without the staff user"
    assert at_commit([remove, *told(customer, "passkey_delete", "passkey_remove")]) is None
    assert at_commit([remove, audit(customer, "passkey_reset", actor="staff-t"), mail(customer, "passkey_remove")]) \
        is None
    passkeys.passkey_only_set(customer=customer, enabled=True, ip=None)
    assert at_commit([remove, *told(customer, "passkey_delete", "passkey_remove")]) == TAKEN, "passkey_only left on"
    passkeys.passkey_delete(customer=customer, passkey_id=Passkey.objects.get(customer=customer).pk, ip=None)
    assert at_commit([]) is None  # the service's own delete ends パスキーでのみログイン with it
    customer.refresh_from_db()
    assert not customer.passkey_only and not Passkey.objects.filter(customer=customer).exists()


# --- F1: the image card and the OTP token -------------------------------------------------

def test_an_image_card_is_issued_by_its_service():
    customer = with_address()
    card = ("INSERT INTO security_imagecard (layout, is_active, issued_at, issued_by, customer_id)"
            " VALUES ('[]', true, now(), '', %s)", [customer.pk])
    assert at_commit([card]) == TAKEN
    assert at_commit([card, audit(customer, "card_issue")]) == TAKEN
    assert at_commit([card, *told(customer, "otp_activate")]) == TAKEN
    assert at_commit([card, *told(customer, "card_issue")]) is None


@pytest.mark.parametrize("change", ["layout = '[]'", "customer_id = %(other)s", "issued_at = now() - interval '1 day'",
                                    "issued_by = 'x'"])
def test_a_cards_layout_is_never_rewritten(change):
    customer = secondfactor.customer_with_card()
    other = factories.customer()
    assert refused(f"UPDATE security_imagecard SET {change} WHERE customer_id = %(customer)s",
                   {"customer": customer.pk, "other": other.pk}) == HELD


def test_a_deactivated_card_is_never_active_again():
    customer = secondfactor.customer_with_card()
    first = ImageCard.objects.get(customer=customer)
    cards.image_card_issue(customer=customer, actor="staff01", reason="紛失")
    # the new card off too (as its own reissue's row and mail allow; a card is never deleted,
    # security 0018), so that the old one's reactivation meets only CI307
    with connection.cursor() as cursor:
        cursor.execute("UPDATE security_imagecard SET is_active = false, deactivated_at = now()"
                       " WHERE customer_id = %s AND is_active", [customer.pk])
        for sql, params in told(customer, "card_issue"):
            cursor.execute(sql, params)
    assert refused("UPDATE security_imagecard SET is_active = true WHERE id = %s", [first.pk]) == HELD


@pytest.mark.django_db(transaction=True)
def test_a_card_is_deactivated_only_by_its_reissue():
    customer = secondfactor.customer_with_card()
    off = ("UPDATE security_imagecard SET is_active = false, deactivated_at = now() WHERE customer_id = %s",
           [customer.pk])
    assert at_commit([off]) == TAKEN
    assert at_commit([off, *told(customer, "card_issue")]) is None


def _token(customer, activated: bool) -> list:
    device = TOTPDevice.objects.create(user=customer.user, name="攻撃者", confirmed=True,
                                       key="3132333435363738393031323334353637383930")
    return [("INSERT INTO security_otptoken (serial, required_at_login, issued_at, activated_at, customer_id,"
             " device_id) VALUES (%s, false, now(), " + ("now()" if activated else "NULL") + ", %s, %s)",
             ["CS" + factories.unique()[-10:].rjust(10, "0"), customer.pk, device.pk])]


def test_an_otp_token_is_activated_by_its_service():
    """A seed the attacker knows, planted as an active token."""
    customer = with_address()
    plant = _token(customer, activated=True)
    assert at_commit(plant) == TAKEN
    assert at_commit([*plant, audit(customer, "otp_activate")]) == TAKEN
    assert at_commit([*plant, *told(customer, "otp_activate")]) is None
    pending = _token(factories.customer(), activated=False)
    assert at_commit(pending) is None  # otp_token_issue's pending token: its activation is what is held
    activate = ("UPDATE security_otptoken SET activated_at = now() WHERE customer_id = %s", [customer.pk])
    assert at_commit([*_token(customer, activated=False), activate]) == TAKEN


@pytest.mark.parametrize("change", ["device", "key", "tolerance", "digits", "serial", "customer", "activated_at"])
def test_an_otp_tokens_seed_and_device_are_never_rewritten(change):
    customer = secondfactor.customer_with_card(email="otp@example.jp")
    token = secondfactor.activate_otp(customer)
    other = TOTPDevice.objects.create(user=customer.user, name="攻撃者", confirmed=True)
    statement = {
        "device": f"UPDATE security_otptoken SET device_id = {other.pk} WHERE id = %s",
        "key": "UPDATE otp_totp_totpdevice SET key = '3132333435363738393031323334353637383930'"
               " WHERE id = (SELECT device_id FROM security_otptoken WHERE id = %s)",
        "tolerance": "UPDATE otp_totp_totpdevice SET tolerance = 1000"
                     " WHERE id = (SELECT device_id FROM security_otptoken WHERE id = %s)",
        "digits": "UPDATE otp_totp_totpdevice SET digits = 1"
                  " WHERE id = (SELECT device_id FROM security_otptoken WHERE id = %s)",
        "serial": "UPDATE security_otptoken SET serial = 'CS0000000000' WHERE id = %s",
        "customer": f"UPDATE security_otptoken SET customer_id = {factories.customer().pk} WHERE id = %s",
        "activated_at": "UPDATE security_otptoken SET activated_at = NULL WHERE id = %s",
    }[change]
    assert refused(statement, [token.pk]) == HELD
    with connection.cursor() as cursor:  # a staff user's own device is not a customer's token's
        cursor.execute("UPDATE otp_totp_totpdevice SET key = '3132333435363738393031323334353637383930'"
                       " WHERE id = %s", [other.pk])


def test_otp_at_login_is_switched_by_its_service():
    customer = secondfactor.customer_with_card(email="otp@example.jp")
    secondfactor.activate_otp(customer, required_at_login=True)
    off = ("UPDATE security_otptoken SET required_at_login = false WHERE customer_id = %s", [customer.pk])
    assert at_commit([off]) == TAKEN
    assert at_commit([off, *told(customer, "otp_login_setting")]) is None


# --- F8: IB取引中止 / 再開 / 解約 -----------------------------------------------------------

def test_ib_suspend_is_taken_by_its_service():
    customer = with_address()
    stop = ("UPDATE accounts_customer SET status = 'suspended' WHERE id = %s", [customer.pk])
    assert at_commit([stop]) == STATUS
    assert at_commit([stop, audit(customer, "ib_suspend")]) == STATUS, "no mail"
    assert at_commit([stop, audit(customer, "ib_suspend"), mail(customer, "ib_suspend", skipped=True, to="")]) \
        == UNSENT
    assert at_commit([stop, *told(customer, "ib_suspend")]) is None


def test_ib_resume_is_staffs_with_its_row_and_mail():
    """The repro of F8: a suspension lifted by one UPDATE."""
    customer = with_address()
    customer_ib_suspend(customer=customer, ip=None)
    resume = ("UPDATE accounts_customer SET status = 'active' WHERE id = %s", [customer.pk])
    assert at_commit([resume]) == STATUS
    assert at_commit([resume, *told(customer, "ib_resume")]) == STATUS, "no staff user"
    assert at_commit([resume, audit(customer, "ib_resume", "staff01")]) == STATUS, "no mail"
    assert at_commit([resume, *told(customer, "ib_suspend", actor="staff01")]) == STATUS
    with connection.cursor() as cursor:
        cursor.execute("UPDATE security_credential SET failures_while_suspended = 1"
                       " WHERE customer_id = %s AND kind = 'password'", [customer.pk])
        cursor.execute("INSERT INTO security_auditevent (contract_id, action, outcome, summary, actor, created_at,"
                       " customer_id) VALUES ('', 'login', 'failure', 'IB取引中止中・パスワード誤り', '', now(), %s)",
                       [customer.pk])  # the guess's failed login (CI315, security 0022)
    assert at_commit([resume, *told(customer, "ib_resume", actor="staff01")]) == STATUS, "guesses not seen"
    assert at_commit([resume, *told(customer, "ib_resume", actor="staff01"),
                      ("UPDATE security_credential SET failures_while_suspended = 0 WHERE customer_id = %s",
                       [customer.pk])]) is None


@pytest.mark.parametrize("change", ["'active' WHERE status = 'closed'", "'suspended' WHERE status = 'closed'",
                                    "'closed' WHERE status = 'active'"])
def test_a_contract_is_not_closed_nor_reopened_by_the_app(change):
    user = get_user_model().objects.create_user(username=factories.unique("c"), password="x")
    closed = Customer.objects.create(user=user, contract_id=f"6{factories.unique()[-9:].rjust(9, '0')}",
                                     name_kanji="解約", name_kana="ｶｲﾔｸ", status="closed")
    active = with_address()
    target = closed if "status = 'closed'" in change else active
    statement = ("UPDATE accounts_customer SET status = " + change + " AND id = %s", [target.pk])
    everything = told(target, "ib_resume", actor="staff01") + told(target, "ib_suspend", actor="staff01")
    assert at_commit([statement, *everything]) == STATUS


# --- every service path commits -----------------------------------------------------------

# --- security 0018: a factor's removal and a customer's password -----------------------------

def test_an_active_otp_token_is_ended_only_by_the_branchs_revoke():
    """dbprobe30 (what 0015 left): DELETE of an active token took the customer's ワンタイムパスワード
    and ログイン時認証 away with no trace. Only ``otp_token_revoke`` — staff's row and the mail;
    the row's actor a staff user holding security.reset_passkeys (security 0024): not a ghost,
    not one who may only lift a lock, not an inactive one."""
    customer = secondfactor.customer_with_card(email=f"{factories.unique('o')}@example.jp".lower())
    token = secondfactor.activate_otp(customer)
    remove = ("DELETE FROM security_otptoken WHERE id = %s", [token.pk])
    assert at_commit([remove]) == TAKEN
    assert at_commit([remove, *told(customer, "otp_revoke")]) == TAKEN, "no staff user"
    assert at_commit([remove, audit(customer, "otp_revoke", actor="staff-t")]) == TAKEN, "no mail"
    factories.staff_user_holding("staff-unlock", "accounts.unlock_credential")
    factories.staff_user("staff-off", is_active=False)
    for actor in ("ghost-staff", "staff-unlock", "staff-off"):  # security 0024: a staff user who may
        assert at_commit([remove, *told(customer, "otp_revoke", actor=actor)]) == TAKEN, actor
    assert at_commit([remove, *told(customer, "otp_revoke", actor="staff-t")]) is None
    pending = secondfactor.customer_with_card()
    issued = otp.otp_token_issue(customer=pending)
    assert at_commit([("DELETE FROM security_otptoken WHERE id = %s", [issued.pk])]) is None  # 利用開始 anew


def test_an_image_card_is_never_deleted():
    """dbprobe30: DELETE of the card left the customer nothing to answer a step-up with."""
    customer = secondfactor.customer_with_card(email=f"{factories.unique('c')}@example.jp".lower())
    remove = ("DELETE FROM security_imagecard WHERE customer_id = %s", [customer.pk])
    assert at_commit([remove]) == HELD
    assert at_commit([remove, *told(customer, "card_issue")]) == HELD


def test_a_customers_password_is_set_only_by_its_services():
    """dbprobe30: ``UPDATE auth_user SET password`` planted a password the attacker knows."""
    customer = with_address()
    stored = get_user_model().objects.get(pk=customer.user_id).password
    kind = stored.rsplit("$", 2)[0]
    planted = ("UPDATE auth_user SET password = %s WHERE id = %s", [f"{kind}$attacker$0123", customer.user_id])
    assert at_commit([planted]) == TAKEN
    assert at_commit([planted, audit(customer, "password_change")]) == TAKEN, "no mail"
    assert at_commit([planted, *told(customer, "password_change")]) is None
    assert at_commit([planted, *told(customer, "initial_password_issue")]) == TAKEN, "no staff user"
    assert at_commit([planted, *told(customer, "initial_password_issue", actor="staff-t")]) is None
    # a login's re-hash: an older hasher's hash stored anew changes the algorithm or its parameters
    assert at_commit([planted, audit(customer, "login")]) == TAKEN, "the same kind of hash: no re-hash"
    rehashed = ("UPDATE auth_user SET password = %s WHERE id = %s",
                ["pbkdf2_sha256$1000000$salt$digest", customer.user_id])
    assert at_commit([rehashed]) == TAKEN
    assert at_commit([rehashed, audit(customer, "login")]) is None
    assert at_commit([rehashed, audit(customer, "otp_activate_identify")]) is None
    assert at_commit([rehashed, audit(with_address(), "login")]) == TAKEN, "another customer's login"
    staff = get_user_model().objects.create_user(username=factories.unique("staff"), password="Staff-pass-1")
    assert at_commit([("UPDATE auth_user SET password = 'x' WHERE id = %s", [staff.pk])]) is None


@pytest.mark.django_db(transaction=True)
def test_the_password_and_removal_services_commit_under_the_rules(settings):
    """security 0018: password_change, initial_password_issue, otp_token_revoke and a login
    that re-hashes an older hasher's hash all commit as the app's role."""
    customer = secondfactor.customer_with_card(password="Right123", email="pw@example.jp")
    password_change(customer=customer, current_password="Right123", new_password="Newpass2027",
                    ip=None, keep_session_key=None)
    initial_password_issue(customer=customer, reason="来店", actor="staff01")
    secondfactor.activate_otp(customer)
    assert otp.otp_token_revoke(customer=customer, actor="staff01", reason="紛失")
    again = secondfactor.customer_with_card(password="Right123")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher", *settings.PASSWORD_HASHERS]
    assert login_authenticate(contract_id=again.contract_id, password="Right123", ip=None).ok
    assert get_user_model().objects.get(pk=again.user_id).password.startswith("pbkdf2_sha256$")
    assert not OtpToken.objects.filter(customer=customer).exists()
    assert {"password_change", "initial_password_issue", "otp_revoke"} <= set(
        AuditEvent.objects.filter(customer=customer, outcome="success").values_list("action", flat=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("email", ["svc@example.jp", ""])
def test_every_service_path_commits_under_the_rules(email):
    factories.staff_user("staff01")  # the staff actions' actor (CI315: a staff user who may take them)
    customer = secondfactor.customer_with_card(password="Right123", email=email)  # card_issue
    cards.image_card_issue(customer=customer, actor="staff01", reason="紛失")  # 再発行: deactivates
    token = secondfactor.activate_otp(customer, required_at_login=False)
    otp.otp_login_setting_change(customer=customer, required_at_login=True, ip=None)
    with transaction.atomic():  # as the step-up's transaction runs them
        authenticator = registered(customer)
    passkeys.passkey_verify_login(customer=customer, response_json=authenticator.assertion(login_options(customer)),
                                  origins=ORIGINS, ip=None)
    for enabled in (True, False):
        with transaction.atomic():
            passkeys.passkey_only_set(customer=customer, enabled=enabled, ip=None)
    customer_ib_suspend(customer=customer, ip=None)
    customer_ib_resume(customer=customer, reason="本人確認済み", actor="staff01")
    customer_ib_suspend(customer=customer, ip=None, actor="staff01", reason="電話で本人確認")
    assert not login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None).ok
    assert customer_ib_resume(customer=customer, reason="来店", actor="staff01", guesses_seen=1)  # a new password
    customer.refresh_from_db()
    token.refresh_from_db()
    passkey = Passkey.objects.get(customer=customer)
    assert (customer.status, customer.passkey_only, token.required_at_login, passkey.sign_count) == (
        "active", False, True, 1)
    assert list(ImageCard.objects.filter(customer=customer).order_by("id").values_list("is_active", flat=True)) == [
        False, True]
    assert OtpToken.objects.filter(customer=customer, activated_at__isnull=False).exists()
    assert Credential.objects.get(customer=customer, kind="password").failures_while_suspended == 0
    actions = set(AuditEvent.objects.filter(customer=customer, outcome="success").values_list("action", flat=True))
    assert {"card_issue", "otp_activate", "passkey_register", "passkey_only", "ib_suspend", "ib_resume"} <= actions
    assert OutboxMessage.objects.filter(customer=customer, event="ib_resume").count() == 2
