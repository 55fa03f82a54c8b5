"""SEC-1, LEDGER-7 (outside review dbprobe31 F10; accounts 0037): for the app's role, who a
customer's login is — ``user_id`` and 契約者ID — is set by the INSERT only (CI312; the id
is no column of the role's UPDATE at all, accounts/db_roles.py). A whole-row save, which
writes them unchanged, still works; so does a DBA."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import Customer
from tests import factories
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db

HELD = "CI312"


def test_logins_swapped_between_two_customers_are_refused():
    """The F10 swap: one person's login (and sessions) mapped onto the other's accounts."""
    first, second = factories.customer(), factories.customer()
    assert refused("UPDATE accounts_customer SET user_id = CASE id WHEN %(a)s THEN %(ub)s ELSE %(ua)s END"
                   " WHERE id IN (%(a)s, %(b)s)",
                   {"a": first.pk, "b": second.pk, "ua": first.user_id, "ub": second.user_id}) == HELD
    assert Customer.objects.get(pk=first.pk).user_id == first.user_id


@pytest.mark.parametrize(("assignment", "code"), [
    ("contract_id = '9999999999'", HELD), ("user_id = %(user)s", HELD),
    ("user_id = %(user)s, contract_id = %(contract)s", HELD),
    ("id = id + 100000", "42501"),  # no privilege (dbprobe29 F2c)
])
def test_the_login_columns_are_never_updated(assignment, code):
    customer = factories.customer()
    spare = factories.customer()  # a user of its own, to point at
    assert refused(f"UPDATE accounts_customer SET {assignment} WHERE id = %(id)s",
                   {"id": customer.pk, "user": spare.user_id, "contract": "5999999998"}) == code
    customer_now = Customer.objects.get(pk=customer.pk)
    assert (customer_now.contract_id, customer_now.user_id) == (customer.contract_id, customer.user_id)


def test_a_whole_row_save_and_the_other_columns_still_go():
    customer = factories.customer()
    customer.name_kana = "ｽｽﾞｷ ﾊﾅｺ"
    customer.save()  # every column, the login's unchanged
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_customer SET contract_id = contract_id, user_id = user_id,"
                       " name_kanji = '鈴木花子' WHERE id = %s", [customer.pk])
    customer.refresh_from_db()
    assert (customer.name_kana, customer.name_kanji) == ("ｽｽﾞｷ ﾊﾅｺ", "鈴木花子")


@pytest.mark.django_db(transaction=True)
def test_a_dba_may_correct_a_contract_id(owner_sql):
    customer = factories.customer()
    owner_sql("UPDATE accounts_customer SET contract_id = %s WHERE id = %s", ["5999999999", customer.pk])
    assert Customer.objects.get(pk=customer.pk).contract_id == "5999999999"
