"""SEC-5, SEC-6, SEC-8, SEC-13, STAFF-1, LEDGER-7 (outside probe34 F5; security 0022, CI315): as
the app's role a credential's failures move only with that credential's own answers, a lock is
lifted only by a staff user who may lift it, and a lock's audit row and mail stand only for a
lock change of their transaction. Each forged path of the probe, then the real paths."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from notifications.models import OutboxMessage
from security import cards
from security.errors import AuthFactorError
from security.models import AuditEvent, Credential, CredentialLockChange
from security.services import credential_unlock, initial_password_issue, login_authenticate
from tests import factories
from tests.accounts.test_counter_deposit_key import at_commit
from tests.security.secondfactor import customer_with_card, right_answers, wrong_answers

pytestmark = pytest.mark.django_db

CI315 = "CI315"
AUDIT = ("INSERT INTO security_auditevent (contract_id, action, outcome, summary, actor, created_at, customer_id)"
         " VALUES ('', %s, %s, %s, %s, now(), %s)")
MAIL = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
        " next_attempt_at, created_at) VALUES (%s, %s, '', 's', 'b', 'skipped', 0, now(), now())")
CARD_STEP = "UPDATE security_credential SET failures = failures + 1 WHERE customer_id = %s AND kind = 'image_card'"
CARD_LOCK = ("UPDATE security_credential SET failures = failures + 1, locked_at = now()"
             " WHERE customer_id = %s AND kind = 'image_card'")
CARD_LIFT = ("UPDATE security_credential SET failures = 0, locked_at = NULL, unlocked_at = now()"
             " WHERE customer_id = %s AND kind = 'image_card'")
CARD_RESET = "UPDATE security_credential SET failures = 0 WHERE customer_id = %s AND kind = 'image_card'"


def audit(customer, action, outcome, summary="", actor=""):
    return (AUDIT, [action, outcome, summary, actor, customer.pk])


def mail(customer, event):
    return (MAIL, [customer.pk, event])


def card_wrong(customer):
    """The step-up's failure row of a wrong image-card answer (security/stepup.py)."""
    return audit(customer, "step_up", "failure", "振込 画像認証 認証誤り")


def test_the_database_names_each_credential_as_the_model_does():
    with connection.cursor() as cursor:
        for kind, label in Credential.Kind.choices:
            cursor.execute("SELECT security_credential_label(%s)", [kind])
            assert cursor.fetchone()[0] == label, kind


def test_a_failure_is_counted_with_the_failure_row_of_its_own_answer():
    """Probe step 1: ``SET failures = 1`` (then 2) with no failure audit row at all."""
    customer = factories.customer()
    Credential.objects.create(customer=customer, kind="image_card")
    step = (CARD_STEP, [customer.pk])
    assert at_commit([step]) == CI315
    assert at_commit([step, audit(customer, "login", "failure", "パスワード誤り")]) == CI315, "the password's row"
    assert at_commit([step, audit(customer, "step_up", "failure", "振込 ワンタイムパスワード 誤り")]) == CI315
    assert at_commit([step, audit(customer, "step_up", "success", "振込 画像認証")]) == CI315, "a success"
    assert at_commit([step, step, card_wrong(customer)]) == CI315, "two counted with one row"
    assert at_commit([step, card_wrong(customer)]) is None
    assert at_commit([step, step, card_wrong(customer), card_wrong(customer)]) is None
    # 利用開始 names the factor that was wrong
    assert at_commit([step, audit(customer, "otp_activate", "failure", "ワンタイムパスワード：誤り")]) == CI315
    assert at_commit([step, audit(customer, "otp_activate", "failure", "画像認証：誤り ワンタイムパスワード：誤り")]) is None


def test_a_guess_during_ib_suspension_is_counted_with_its_failed_login():
    customer = factories.customer()
    Credential.objects.create(customer=customer, kind="password")
    guess = ("UPDATE security_credential SET failures_while_suspended = failures_while_suspended + 1"
             " WHERE customer_id = %s AND kind = 'password'", [customer.pk])
    assert at_commit([guess]) == CI315
    assert at_commit([guess, audit(customer, "login", "failure", "IB取引中止中・パスワード誤り（連続1回目）")]) is None


def test_a_forged_lockout_is_refused():
    """Probe step 2: failures to the limit and the lock, with a forged lockout row and mail but
    no failure of the card's answer."""
    customer = factories.customer()
    for _ in range(settings.SECURITY_LOCKOUT_THRESHOLDS["image_card"] - 1):
        factories.credential_failed(customer, "image_card")
    told = [audit(customer, "lockout", "refused", "画像認証"), mail(customer, "lockout")]
    assert at_commit([(CARD_LOCK, [customer.pk]), *told]) == CI315
    assert at_commit([(CARD_LOCK, [customer.pk]), card_wrong(customer), *told]) is None  # the service's shape


def test_a_lock_is_lifted_only_by_a_staff_user_who_may_lift_it():
    """Probe step 3: the card's lock lifted with an unlock row naming 「ghost-staff」."""
    customer = factories.customer()
    factories.credential_locked(customer, "image_card")
    factories.staff_user("madoguchi")
    factories.staff_user("no-rights", group=False)
    factories.staff_user("left", is_active=False)
    factories.staff_user("customer-side", is_staff=False)  # in the group, but no staff user
    factories.staff_user("admin", group=False, is_superuser=True)

    def lifted_by(actor, summary="画像認証：本人確認済み"):
        return at_commit([(CARD_LIFT, [customer.pk]), audit(customer, "unlock", "success", summary, actor),
                          mail(customer, "unlock")])

    for actor in ("ghost-staff", "no-rights", "left", "customer-side"):  # no actor at all: CI305
        assert lifted_by(actor) == CI315, actor
    assert lifted_by("madoguchi", "ワンタイムパスワード：本人確認済み") == CI315, "another credential's unlock"
    assert lifted_by("madoguchi") is None
    assert lifted_by("admin") is None  # a superuser holds every permission
    # 初回パスワード再発行 lifts the login password's lock only
    issued = [audit(customer, "initial_password_issue", "success", "失念", "madoguchi"),
              mail(customer, "initial_password_issue")]
    assert at_commit([(CARD_LIFT, [customer.pk]), *issued]) == CI315


def test_failures_go_back_to_0_only_with_a_right_answer_of_the_same_credential():
    """Probe step 4a: a logout success row put the count back to 0."""
    customer = factories.customer()
    factories.credential_failed(customer, "image_card")
    factories.credential_failed(customer, "image_card")
    reset = (CARD_RESET, [customer.pk])
    for action, summary in (("logout", ""), ("login", ""), ("step_up", "振込 ワンタイムパスワード"),
                            ("login_passkey", ""), ("step_up", "パスキー登録 パスキー")):
        assert at_commit([reset, audit(customer, action, "success", summary)]) == CI315, (action, summary)
    assert at_commit([reset, audit(customer, "otp_activate", "failure", "画像認証：誤り")]) == CI315
    assert at_commit([reset, audit(customer, "step_up", "success", "振込 画像認証")]) is None
    assert at_commit([reset, audit(customer, "otp_activate", "failure", "ワンタイムパスワード：誤り")]) is None


def test_the_login_passwords_count_goes_back_to_0_with_a_staff_users_issue():
    customer = factories.customer()
    factories.credential_failed(customer, "password")
    reset = ("UPDATE security_credential SET failures = 0 WHERE customer_id = %s AND kind = 'password'",
             [customer.pk])
    issue = [mail(customer, "initial_password_issue")]
    assert at_commit([reset, audit(customer, "initial_password_issue", "success", "失念", "ghost-staff"),
                      *issue]) == CI315
    factories.staff_user("madoguchi")
    assert at_commit([reset, audit(customer, "initial_password_issue", "success", "失念", "madoguchi"),
                      *issue]) is None


@pytest.mark.parametrize("event", ["unlock", "lockout"])
def test_a_lock_is_told_only_with_a_lock_change_of_its_transaction(event):
    """Probe step 4b: an unlock row by 「ghost-staff」 and its mail with nothing locked — the
    customer was sent 「ロック解除のお知らせ」 for a lock that never was."""
    customer = factories.customer()
    factories.staff_user("madoguchi")
    summary = "画像認証：本人確認済み" if event == "unlock" else "画像認証"
    outcome = "success" if event == "unlock" else "refused"
    assert at_commit([audit(customer, event, outcome, summary, "madoguchi")]) == CI315
    assert at_commit([mail(customer, event)]) == CI315
    # another customer's lock change does not stand for this one's
    other = factories.customer()
    factories.credential_locked(other, "image_card")
    if event == "unlock":
        credential_unlock(customer=other, kind="image_card", reason="来店", actor="madoguchi")
    assert at_commit([audit(customer, event, outcome, summary, "madoguchi")]) == CI315
    assert at_commit([mail(customer, event)]) == CI315


def test_an_unlock_row_names_the_credential_whose_lock_was_lifted():
    customer = factories.customer()
    factories.credential_locked(customer, "image_card")
    madoguchi = factories.staff_user("madoguchi")
    lift = (CARD_LIFT, [customer.pk])
    told = [audit(customer, "unlock", "success", "画像認証：本人確認済み", madoguchi.username), mail(customer, "unlock")]
    assert at_commit([lift, *told, audit(customer, "unlock", "success", "パスキー：x", "madoguchi")]) == CI315
    assert at_commit([lift, *told, audit(customer, "unlock", "success", "画像認証：x", "ghost-staff")]) == CI315
    assert at_commit([lift, *told]) is None


@pytest.mark.django_db(transaction=True)
def test_the_image_cards_real_paths_commit_under_the_rule():
    """Wrong answers count and lock (with their step-up rows), staff's ロック解除 lifts it, a
    right answer puts a count back to 0 — each committed (SEC-5, SEC-8)."""
    customer = customer_with_card(email="card@example.jp")
    challenge = cards.image_card_challenge_current(customer=customer)
    with pytest.raises(AuthFactorError):
        cards.image_card_verify(customer=customer, challenge_id=challenge.pk, answers=wrong_answers(challenge), ip=None)
    cards.image_card_verify(customer=customer, challenge_id=challenge.pk, answers=right_answers(challenge), ip=None)
    assert Credential.objects.get(customer=customer, kind="image_card").failures == 0
    challenge = cards.image_card_challenge_current(customer=customer)
    for _ in range(settings.SECURITY_LOCKOUT_THRESHOLDS["image_card"]):
        with pytest.raises(AuthFactorError):
            cards.image_card_verify(customer=customer, challenge_id=challenge.pk, answers=wrong_answers(challenge),
                                    ip=None)
    assert Credential.objects.get(customer=customer, kind="image_card").is_locked
    credential_unlock(customer=customer, kind="image_card", reason="本人確認済み（窓口）",
                      actor=factories.staff_user("madoguchi").username)
    credential = Credential.objects.get(customer=customer, kind="image_card")
    assert (credential.failures, credential.locked_at) == (0, None)
    assert [change.locked for change in CredentialLockChange.objects.filter(customer=customer).order_by("id")] == [
        True, False]
    assert OutboxMessage.objects.filter(customer=customer, event="unlock").count() == 1
    assert AuditEvent.objects.get(customer=customer, action="unlock").actor == "madoguchi"


@pytest.mark.django_db(transaction=True)
def test_the_login_passwords_real_paths_commit_under_the_rule():
    """Login failures and the lock, ロック解除 with a new password, 初回パスワード再発行 of a count."""
    customer = factories.customer(password="Right123", email="pw@example.jp")
    madoguchi = factories.staff_user("madoguchi").username
    for _ in range(settings.SECURITY_LOCKOUT_THRESHOLDS["password"]):
        login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None)
    initial_password_issue(customer=customer, reason="失念", actor=madoguchi, unlock=True)
    login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None)
    initial_password_issue(customer=customer, reason="再発行", actor=madoguchi)
    credential = Credential.objects.get(customer=customer, kind="password")
    assert (credential.failures, credential.locked_at) == (0, None)
