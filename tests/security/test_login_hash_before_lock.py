"""SEC-3, SEC-8: the login hashes the typed password before it takes the customer's row
(docs/security.md, "Lock order"), then checks again under the locks if the hash changed.
Real PostgreSQL, two connections (``lockrace``) or many threads.

A password changed meanwhile must win: the old one never logs in, nor changes the
password, once the change has committed. And guesses made in parallel are each counted
— the lockout (SEC-8) sees every wrong password exactly once, and locks exactly once.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from accounts.models import Customer
from notifications.models import OutboxMessage
from security.models import AuditEvent, Credential
from security.services import (
    LOGIN_FAILED,
    LOGIN_LOCKED,
    PASSWORD_CHANGED_MEANWHILE,
    PASSWORD_REISSUED_MEANWHILE_AUDIT,
    PasswordChangeError,
    PasswordChangedMeanwhile,
    initial_password_issue,
    login_authenticate,
    password_change,
)
from security.session import ENDED_MESSAGES
from tests import factories
from tests.lockrace import race, writing

pytestmark = pytest.mark.django_db(transaction=True)

OLD, NEW = "Pass1234", "Newpass5678"
# the change holds the customer's row and has written the new hash, not yet committed
AFTER_THE_NEW_HASH = writing("accounts_customer")


def _customer() -> Customer:
    customer = factories.customer(password=OLD, password_is_initial=False)
    Credential.objects.get_or_create(customer=customer, kind=Credential.Kind.PASSWORD)
    return Customer.objects.select_related("user").get(pk=customer.pk)


def _login(customer, password):
    return lambda: login_authenticate(contract_id=customer.contract_id, password=password, ip=None).error


def test_the_old_password_does_not_log_in_once_a_change_waited_for_has_committed():
    """The login read the old hash, hashed the old password (right), then waited for the
    customer's row, which the change held. Its locking query joined the user's row and
    PostgreSQL re-read only the locked row after the wait — the user's came from before
    the change, equal to the hash checked, so the old password logged in."""
    customer = _customer()
    outcomes = race(lambda: password_change(customer=customer, current_password=OLD, new_password=NEW,
                                            ip=None, keep_session_key=None),
                    _login(customer, OLD), pause_before=AFTER_THE_NEW_HASH)
    assert outcomes["paused"] and outcomes["first"] == ("ok", None), outcomes
    assert outcomes["second"] == ("ok", LOGIN_FAILED), outcomes
    assert Credential.objects.get(customer=customer, kind=Credential.Kind.PASSWORD).failures == 1
    assert login_authenticate(contract_id=customer.contract_id, password=NEW, ip=None).ok


def test_the_old_password_does_not_log_in_once_staff_issued_an_initial_password():
    """The customer phoned: their password may be known to someone; staff issue a new one
    while a login with the old one is on its way."""
    customer = _customer()
    factories.staff_user("staff-t")  # the actor: a staff user who may (security 0023)
    outcomes = race(lambda: len(initial_password_issue(customer=customer, reason="本人から電話", actor="staff-t")),
                    _login(customer, OLD), pause_before=AFTER_THE_NEW_HASH)
    assert outcomes["paused"] and outcomes["first"] == ("ok", 10), outcomes
    assert outcomes["second"] == ("ok", LOGIN_FAILED), outcomes


def test_the_new_password_logs_in_once_the_change_it_waited_for_has_committed():
    customer = _customer()
    outcomes = race(lambda: password_change(customer=customer, current_password=OLD, new_password=NEW,
                                            ip=None, keep_session_key=None),
                    _login(customer, NEW), pause_before=AFTER_THE_NEW_HASH)
    assert outcomes["paused"] and outcomes["first"] == ("ok", None), outcomes
    assert outcomes["second"] == ("ok", ""), outcomes


def test_a_second_tab_cannot_change_the_password_with_the_old_one_after_a_change():
    """Both tabs loaded the customer (and the user's hash) before either change; the second
    checked the current password against that loaded hash, not the one under the lock."""
    customer = _customer()
    other_tab = Customer.objects.select_related("user").get(pk=customer.pk)
    outcomes = race(lambda: password_change(customer=customer, current_password=OLD, new_password=NEW,
                                            ip=None, keep_session_key=None),
                    lambda: password_change(customer=other_tab, current_password=OLD, new_password="Third9012",
                                            ip=None, keep_session_key=None),
                    pause_before=AFTER_THE_NEW_HASH)
    assert outcomes["paused"] and outcomes["first"] == ("ok", None), outcomes
    kind, refusal = outcomes["second"]
    assert kind == "error" and isinstance(refusal, PasswordChangeError), outcomes
    # probe35 F1: the old password was right when typed: told the change was made, not counted
    assert refusal.messages == [PASSWORD_CHANGED_MEANWHILE] and refusal.this_request_ended
    assert Credential.objects.get(customer=customer, kind=Credential.Kind.PASSWORD).failures == 0
    assert login_authenticate(contract_id=customer.contract_id, password=NEW, ip=None).ok


def test_a_change_that_waited_for_staffs_initial_password_says_to_log_in_with_the_banks():
    """SEC-3, SEC-12: staff's 初回パスワード再発行 committed while the change, its hash
    loaded with the old password, waited for the customer's row. The old password was right
    when typed (nothing counted), but the customer now logs in with the bank's new initial
    password: told as the re-issue tells the sessions it ends, not 「変更後のログイン
    パスワードでログインしてください」, which named a password that never existed."""
    customer = _customer()
    factories.staff_user("staff-t")
    loaded = Customer.objects.select_related("user").get(pk=customer.pk)
    issued = {}

    def issue():
        issued["password"] = initial_password_issue(customer=customer, reason="本人から電話", actor="staff-t")
        return len(issued["password"])

    outcomes = race(issue, lambda: password_change(customer=loaded, current_password=OLD, new_password=NEW,
                                                   ip=None, keep_session_key=None),
                    pause_before=AFTER_THE_NEW_HASH)
    assert outcomes["paused"] and outcomes["first"] == ("ok", 10), outcomes
    kind, refusal = outcomes["second"]
    assert kind == "error" and isinstance(refusal, PasswordChangedMeanwhile), outcomes
    assert refusal.by_bank and refusal.this_request_ended
    assert refusal.messages == [ENDED_MESSAGES["initial_password"]]
    assert Credential.objects.get(customer=customer, kind=Credential.Kind.PASSWORD).failures == 0
    assert AuditEvent.objects.filter(customer=customer, action="password_change", outcome="refused",
                                     summary=PASSWORD_REISSUED_MEANWHILE_AUDIT).count() == 1
    assert Customer.objects.get(pk=customer.pk).password_is_initial
    assert login_authenticate(contract_id=customer.contract_id, password=issued["password"], ip=None).ok


def _in_parallel(jobs) -> list:
    """Each job's answer (or what it raised), the jobs started together on their own
    connections."""
    barrier = threading.Barrier(len(jobs))
    answers: list = []

    def run(job):
        try:
            barrier.wait()
            answers.append(job())
        except Exception as exc:  # noqa: BLE001 - a refusal, a deadlock or a bug: the test reads it
            answers.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


@pytest.mark.parametrize("guesses", [4, 5, 8])
def test_parallel_wrong_passwords_are_each_counted_and_lock_once(guesses):
    customer = _customer()
    answers = _in_parallel([_login(customer, f"Wrong{n:04d}") for n in range(guesses)])
    assert answers == [LOGIN_FAILED] * guesses
    credential = Credential.objects.get(customer=customer, kind=Credential.Kind.PASSWORD)
    assert credential.failures == guesses
    assert credential.is_locked == (guesses >= 5)
    failures = AuditEvent.objects.filter(customer=customer, action="login", outcome=AuditEvent.Outcome.FAILURE)
    assert sorted(failures.values_list("summary", flat=True)) == sorted(
        f"{'ロック中・' if n > 5 else ''}パスワード誤り（連続{n}回目）" for n in range(1, guesses + 1))
    assert AuditEvent.objects.filter(customer=customer, action="lockout").count() == (guesses >= 5)
    assert OutboxMessage.objects.filter(customer=customer, event="lockout").count() == (guesses >= 5)
    if guesses >= 5:  # locked: the right password no longer logs in
        assert login_authenticate(contract_id=customer.contract_id, password=OLD, ip=None).error == LOGIN_FAILED


def test_parallel_wrong_current_passwords_in_the_change_are_each_counted():
    customer = _customer()
    answers = _in_parallel([
        lambda n=n: password_change(customer=customer, current_password=f"Wrong{n:04d}", new_password=NEW,
                                    ip=None, keep_session_key=None)
        for n in range(5)])
    assert all(isinstance(answer, PasswordChangeError) for answer in answers), answers
    assert sorted(answer.messages for answer in answers) == (
        [[LOGIN_LOCKED]] + [["現在のログインパスワードが正しくありません。"]] * 4)
    credential = Credential.objects.get(customer=customer, kind=Credential.Kind.PASSWORD)
    assert credential.failures == 5 and credential.is_locked
