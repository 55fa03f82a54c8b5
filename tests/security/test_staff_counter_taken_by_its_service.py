"""SEC-8, STAFF-1, LEDGER-7 (outside review dbprobe30 F5; security 0016, CI309), as the app's
own role: a staff user's admin login count and lock move only as the staff login and the
superuser's unlock move them — one INSERT had locked every staff user out of admin with no
trace, and ``SET failures = 0`` would let a guesser try a staff password without end. The
checks run at commit (``at_commit``); the services' own paths still commit."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import RequestFactory

from security.audit import audit_record
from security.models import StaffLoginCounter
from security.staff_admin import StaffLoginFailed, staff_login_authenticate, staff_login_unlock
from tests.transfers.test_interbank_guards import at_commit, refused_at_commit

# transactional: each step commits on its own, as the login's and the unlock's do — in one
# test transaction the audit rows of an earlier step would stand for a later one
pytestmark = pytest.mark.django_db(transaction=True)
TAKEN = "CI309"


def _staff():
    return get_user_model().objects.create_user(username="staff-t", password="Staff-pass-1", is_staff=True)


def _sign_in(password: str):
    return staff_login_authenticate(request=RequestFactory().post("/admin/login/"), username="staff-t",
                                    password=password, second_factor=lambda user: None)


def _sql(statement: str, params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_the_review_locks_no_staff_user_out_with_one_insert():
    user = _staff()
    assert refused_at_commit(lambda: _sql(
        "INSERT INTO security_stafflogincounter (user_id, failures, locked_at) VALUES (%s, 5, now())", [user.pk])) == TAKEN
    assert refused_at_commit(lambda: _sql(
        "INSERT INTO security_stafflogincounter (user_id, failures, locked_at) VALUES (%s, 1, NULL)", [user.pk])) == TAKEN
    assert not StaffLoginCounter.objects.filter(user=user).exists()


def test_a_count_moves_by_one_with_its_failure_and_locks_only_at_the_limit():
    user = _staff()
    with pytest.raises(StaffLoginFailed):
        _sign_in("wrong-pass-1")
    at_commit()
    counter = StaffLoginCounter.objects.get(user=user)
    assert counter.failures == 1
    bump = "UPDATE security_stafflogincounter SET failures = failures + 1, locked_at = {lock} WHERE id = %s"
    assert refused_at_commit(lambda: _sql(bump.format(lock="NULL"), [counter.pk])) == TAKEN  # no audit row
    assert refused_at_commit(lambda: _sql("UPDATE security_stafflogincounter SET failures = 5, locked_at = now()"
                                          " WHERE id = %s", [counter.pk])) == TAKEN

    def failed_then_locked_early():
        audit_record(action="staff_login", outcome="failure", actor="staff-t", summary="x")
        _sql(bump.format(lock="now()"), [counter.pk])
    assert refused_at_commit(failed_then_locked_early) == TAKEN  # 2 < 5
    for _ in range(4):
        with pytest.raises(StaffLoginFailed):
            _sign_in("wrong-pass-1")
    at_commit()
    counter.refresh_from_db()
    assert counter.failures == 5 and counter.locked_at is not None


def test_a_lock_is_lifted_only_by_the_unlock_and_a_count_reset_only_by_a_success():
    user = _staff()
    for _ in range(5):
        with pytest.raises(StaffLoginFailed):
            _sign_in("wrong-pass-1")
    counter = StaffLoginCounter.objects.get(user=user)
    reset = "UPDATE security_stafflogincounter SET failures = 0, locked_at = NULL WHERE id = %s"
    assert refused_at_commit(lambda: _sql(reset, [counter.pk])) == TAKEN

    def reset_with_a_success_row():  # a success does not lift a lock: the locked user is refused
        audit_record(action="staff_login", outcome="success", actor="staff-t")
        _sql(reset, [counter.pk])
    assert refused_at_commit(reset_with_a_success_row) == TAKEN

    def unlock_of_another_user():
        audit_record(action="staff_login_unlock", outcome="success", actor="root-c", summary="staff-x（連続失敗5回）")
        _sql(reset, [counter.pk])
    assert refused_at_commit(unlock_of_another_user) == TAKEN
    assert refused_at_commit(lambda: _sql("DELETE FROM security_stafflogincounter WHERE id = %s", [counter.pk])) == TAKEN
    get_user_model().objects.create_superuser("root-c", password="x")  # who unlocks (security 0023)
    staff_login_unlock(counter=counter, by="root-c", ip=None)
    at_commit()
    counter.refresh_from_db()
    assert (counter.failures, counter.locked_at) == (0, None)
    with pytest.raises(StaffLoginFailed):
        _sign_in("wrong-pass-1")
    assert refused_at_commit(lambda: _sql(reset, [counter.pk])) == TAKEN  # failures 1 → 0 without a success
    assert _sign_in("Staff-pass-1").pk == user.pk  # the success puts it back to 0
    at_commit()
    assert StaffLoginCounter.objects.get(pk=counter.pk).failures == 0


def test_a_counter_goes_with_its_user():
    user = _staff()
    with pytest.raises(StaffLoginFailed):
        _sign_in("wrong-pass-1")
    user.delete()  # a superuser deletes a staff user in admin: Django's cascade
    at_commit()
    assert not StaffLoginCounter.objects.exists()
