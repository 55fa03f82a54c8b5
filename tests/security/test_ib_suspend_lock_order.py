"""SEC-10, SEC-8: IB取引中止 by branch staff while someone keeps guessing the login
password (the very reason a customer phones in), real PostgreSQL and two connections.
The login locks the password credential, then inserts its audit row (a key share on the
customer's row); the suspension locked the customer's row FOR UPDATE, then updated the
password credential: each waited for the other, a deadlock (40P01) — a 500 for the staff
user, or for the login. The same with the resume (中止中の誤入力 counted meanwhile)."""

from __future__ import annotations

import pytest

from accounts.models import Customer
from security import services
from security.models import Credential
from security.services import LOGIN_FAILED, customer_ib_resume, customer_ib_suspend, login_authenticate
from tests.lockrace import race
from tests.security.secondfactor import customer_with_card
from tests.security.test_passkey_lock_order import BEFORE_THE_AUDIT_ROW

pytestmark = pytest.mark.django_db(transaction=True)


def _customer():
    """A customer who has logged in before: the password credential's row exists."""
    customer = customer_with_card()
    Credential.objects.get_or_create(customer=customer, kind=Credential.Kind.PASSWORD)
    return customer


def _guess(customer):
    return lambda: login_authenticate(contract_id=customer.contract_id, password="Wrong999", ip="203.0.113.9").error


def test_a_wrong_login_password_during_the_staff_suspension_does_not_deadlock():
    customer = _customer()
    outcomes = race(_guess(customer),
                    lambda: customer_ib_suspend(customer=customer, ip=None, actor="staff-t", reason="本人から電話"),
                    pause_before=BEFORE_THE_AUDIT_ROW)
    assert outcomes == {"paused": True, "first": ("ok", LOGIN_FAILED), "second": ("ok", None)}, outcomes
    customer.refresh_from_db()
    assert customer.status == Customer.Status.SUSPENDED


def test_a_wrong_login_password_during_the_resume_does_not_deadlock():
    customer = _customer()
    customer_ib_suspend(customer=customer, ip=None, actor="staff-t", reason="本人から電話")
    outcomes = race(_guess(customer), lambda: customer_ib_resume(customer=customer, reason="本人来店", actor="staff-t"),
                    pause_before=BEFORE_THE_AUDIT_ROW)
    assert outcomes["first"] == ("ok", LOGIN_FAILED), outcomes
    # the guess came first: the resume, shown no guesses, is refused in Japanese, no deadlock
    assert outcomes["second"][0] == "error" and isinstance(outcomes["second"][1], services.StaffActionError), outcomes
