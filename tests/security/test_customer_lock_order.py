"""SEC-8, SEC-10, SEC-3, SEC-6, SEC-16, NOTE-2: one lock order for a customer's rows
(docs/security.md, "Lock order"), real PostgreSQL and two connections (``lockrace``).

The customer's own IB取引中止 (a step-up) locks the customer's row, then — in
``customer_ib_suspend`` — the password credential. The login, the password change and
staff's 初回パスワード再発行 locked the password credential, then updated the customer's row
(最終ログイン, 初回パスワード); staff's IB取引中止 locked the credential, then the customer
FOR UPDATE. Each pair waited for each other: a deadlock (40P01), a 500 for one of them.
The same shape elsewhere: 利用開始 of OTP (token, then the OTP credential) against staff's
revoke (credential, device, then token); staff's passkey reset (the passkeys, then the
customer) against deleting a passkey after a step-up (customer, then the passkey); the
e-mail code (request, then customer) against removing the address (customer, then request).
"""

from __future__ import annotations

import pytest

from accounts.models import Customer
from notifications.models import EmailChangeRequest, OutboxMessage
from notifications.services import EmailSettingError, email_change_confirm, email_change_request, email_remove
from security import cards, otp, passkeys, stepup
from security.models import Credential, OtpToken, Passkey
from tests import factories
from security.services import (
    StaffActionError,
    customer_ib_suspend,
    initial_password_issue,
    login_authenticate,
    password_change,
)
from tests.security import secondfactor
from tests.lockrace import locking, race, writing
from tests.security.test_passkey_lock_order import _registered

pytestmark = pytest.mark.django_db(transaction=True)


def _customer():
    """A customer with a card who has logged in before (the password credential exists)."""
    customer = secondfactor.customer_with_card()
    Credential.objects.get_or_create(customer=customer, kind=Credential.Kind.PASSWORD)
    return customer


def _card_stepup(customer, kind: str, content: dict, execute):
    """The customer's confirmation of ``kind``, answered with the image card."""
    pending = stepup.stepup_begin(customer=customer, kind=kind, content=content)
    pending = stepup.stepup_use_guide_factor(customer=customer, stepup=pending)
    challenge = cards.image_card_challenge_current(customer=customer)
    answers = secondfactor.right_answers(challenge)
    return lambda: stepup.stepup_verify_execute(
        customer=customer, stepup_id=pending.pk, content=content, ip=None,
        challenge_id=challenge.pk, card_answers=answers, execute=execute)


def _own_ib_suspend(customer):
    return _card_stepup(customer, "ib_suspend", {"operation": "ib_suspend", "contract_id": customer.contract_id},
                        lambda: customer_ib_suspend(customer=customer, ip=None))


# the customer's step-up holds the customer's row and is about to lock the password credential
BEFORE_THE_PASSWORD_CREDENTIAL = locking("security_credential", Credential.Kind.PASSWORD)


def _suspended_by_the_customer(outcomes, customer):
    assert outcomes["paused"], outcomes
    assert outcomes["first"] == ("ok", None), outcomes
    customer.refresh_from_db()
    assert customer.status == Customer.Status.SUSPENDED


def test_a_login_during_the_customers_own_ib_suspension_does_not_deadlock():
    customer = _customer()
    outcomes = race(_own_ib_suspend(customer),
                    lambda: login_authenticate(contract_id=customer.contract_id, password="Pass1234",
                                               ip="203.0.113.9").error,
                    pause_before=BEFORE_THE_PASSWORD_CREDENTIAL)
    _suspended_by_the_customer(outcomes, customer)
    # the login came after the suspension: refused with the login's one message
    assert outcomes["second"] == ("ok", "契約者IDまたはログインパスワードが正しくありません。"), outcomes


def test_a_password_change_during_the_customers_own_ib_suspension_does_not_deadlock():
    customer = _customer()
    outcomes = race(_own_ib_suspend(customer),
                    lambda: password_change(customer=customer, current_password="Pass1234",
                                            new_password="Newpass5678", ip=None, keep_session_key=None),
                    pause_before=BEFORE_THE_PASSWORD_CREDENTIAL)
    _suspended_by_the_customer(outcomes, customer)
    assert outcomes["second"] == ("ok", None), outcomes


def test_staff_initial_password_issue_during_the_customers_own_ib_suspension_does_not_deadlock():
    customer = _customer()
    factories.staff_user("staff-t")  # the actor: a staff user who may (security 0023)
    outcomes = race(_own_ib_suspend(customer),
                    lambda: len(initial_password_issue(customer=customer, reason="本人来店", actor="staff-t")),
                    pause_before=BEFORE_THE_PASSWORD_CREDENTIAL)
    _suspended_by_the_customer(outcomes, customer)
    assert outcomes["second"] == ("ok", 10), outcomes
    assert customer.password_is_initial


def test_staff_ib_suspension_during_the_customers_own_does_not_deadlock():
    """The customer presses IB取引中止 and phones the branch at the same moment."""
    customer = _customer()
    outcomes = race(_own_ib_suspend(customer),
                    lambda: customer_ib_suspend(customer=customer, ip=None, actor="staff-t", reason="本人から電話"),
                    pause_before=BEFORE_THE_PASSWORD_CREDENTIAL)
    _suspended_by_the_customer(outcomes, customer)
    assert outcomes["second"][0] == "error", outcomes
    assert isinstance(outcomes["second"][1], StaffActionError), outcomes
    assert outcomes["second"][1].message == "この契約者はすでにIB取引中止の状態です。"


def test_staff_otp_revoke_during_the_otp_activation_does_not_deadlock():
    factories.staff_user("staff-t")  # the actor: a staff user who may (security 0024)
    customer = secondfactor.customer_with_card()
    token = otp.otp_token_issue(customer=customer)
    challenge = cards.image_card_challenge_current(customer=customer)

    def activate():
        return otp.otp_activate(customer=customer, token_id=token.pk, serial=token.serial,
                                code=secondfactor.totp_for(token).now(), required_at_login=True,
                                challenge_id=challenge.pk, card_answers=secondfactor.right_answers(challenge),
                                ip=None).serial

    outcomes = race(activate, lambda: otp.otp_token_revoke(customer=customer, actor="staff-t", reason="紛失"),
                    pause_before=locking("security_credential", Credential.Kind.OTP))
    assert outcomes["paused"], outcomes
    assert outcomes == {"paused": True, "first": ("ok", token.serial), "second": ("ok", True)}, outcomes
    assert not OtpToken.objects.filter(customer=customer).exists()


def test_staff_passkey_reset_during_a_passkey_deletion_does_not_deadlock():
    customer = secondfactor.customer_with_card()
    _registered(customer)
    passkey_id = Passkey.objects.get(customer=customer).pk
    delete = _card_stepup(customer, "passkey_delete", {"passkey_id": passkey_id},
                          lambda: passkeys.passkey_delete(customer=customer, passkey_id=passkey_id, ip=None))
    factories.staff_user("staff-t")  # the actor: a staff user who may (security 0023)
    outcomes = race(delete, lambda: passkeys.passkeys_staff_reset(customer=customer, reason="紛失", actor="staff-t"),
                    pause_before=locking("security_passkey"))
    assert outcomes == {"paused": True, "first": ("ok", None), "second": ("ok", 0)}, outcomes
    assert not Passkey.objects.filter(customer=customer).exists()


def test_the_email_code_during_the_removal_of_the_address_does_not_deadlock():
    customer = secondfactor.customer_with_card(email="old@example.jp")
    email_change_request(customer=customer, new_email="new@example.jp", ip=None)
    code = OutboxMessage.objects.filter(event="email_verify").latest("id").body.split("確認コード：")[1][:6]
    remove = _card_stepup(customer, "email_remove", {"email": "old@example.jp"},
                          lambda: email_remove(customer=customer, email="old@example.jp", ip=None))
    outcomes = race(remove, lambda: email_change_confirm(customer=customer, code=code, ip=None),
                    pause_before=writing("notifications_emailchangerequest"))
    assert outcomes["paused"], outcomes
    assert outcomes["first"] == ("ok", None), outcomes
    # the removal came first and dropped the pending change: the code finds nothing
    assert outcomes["second"][0] == "error" and isinstance(outcomes["second"][1], EmailSettingError), outcomes
    customer.refresh_from_db()
    assert customer.email == ""
    assert not EmailChangeRequest.objects.open().filter(customer=customer).exists()


# --- the login's hasher runs before its locks ------------------------------------------------


def _hasher_watched(monkeypatch, on_verify):
    from django.contrib.auth import hashers

    original = hashers.MD5PasswordHasher.verify

    def verify(self, password, encoded):
        right = original(self, password, encoded)
        on_verify()
        return right

    monkeypatch.setattr(hashers.MD5PasswordHasher, "verify", verify)


def test_the_login_hashes_the_password_before_it_locks_the_customer(monkeypatch):
    """Guesses must not hold the customer's row (the customer's confirmations wait for it)
    while Argon2 runs: the hasher ran before the first row lock, and only once."""
    customer = _customer()
    sent: list[str] = []
    locks_when_hashed: list[int] = []
    _hasher_watched(monkeypatch, lambda: locks_when_hashed.append(sum("FOR " in sql for sql in sent)))

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    from django.db import connection
    with connection.execute_wrapper(record):
        for password in ("Wrong999", "Pass1234"):
            sent.clear()
            login_authenticate(contract_id=customer.contract_id, password=password, ip=None)
            assert any("FOR NO KEY UPDATE" in sql and '"accounts_customer"' in sql for sql in sent)
    assert locks_when_hashed == [0, 0], locks_when_hashed


def test_a_password_changed_while_the_login_hashed_is_checked_again_under_the_locks(monkeypatch):
    """The customer changed the password in another tab just before this login took the
    locks: the login typed with the new one is right, and not counted as a guess."""
    import threading

    from django.db import connection

    customer = _customer()
    changed: list[bool] = []

    def change_in_the_other_tab():
        try:  # the customer's own password_change (security 0018: a password is set by its service)
            password_change(customer=Customer.objects.get(pk=customer.pk), current_password="Pass1234",
                            new_password="Newpass5678", ip=None, keep_session_key=None)
        finally:
            connection.close()

    def change_once():
        if not changed:
            changed.append(True)
            other_tab = threading.Thread(target=change_in_the_other_tab)
            other_tab.start()
            other_tab.join()

    _hasher_watched(monkeypatch, change_once)
    outcome = login_authenticate(contract_id=customer.contract_id, password="Newpass5678", ip=None)
    assert outcome.ok, outcome
    assert Credential.objects.get(customer=customer, kind=Credential.Kind.PASSWORD).failures == 0


# --- the password credential is never taken without the customer's row -----------------------


def test_every_path_that_locks_the_password_credential_holds_the_customers_row_first():
    """The customer's own IB取引中止 takes the password credential after its step-up's factor
    (``locks``: the one path that goes back up). That is safe only while every transaction
    that locks the password credential has taken the customer's row before it."""
    from django.db import connection

    from security.services import credential_unlock, customer_ib_resume

    customer = _customer()
    factories.staff_user("staff-t")  # the staff paths' actor (CI315: a staff user who may unlock)
    sent: list[str] = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    paths = {
        "login, wrong": lambda: login_authenticate(contract_id=customer.contract_id, password="Wrong999", ip=None),
        "login": lambda: login_authenticate(contract_id=customer.contract_id, password="Pass1234", ip=None),
        "password change": lambda: password_change(customer=customer, current_password="Pass1234",
                                                   new_password="Newpass5678", ip=None, keep_session_key=None),
        "initial password": lambda: initial_password_issue(customer=customer, reason="本人来店", actor="staff-t"),
        "unlock": lambda: (  # a lock to lift first
            factories.credential_locked(customer, Credential.Kind.PASSWORD),
            credential_unlock(customer=customer, kind=Credential.Kind.PASSWORD, reason="本人来店",
                              actor="staff-t")),
        "IB取引中止": lambda: customer_ib_suspend(customer=customer, ip=None, actor="staff-t", reason="本人から電話"),
        "IB取引再開": lambda: customer_ib_resume(customer=customer, reason="本人来店", actor="staff-t"),
    }
    for name, path in paths.items():
        sent.clear()
        with connection.execute_wrapper(record):
            path()
        locks = [sql for sql in sent if "FOR " in sql and "UPDATE" in sql.rsplit("FOR ", 1)[1]]
        credential = next(i for i, sql in enumerate(locks) if 'FROM "security_credential"' in sql)
        assert any('FROM "accounts_customer"' in sql for sql in locks[:credential]), (name, locks)
