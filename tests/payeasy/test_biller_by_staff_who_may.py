"""PAY-2, STAFF-1, LEDGER-7 (payeasy 0014, after probe34 F4/F5), as the app's own role: a biller
is added only with the ``staff_biller_change`` row of a staff user holding
``payeasy.add_biller``, changed only with one holding ``payeasy.change_biller`` (CI247) — a row
naming 「ghost-staff」, staff without the permission or an inactive staff user is refused — and
the demo seed adds billers only while the owner loads the demo (``cosei_demo_loading()``), not
on the demo served after its seed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction

from payeasy.models import Biller
from security.audit import audit_record
from tests import factories
from tests.conftest import held_sql, owner_commits
from tests.payeasy import support
from tests.transfers.test_interbank_guards import at_commit, refused_at_commit

BILLER = "CI247"
NEW_BILLER = ("INSERT INTO payeasy_biller (number, name, kind, uses_confirmation, uses_category, amount_type,"
              " link_secret, simulation, is_active) VALUES ('77777', '偽の収納機関', 'private', false, false,"
              " 'fixed', 'attacker-secret-0123', 'normal', true)")


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _added_by(actor: str):
    def write():
        audit_record(action="staff_biller_change", outcome="success", actor=actor,
                     summary="追加 収納機関 77777 偽の収納機関")
        _sql(NEW_BILLER)
    return write


def _changed_by(actor: str, biller: Biller):
    def write():
        audit_record(action="staff_biller_change", outcome="success", actor=actor,
                     summary=f"変更 収納機関 {biller.number} 署名鍵=変更")
        _sql("UPDATE payeasy_biller SET link_secret = 'attacker-secret-0123' WHERE id = %s", [biller.pk])
    return write


def _commits(write) -> None:
    """``write`` passes its commit's checks (then rolled back)."""
    with transaction.atomic():
        write()
        at_commit()
        transaction.set_rollback(True)


def _holding(username: str, codename: str):
    user = factories.staff_user(username, group=False)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="payeasy", codename=codename))
    return user


@pytest.mark.django_db
def test_a_biller_is_added_and_changed_only_by_staff_who_may():
    support.seeded()
    biller = support.biller(support.TAX)
    factories.staff_user("staff-bare", group=False)  # staff, no permission of billers
    factories.staff_user("staff-gone", is_active=False)  # the branch group, no longer active
    factories.staff_user("not-staff", is_staff=False)  # the branch group, not staff
    _holding("staff-adds", "add_biller")
    _holding("staff-changes", "change_biller")
    for actor in ("ghost-staff", "staff-bare", "staff-gone", "not-staff", "staff-changes"):
        assert refused_at_commit(_added_by(actor)) == BILLER, actor
    for actor in ("ghost-staff", "staff-bare", "staff-gone", "not-staff", "staff-adds"):
        assert refused_at_commit(_changed_by(actor, biller)) == BILLER, actor
    assert not Biller.objects.filter(number="77777").exists()
    biller.refresh_from_db()
    assert biller.link_secret != "attacker-secret-0123"
    factories.staff_user("staff01")  # the branch staff group: both
    for actor in ("staff01", "staff-adds"):
        _commits(_added_by(actor))
    for actor in ("staff01", "staff-changes"):
        _commits(_changed_by(actor, biller))


@pytest.mark.django_db(transaction=True)  # each transaction reads the owner's switch as it starts
def test_the_served_demo_takes_no_biller_from_seed_demo():
    """After ``dev.py run``'s seed (``demo_loading_end``) the database is still a demo's
    (``cosei_demo_database()``) but no longer loading: 'seed_demo' adds no biller there."""
    owner_commits(held_sql("cosei_demo_loading", False))
    try:
        assert refused_at_commit(_added_by("seed_demo")) == BILLER
        with pytest.raises(Exception) as caught:
            support.seeded()  # the seed run again on the served demo
        assert getattr(caught.value.__cause__, "sqlstate", None) == BILLER
        assert not Biller.objects.exists()
    finally:
        owner_commits(held_sql("cosei_demo_loading", True))
    support.seeded()  # while the owner loads the demo (the test database's state)
    assert Biller.objects.filter(number=support.TAX).exists()
