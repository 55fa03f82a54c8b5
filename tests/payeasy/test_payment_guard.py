"""PAY-1, LEDGER-7: as the app's own role (every test's), a payment is never rewritten nor
removed; only its journal is recorded once, and only its own posting (payeasy 0003/0004, CI205)."""

import datetime as dt

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
    with transaction.atomic():  # rolled back: a payment with no journal never commits (payeasy 0009)
        with connection.cursor() as cursor:  # confirmed by its customer (payeasy 0005)
            _confirmation(customer, account, "B-FAKE", "123", 5000)
            cursor.execute(f"{insert} RETURNING id", ["26120600000003", *fields, None])  # born without one
            fake = cursor.fetchone()[0]
        for journal in (foreign_journal, paid.journal_id):  # not its posting: key, account, amount
            assert refused("UPDATE payeasy_payment SET journal_id = %s WHERE id = %s", [journal, fake]) == "CI205"
        transaction.set_rollback(True)
    assert Payment.objects.get(pk=paid.pk).journal_id == paid.journal_id


def _confirmation(customer, account, bill_id: str, number: str, amount: int, *, biller: str = support.CITY):
    """A step-up of ``customer`` confirming that payment, used by the caller's transaction."""
    from security.stepup import stepup_seed_used

    return stepup_seed_used(customer=customer, kind="payeasy", content={
        "operation": "payeasy", "account": account.pk, "biller": biller, "number": number, "category": "",
        "confirmation": "", "bill_id": bill_id, "amount": amount, "via_link": False})


INSERT = ("INSERT INTO payeasy_payment (reference, customer_id, account_id, biller_id, bill_id, number, category,"
          " description, amount, via_link, paid_at) VALUES (%s, %s, %s, %s, %s, '123', '', 'x', %s, false, %s)")


def test_a_payment_row_is_its_customers_confirmed_payment_from_their_own_account():
    """PAY-1, SEC-14, LEDGER-7 (dbprobe25 F10, payeasy 0005): the app's role INSERTed a
    payment of customer 1 from customer 2's account, dated 2020-01-01, with no confirmation.
    The お支払口座 is an open account of the row's customer, the 受付日時 is not dated back,
    and a step-up of that customer confirming exactly it was used by the same transaction
    (CI205); with all three the row goes in."""
    from django.utils import timezone

    support.seeded()
    customer, account = support.payer()
    stranger = factories.account(balance=5_000)
    biller = support.biller(support.CITY)
    now = timezone.now()
    # the reviewer's row: another customer's account, dated 2020-01-01, nothing confirmed
    assert refused(INSERT, ["26120600000011", customer.pk, stranger.pk, biller.pk, "B-1", 48_000,
                            "2020-01-01 00:00+09"]) == "CI205"
    _confirmation(customer, stranger, "B-1", "123", 48_000)  # even "confirmed": not their account
    assert refused(INSERT, ["26120600000012", customer.pk, stranger.pk, biller.pk, "B-1", 48_000, now]) == "CI205"
    assert refused(INSERT, ["26120600000013", customer.pk, account.pk, biller.pk, "B-2", 48_000, now]) == "CI205"
    _confirmation(customer, account, "B-2", "123", 48_000)
    assert refused(INSERT, ["26120600000014", customer.pk, account.pk, biller.pk, "B-2", 48_000,
                            "2020-01-01 00:00+09"]) == "CI205"   # confirmed, but dated back
    assert refused(INSERT, ["26120600000015", customer.pk, account.pk, biller.pk, "B-2", 99_000, now]) == "CI205"
    assert refused(INSERT, ["26120600000016", customer.pk, account.pk, biller.pk, "B-3", 48_000, now]) == "CI205"
    with transaction.atomic():  # rolled back: it has no posting, which its commit needs (payeasy 0009)
        with connection.cursor() as cursor:
            cursor.execute(INSERT, ["26120600000017", customer.pk, account.pk, biller.pk, "B-2", 48_000, now])
        assert list(Payment.objects.values_list("reference", flat=True)) == ["26120600000017"]
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_a_step_up_used_by_an_earlier_transaction_pays_nothing_now():
    """(dbprobe25 F10) The step-up's use must be the payment's own transaction's."""
    from django.utils import timezone

    support.seeded()
    customer, account = support.payer()
    with transaction.atomic():
        _confirmation(customer, account, "B-9", "123", 1_000)
    assert refused(INSERT, ["26120600000021", customer.pk, account.pk, support.biller(support.CITY).pk, "B-9",
                            1_000, timezone.now()]) == "CI205"
    assert not Payment.objects.exists()


def test_a_payment_records_only_a_journal_of_exactly_its_lines():
    """PAY-1, LEDGER-7 (dbprobe25 F3, payeasy 0007): a journal under ``payeasy:<受付番号>``
    that took 100,000円 more from the payer and credited another customer was recorded as
    the 48,000円 payment's. The whole journal is the payment's two lines (CI205)."""
    from django.utils import timezone

    from accounts.models import Account

    support.seeded()
    customer, account = support.payer()
    stranger = factories.account(balance=5_000)
    collection = Account.objects.get(purpose="payeasy_collection").pk
    reference = "PROBE0000000001"
    with connection.cursor() as cursor:
        _confirmation(customer, account, "B-1", "123", 48_000)
        cursor.execute(INSERT + " RETURNING id", [reference, customer.pk, account.pk, support.biller(support.CITY).pk,
                                                  "B-1", 48_000, timezone.now()])
        payment = cursor.fetchone()[0]
    post = "SELECT journal_id FROM ledger_post('payeasy', 'ペイジー', %s, %s::bigint[], %s::bigint[], %s::text[])"
    for accounts, amounts in (([account.pk, account.pk, stranger.pk], [-48_000, -100_000, 148_000]),
                              ([account.pk, stranger.pk], [-48_000, 48_000]),
                              ([account.pk, account.pk, collection], [-48_000, -1, 48_001])):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(post, [f"payeasy:{reference}", accounts, amounts, ["x"] * len(accounts)])
                journal = cursor.fetchone()[0]
            assert refused("UPDATE payeasy_payment SET journal_id = %s WHERE id = %s", [journal, payment]) == "CI205"
            transaction.set_rollback(True)
    with connection.cursor() as cursor:
        cursor.execute(post, [f"payeasy:{reference}", [account.pk, collection], [-48_000, 48_000], ["x", "x"]])
        cursor.execute("UPDATE payeasy_payment SET journal_id = %s WHERE id = %s", [cursor.fetchone()[0], payment])


@pytest.mark.parametrize("paid_at", ["infinity", "9999-12-31 23:00+00", "2999-01-01 00:00+09", "ahead"])
def test_a_payment_is_not_dated_ahead(paid_at, database_clock_strict):
    """PAY-1 (dbprobe26 F6, payeasy 0008): a payment dated 'infinity' stopped every page
    listing the payer's payments. Its 受付日時 is at most five minutes past the database's
    clock (CI205), and within the years 1900–8999 (CHECK payeasy_payment_paid_at_loadable)."""
    from django.utils import timezone

    if paid_at == "ahead":
        paid_at = timezone.now() + dt.timedelta(hours=1)
    support.seeded()
    customer, account = support.payer()
    biller = support.biller(support.CITY).pk
    _confirmation(customer, account, "B-5", "123", 48_000)
    assert refused(INSERT, ["26120600000031", customer.pk, account.pk, biller, "B-5", 48_000, paid_at]) == "CI205"
    assert not Payment.objects.exists()


def _at_commit(statements) -> str | None:
    """Run ``statements`` ([(sql, params)]) and the checks of their commit (SET CONSTRAINTS
    ALL IMMEDIATE) in a savepoint, as the app's role; the SQLSTATE they failed with."""
    from django.db import DatabaseError

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    except DatabaseError as error:
        return getattr(error.__cause__, "sqlstate", None)
    return None


def test_a_payment_has_its_posting_and_the_bills_amount_by_commit():
    """PAY-1 (dbprobe26 F7, payeasy 0009): the app's role INSERTed a 1円 payment of the
    48,000円 bill with a step-up of its own and no posting: the bill's owner was refused
    「支払済」. By commit a payment has its journal, and its amount is the bill's (CI205)."""
    from django.utils import timezone

    from accounts.models import Account
    from payeasy.models import Bill

    support.seeded()
    customer, account = support.payer(balance=2_000_000)
    fixed = Bill.objects.get(biller__number=support.TAX, number=support.TAX_BILL[1])
    open_bill = Bill.objects.get(biller__number=support.TAX, number=support.TAX_OPEN[1])
    tax = support.biller(support.TAX)
    collection = Account.objects.get(purpose="payeasy_collection").pk
    post = "SELECT ledger_post('payeasy', 'ペイジー', %s, %s::bigint[], %s::bigint[], ARRAY['x', 'x'])"
    record = ("UPDATE payeasy_payment SET journal_id = (SELECT id FROM accounts_journal WHERE idempotency_key = %s)"
              " WHERE reference = %s")

    def attempt(reference: str, bill: Bill, amount: int, *, posted: bool) -> str | None:
        def confirm():
            _confirmation(customer, account, str(bill.pk), bill.number, amount, biller=support.TAX)
        steps = [(INSERT.replace("'123'", "%s"), [reference, customer.pk, account.pk, tax.pk, str(bill.pk),
                                                   bill.number, amount, timezone.now()])]
        if posted:
            steps += [(post, [f"payeasy:{reference}", [account.pk, collection], [-amount, amount]]),
                      (record, [f"payeasy:{reference}", reference])]
        with transaction.atomic():
            confirm()
            code = _at_commit(steps)
            transaction.set_rollback(True)
        return code

    assert attempt("PROBE26000000001", fixed, 1, posted=False) == "CI205"          # the probe
    assert attempt("PROBE26000000002", fixed, 48_000, posted=False) == "CI205"     # no posting
    assert attempt("PROBE26000000003", fixed, 1, posted=True) == "CI205"           # not the bill's
    assert attempt("PROBE26000000004", open_bill, open_bill.max_amount + 1, posted=True) == "CI205"
    assert attempt("PROBE26000000005", fixed, 48_000, posted=True) is None
    assert attempt("PROBE26000000006", open_bill, open_bill.min_amount, posted=True) is None
    assert not Payment.objects.exists()
    paid = support.pay(customer, account, support.TAX_BILL, support.lookup(customer, support.TAX_BILL),
                       acknowledged=True)  # the service's payment passes its commit checks
    assert _at_commit([]) is None and paid.journal_id is not None


@pytest.mark.parametrize("spelling", ["0{id}", "00{id}", " {id}", "{id} ", "+{id}"])
def test_a_bill_is_paid_once_however_its_id_is_spelled(spelling):
    """dbprobe31 F8: bill 1 was paid as '1' and again as '01' (UNIQUE compares the text).
    A payment of one of the simulator's bills names it as its id is spelled (CI205); the
    service's own payment, which writes ``str(bill.pk)``, goes."""
    support.seeded()
    customer, account = support.payer()
    key = (support.CITY, *support.biller(support.CITY).bills.values_list("number", "confirmation").first(), "")
    paid = support.pay(customer, account, key, support.lookup(customer, key), acknowledged=True)
    assert paid.bill_id == str(int(paid.bill_id))
    columns = ("reference, customer_id, account_id, biller_id, bill_id, number, category, description,"
               " amount, via_link, paid_at, journal_id")
    insert = (f"INSERT INTO payeasy_payment ({columns}) VALUES"
              " ('26120600000009', %s, %s, %s, %s, %s, '', '二重', %s, false, now(), NULL)")
    assert refused(insert, [customer.pk, account.pk, paid.biller_id, spelling.format(id=paid.bill_id),
                            paid.number, paid.amount]) == "CI205"
