"""PAY-1, LEDGER-7: as the app's own role (every test's), a payment is never rewritten nor
removed; only its journal is recorded once, and only its own posting (payeasy 0003/0004, CI205)."""

import pytest
from django.db import connection, transaction

from accounts.models import Entry
from payeasy.models import Payment
from tests import factories
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


def test_a_payment_records_only_its_own_posting_as_journal():
    """PAY-1, LEDGER-7 (payeasy 0004): the app's role inserted a payment with no posting and
    gave it another customer's incoming credit as its journal. A payment is born without a
    journal, and the one it records is posted under its 受付番号's key, debiting its
    お支払口座 by its amount; the service's payment (tests/payeasy) records its own."""
    support.seeded()
    customer, account = support.payer()
    key = (support.CITY, *support.biller(support.CITY).bills.values_list("number", "confirmation").first(), "")
    paid = support.pay(customer, account, key, support.lookup(customer, key), acknowledged=True)
    other = factories.account(balance=5_000)  # its deposit: someone else's credit
    foreign_journal = Entry.objects.filter(account=other).latest("id").journal_id
    columns = ("reference, customer_id, account_id, biller_id, bill_id, number, category, description,"
               " amount, via_link, paid_at, journal_id")
    values = "%s, %s, %s, %s, 'B-FAKE', '123', '', '偽', 5000, false, now(), %s"
    insert = f"INSERT INTO payeasy_payment ({columns}) VALUES ({values})"
    fields = [customer.pk, account.pk, paid.biller_id]
    assert refused(insert, ["26120600000001", *fields, foreign_journal]) == "CI205"
    assert refused(insert, ["26120600000002", *fields, paid.journal_id]) == "CI205"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"{insert} RETURNING id", ["26120600000003", *fields, None])  # born without one
        fake = cursor.fetchone()[0]
    for journal in (foreign_journal, paid.journal_id):  # not its posting: key, account, amount
        assert refused("UPDATE payeasy_payment SET journal_id = %s WHERE id = %s", [journal, fake]) == "CI205"
    assert Payment.objects.get(pk=paid.pk).journal_id == paid.journal_id
