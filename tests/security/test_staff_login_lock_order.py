"""SEC-8, STAFF-1: the staff login's counter and a superuser's ロック解除 (docs/security.md,
"Lock order"), real PostgreSQL and two connections (``lockrace``).

The staff login locks the user's ``StaffLoginCounter`` and may then write the user's row
(Django stores an old hasher's hash anew on a right password). The unlock locks the same
counter first, so the two queue; the unlock reads the user's name and writes nothing of
the user's, so it does not lock the user's row either: the user's own work in admin (a
row that refers to the user: the admin log, an OTP device) does not wait for it.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory

from security.models import AuditEvent, StaffLoginCounter
from security.staff_admin import StaffLoginFailed, staff_login_authenticate, staff_login_unlock
from tests.lockrace import inserting, race, writing

pytestmark = pytest.mark.django_db(transaction=True)


def _staff(*, failures: int = 2):
    user = get_user_model().objects.create_user(username="staff-t", is_staff=True)
    get_user_model().objects.create_superuser("root-c", password="x")  # who unlocks (security 0023)
    # an MD5 hash with a short salt: the hasher asks for it to be stored anew (must_update)
    get_user_model().objects.filter(pk=user.pk).update(password=make_password("Staff-pass-1", salt="ab"))
    for _ in range(failures):  # counted as the login counts (security 0016, CI309)
        with pytest.raises(StaffLoginFailed):
            staff_login_authenticate(request=RequestFactory().post("/admin/login/"), username="staff-t",
                                     password="wrong-pass-1", second_factor=lambda user: None)
    counter = StaffLoginCounter.objects.get(user=user)
    assert counter.failures == failures
    return user, counter


def _sign_in():
    request = RequestFactory().post("/admin/login/", REMOTE_ADDR="192.0.2.7")
    return staff_login_authenticate(request=request, username="staff-t", password="Staff-pass-1",
                                    second_factor=lambda user: None).get_username()


def _unlock(counter):
    return lambda: staff_login_unlock(counter=counter, by="root-c", ip=None)


def test_a_staff_login_that_stores_its_hash_anew_while_a_superuser_unlocks_does_not_deadlock():
    user, counter = _staff()
    outcomes = race(_sign_in, _unlock(counter), pause_before=writing("auth_user"))
    assert outcomes == {"paused": True, "first": ("ok", "staff-t"), "second": ("ok", None)}, outcomes
    user.refresh_from_db()
    assert not user.password.startswith("md5$ab$")  # stored anew
    assert AuditEvent.objects.filter(action="staff_login_unlock").count() == 1


def test_a_superuser_unlocking_while_the_staff_user_signs_in_does_not_deadlock():
    _, counter = _staff()
    outcomes = race(_unlock(counter), _sign_in, pause_before=inserting("security_auditevent"))
    assert outcomes == {"paused": True, "first": ("ok", None), "second": ("ok", "staff-t")}, outcomes
    assert StaffLoginCounter.objects.get(pk=counter.pk).failures == 0


def test_the_staff_users_own_admin_work_does_not_wait_for_the_unlock():
    """The unlock locked the user's row with the counter (plain FOR UPDATE over the join):
    every row that refers to the user — here the admin log of the user's own change —
    waited for it, for nothing the unlock writes."""
    user, counter = _staff()
    finished: list[str] = []

    def unlock():
        staff_login_unlock(counter=counter, by="root-c", ip=None)
        finished.append("unlock")

    def own_change():
        LogEntry.objects.create(user=user, content_type=ContentType.objects.get_for_model(StaffLoginCounter),
                                object_id=str(counter.pk), object_repr="staff-t", action_flag=CHANGE)
        finished.append("own change")

    outcomes = race(unlock, own_change, pause_before=inserting("security_auditevent"))
    assert outcomes["paused"] and outcomes["first"][0] == outcomes["second"][0] == "ok", outcomes
    # done while the unlock held its locks (it waits for the second to finish or to wait)
    assert finished == ["own change", "unlock"]
