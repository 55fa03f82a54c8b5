"""SEC-3, SEC-8, LEDGER-7 (outside review dbprobe33 F3/F4; security 0021): for the app's role,
初回パスワード (``accounts_customer.password_is_initial``) goes off only with the customer's
``password_change`` audit row and mail of the transaction, and on only with the branch's
``initial_password_issue`` row (with the staff user) and mail — CI314 at the commit. One
``UPDATE … SET password_is_initial = false`` skipped the forced change of the initial
password. The services, and a DBA, still commit."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import Customer
from security.services import initial_password_issue, password_change
from tests import factories
from tests.accounts.test_counter_deposit_key import at_commit
from tests.notifications.test_told_by_a_mail_written_here import TOUCHES, old_mail
from tests.security.test_factors_taken_by_their_service import audit, mail, told, with_address

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def staff_actors():
    """The staff users the staff rows below name: active, of the branch staff group (security
    0023: a staff action's row stands only by a staff user who may take it)."""
    return [factories.staff_user("staff01"), factories.staff_user("staff-t")]


INITIAL = "CI314"
OFF = "UPDATE accounts_customer SET password_is_initial = false WHERE id = %s"
ON = "UPDATE accounts_customer SET password_is_initial = true WHERE id = %s"


def test_the_forced_change_is_not_switched_off_by_an_update():
    """The probe: the flag off, the initial password kept, nobody told."""
    customer = with_address()
    off = (OFF, [customer.pk])
    assert at_commit([off]) == INITIAL
    assert at_commit([off, audit(customer, "password_change")]) == INITIAL, "no mail"
    assert at_commit([off, mail(customer, "password_change")]) == INITIAL, "no audit row"
    assert at_commit([off, *told(customer, "initial_password_issue", actor="staff-t")]) == INITIAL, "the issue's"
    assert at_commit([off, *told(with_address(), "password_change")]) == INITIAL, "another customer's change"
    assert at_commit([off, *told(customer, "password_change")]) is None
    assert Customer.objects.get(pk=customer.pk).password_is_initial


def test_the_forced_change_is_switched_on_only_by_the_branchs_issue():
    customer = factories.customer(email="on@example.jp", password_is_initial=False)
    on = (ON, [customer.pk])
    assert at_commit([on]) == INITIAL
    assert at_commit([on, *told(customer, "initial_password_issue")]) == INITIAL, "no staff user"
    assert at_commit([on, audit(customer, "initial_password_issue", actor="staff-t")]) == INITIAL, "no mail"
    assert at_commit([on, *told(customer, "password_change")]) == INITIAL, "the customer's change"
    assert at_commit([on, *told(customer, "initial_password_issue", actor="staff-t")]) is None
    assert not Customer.objects.get(pk=customer.pk).password_is_initial


def test_a_customer_with_no_address_is_told_by_the_skipped_mail():
    customer = factories.customer(email="")
    assert at_commit([(OFF, [customer.pk]), audit(customer, "password_change"),
                      mail(customer, "password_change", skipped=True, to="")]) is None


def test_a_save_that_keeps_the_flag_is_no_change():
    customer = factories.customer()
    customer.name_kanji = "鈴木花子"
    assert at_commit([("UPDATE accounts_customer SET password_is_initial = password_is_initial,"
                       " name_kanji = '鈴木花子' WHERE id = %s", [customer.pk])]) is None
    with transaction.atomic():
        customer.save()  # every column, the flag unchanged
    assert Customer.objects.get(pk=customer.pk).name_kanji == "鈴木花子"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("touch", ["a change of nothing", "a pending mail marked sent"])
def test_an_old_password_change_mail_touched_does_not_tell(touch):
    """notifications 0029: the mail must be written by the transaction, not an old one of an
    earlier change touched by it."""
    customer = factories.customer(email="old@example.jp")
    earlier = old_mail(customer, "password_change", "old@example.jp", "pending" if "pending" in touch else "sent")
    steps = [(OFF, [customer.pk]), audit(customer, "password_change")]
    assert at_commit([*steps, (TOUCHES[touch], [earlier])]) == INITIAL
    assert at_commit([*steps, mail(customer, "password_change")]) is None


@pytest.mark.django_db(transaction=True)
def test_the_services_commit_and_a_dba_is_not_bound(owner_sql):
    """A real commit: staff's 初回パスワード再発行 sets it, the customer's change ends it; the
    owner (a DBA) corrects it by hand."""
    customer = factories.customer(password="Right123", email="svc@example.jp", password_is_initial=False)
    password = initial_password_issue(customer=customer, reason="来店", actor="staff01")
    assert Customer.objects.get(pk=customer.pk).password_is_initial
    password_change(customer=customer, current_password=password, new_password="Newpass2027",
                    ip=None, keep_session_key=None)
    assert not Customer.objects.get(pk=customer.pk).password_is_initial
    with pytest.raises(DatabaseError) as refused, transaction.atomic():  # the app's role, committed
        with connection.cursor() as cursor:
            cursor.execute(ON, [customer.pk])
    assert getattr(refused.value.__cause__, "sqlstate", None) == INITIAL
    owner_sql(ON, [customer.pk])
    assert Customer.objects.get(pk=customer.pk).password_is_initial
