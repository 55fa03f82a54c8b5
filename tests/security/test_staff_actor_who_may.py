"""SEC-8, SEC-10, SEC-16, STAFF-1, LEDGER-7 (security 0023, after probe34 F5): as the app's role,
a staff action's audit row stands for its change only when its ``actor`` is an active staff user
who holds the permission the admin view checks — IB取引再開 (CI308, ``accounts.resume_ib``),
初回パスワード再発行 (CI314, ``accounts.issue_initial_password``), the branch's passkey reset
(CI306, ``security.reset_passkeys``) and a staff login lock lifted (CI309, a superuser). A row
naming 「ghost-staff」 (no such user), a staff user without the permission, or an inactive one is
refused with each rule's code; the branch staff group and a superuser still commit."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import RequestFactory

from security import passkeys
from security.audit import audit_record
from security.models import StaffLoginCounter
from security.services import customer_ib_suspend
from security.staff_admin import StaffLoginFailed, staff_login_authenticate, staff_login_unlock
from tests import factories
from tests.accounts.test_counter_deposit_key import at_commit
from tests.security import secondfactor
from tests.security.test_factors_taken_by_their_service import audit, mail, told, with_address
from tests.security.test_passkeys import registered
from tests.transfers.test_interbank_guards import refused_at_commit

STATUS, INITIAL, TAKEN, STAFF_COUNTER = "CI308", "CI314", "CI306", "CI309"


def _who_may_not() -> list[str]:
    """The actors refused: no such user, staff without the permission, an inactive staff
    user (of the group), a user of the group who is not staff."""
    factories.staff_user("staff-bare", group=False)
    factories.staff_user("staff-gone", is_active=False)
    factories.staff_user("not-staff", is_staff=False)
    return ["ghost-staff", "staff-bare", "staff-gone", "not-staff"]


def _who_may() -> list[str]:
    factories.staff_user("staff01")
    get_user_model().objects.create_superuser("root-w", password="x")
    return ["staff01", "root-w"]


@pytest.mark.django_db
def test_ib_resume_is_by_staff_who_may_resume():
    customer = with_address()
    customer_ib_suspend(customer=customer, ip=None)
    resume = ("UPDATE accounts_customer SET status = 'active' WHERE id = %s", [customer.pk])
    for actor in _who_may_not():
        assert at_commit([resume, *told(customer, "ib_resume", actor=actor)]) == STATUS, actor
    for actor in _who_may():
        assert at_commit([resume, *told(customer, "ib_resume", actor=actor)]) is None, actor


@pytest.mark.django_db
def test_a_new_initial_password_is_by_staff_who_may_issue():
    customer = factories.customer(email="may@example.jp", password_is_initial=False)
    on = ("UPDATE accounts_customer SET password_is_initial = true WHERE id = %s", [customer.pk])
    for actor in _who_may_not():
        assert at_commit([on, *told(customer, "initial_password_issue", actor=actor)]) == INITIAL, actor
    for actor in _who_may():
        assert at_commit([on, *told(customer, "initial_password_issue", actor=actor)]) is None, actor


@pytest.mark.django_db(transaction=True)  # passkey_only switched on in a transaction of its own
def test_passkey_only_is_ended_by_the_reset_of_staff_who_may_reset():
    customer = secondfactor.customer_with_card(email=f"{factories.unique('p')}@example.jp".lower())
    with transaction.atomic():
        registered(customer)
    with transaction.atomic():
        passkeys.passkey_only_set(customer=customer, enabled=True, ip=None)
    off = ("UPDATE accounts_customer SET passkey_only = false WHERE id = %s", [customer.pk])
    for actor in _who_may_not():
        assert at_commit([off, audit(customer, "passkey_reset", actor), mail(customer, "passkey_remove")]) == TAKEN, \
            actor
    for actor in _who_may():
        assert at_commit([off, audit(customer, "passkey_reset", actor), mail(customer, "passkey_remove")]) is None, \
            actor
    # the reset removes the passkeys too (security 0017's rule reads the same row)
    remove = ("DELETE FROM security_passkey WHERE customer_id = %s", [customer.pk])
    for actor in ("ghost-staff", "staff-bare"):
        assert at_commit([off, remove, audit(customer, "passkey_reset", actor), mail(customer, "passkey_remove")]) \
            == TAKEN, actor
    assert at_commit([off, remove, audit(customer, "passkey_reset", "staff01"), mail(customer, "passkey_remove")]) \
        is None


@pytest.mark.django_db(transaction=True)  # each step commits, as the login's and the unlock's do
def test_a_staff_login_lock_is_lifted_only_by_a_superuser():
    user = get_user_model().objects.create_user(username="staff-l", password="Staff-pass-1", is_staff=True)
    for _ in range(5):
        with pytest.raises(StaffLoginFailed):
            staff_login_authenticate(request=RequestFactory().post("/admin/login/"), username="staff-l",
                                     password="wrong-pass-1", second_factor=lambda user: None)
    counter = StaffLoginCounter.objects.get(user=user)
    assert counter.locked_at is not None
    get_user_model().objects.create_superuser("root-gone", password="x", is_active=False)
    factories.staff_user("staff01")  # the branch group: no unlock of a staff login

    def unlocked_by(actor):
        def write():
            audit_record(action="staff_login_unlock", outcome="success", actor=actor, summary="staff-l（連続失敗5回）")
            with connection.cursor() as cursor:
                cursor.execute("UPDATE security_stafflogincounter SET failures = 0, locked_at = NULL WHERE id = %s",
                               [counter.pk])
        return write

    for actor in ("ghost-root", "staff01", "root-gone", "staff-l"):
        assert refused_at_commit(unlocked_by(actor)) == STAFF_COUNTER, actor
    counter.refresh_from_db()
    assert counter.locked_at is not None
    get_user_model().objects.create_superuser("root-w", password="x")
    staff_login_unlock(counter=counter, by="root-w", ip=None)  # the admin action's service commits
    counter.refresh_from_db()
    assert (counter.failures, counter.locked_at) == (0, None)
