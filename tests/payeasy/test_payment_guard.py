"""PAY-1, LEDGER-7: as the app's own role (every test's), a payment is never rewritten nor
removed; only its journal is recorded once (payeasy 0003, CI205)."""

import pytest

from tests.accounts.test_ledger_lockdown import refused
from tests.payeasy import support

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("assignment", ["amount = 1", "reference = 'X'", "biller_id = biller_id",
                                        "account_id = account_id + 1", "journal_id = NULL"])
def test_a_payment_is_never_rewritten_or_removed(assignment):
    support.seeded()
    customer, account = support.payer()
    key = (support.CITY, *support.biller(support.CITY).bills.values_list("number", "confirmation").first(), "")
    payment = support.pay(customer, account, key, support.lookup(customer, key), acknowledged=True)
    if assignment != "biller_id = biller_id":  # an unchanged row passes
        assert refused(f"UPDATE payeasy_payment SET {assignment} WHERE id = %s", [payment.pk]) == "CI205"
    assert refused("DELETE FROM payeasy_payment WHERE id = %s", [payment.pk]) == "CI205"
