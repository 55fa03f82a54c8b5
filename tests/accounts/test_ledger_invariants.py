"""LEDGER-2/LEDGER-7, defence in depth: even the owner of the tables — who, unlike the
app's role, may write them directly (a migration, a DBA's mistake) — cannot break the
ledger's rules. The app's role cannot write them at all: tests/accounts/test_ledger_lockdown.py."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.utils import timezone

from accounts.models import Account, Entry, Journal
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

JOURNAL_INSERT = (
    "INSERT INTO accounts_journal (kind, description, idempotency_key, request_hash,"
    " posted_at, created_at) VALUES (%s, 'x', %s, '', %s, now()) RETURNING id, posted_at"
)
ENTRY_INSERT = (
    "INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after, description,"
    " posted_at) VALUES (%s, %s, %s, %s, 'x', %s)"
)


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def owner_cursor():
    return connections["owner"].cursor()


def as_owner():
    return transaction.atomic(using="owner")


def journal(cursor, key: str, kind: str = "adjustment", at=None) -> tuple[int, dt.datetime]:
    cursor.execute(JOURNAL_INSERT, [kind, key, at or timezone.now()])
    return cursor.fetchone()


def test_unbalanced_journal_is_refused_at_commit():
    source = factories.account(balance=1_000)
    with pytest.raises(DatabaseError) as caught:
        with as_owner(), owner_cursor() as cursor:
            journal_id, at = journal(cursor, "raw-1")
            cursor.execute(ENTRY_INSERT, [journal_id, source.id, -100, 900, at])
    assert sqlstate(caught.value) == "CI100"
    source.refresh_from_db()
    assert source.balance == 1_000
    assert not Journal.objects.filter(idempotency_key="raw-1").exists()


def test_journal_without_entries_is_refused():
    with pytest.raises(DatabaseError) as caught:
        with as_owner(), owner_cursor() as cursor:
            journal(cursor, "raw-2")
    assert sqlstate(caught.value) == "CI100"


@pytest.mark.parametrize("statement", [
    "UPDATE accounts_entry SET amount = amount + 1 WHERE id = %s",
    "UPDATE accounts_entry SET description = 'changed' WHERE id = %s",
    "DELETE FROM accounts_entry WHERE id = %s",
])
def test_entries_are_append_only(statement):
    target = factories.account(balance=500)
    entry = Entry.objects.filter(account=target).get()
    with pytest.raises(DatabaseError) as caught, owner_cursor() as cursor:
        cursor.execute(statement, [entry.id])
    assert sqlstate(caught.value) == "CI105"
    assert Entry.objects.get(pk=entry.pk).amount == 500


def test_journals_are_append_only():
    posted = factories.deposit(factories.account(), 100)
    with pytest.raises(DatabaseError) as caught, owner_cursor() as cursor:
        cursor.execute("DELETE FROM accounts_journal WHERE id = %s", [posted.id])
    assert sqlstate(caught.value) == "CI105"


def test_cached_balance_cannot_be_written_directly():
    """No pg_trigger_depth() exemption any more: only the entry being applied moves it."""
    target = factories.account(balance=700)
    with pytest.raises(DatabaseError) as caught, owner_cursor() as cursor:
        cursor.execute("UPDATE accounts_account SET balance = 1000000 WHERE id = %s", [target.id])
    assert sqlstate(caught.value) == "CI103"
    # forging the handshake of the entry trigger for another amount does not help either
    with pytest.raises(DatabaseError) as caught, as_owner(), owner_cursor() as cursor:
        cursor.execute("SELECT set_config('cosei.ledger_applying', %s, true)", [f"{target.id}:5:x"])
        cursor.execute("UPDATE accounts_account SET balance = balance + 999 WHERE id = %s", [target.id])
    assert sqlstate(caught.value) == "CI103"
    target.refresh_from_db()
    assert target.balance == 700


def test_customer_balance_never_goes_negative_even_from_raw_sql():
    """The entry trigger refuses the debit (CI008: below the hold of 0); the CHECK
    constraint balance >= 0 stands behind it."""
    target = factories.account(balance=300)
    cash = factories.internal(Account.Purpose.CASH)
    with pytest.raises(DatabaseError) as caught:
        with as_owner(), owner_cursor() as cursor:
            journal_id, at = journal(cursor, "raw-3", "withdrawal")
            cursor.execute(ENTRY_INSERT, [journal_id, target.id, -500, -200, at])
            cursor.execute(ENTRY_INSERT, [journal_id, cash.id, 500, cash.balance + 500, at])
    assert sqlstate(caught.value) == "CI008"
    target.refresh_from_db()
    assert target.balance == 300


def test_entry_with_wrong_balance_after_is_refused():
    target = factories.account(balance=300)
    with pytest.raises(DatabaseError) as caught:
        with as_owner(), owner_cursor() as cursor:
            journal_id, at = journal(cursor, "raw-4", "deposit")
            cursor.execute(ENTRY_INSERT, [journal_id, target.id, 100, 999_999, at])
    assert sqlstate(caught.value) == "CI102"


def test_entry_time_must_be_its_journals():
    target = factories.account(balance=300)
    cash = factories.internal(Account.Purpose.CASH)
    with pytest.raises(DatabaseError) as caught:
        with as_owner(), owner_cursor() as cursor:
            journal_id, at = journal(cursor, "raw-5", "deposit", timezone.now() - dt.timedelta(seconds=1))
            cursor.execute(ENTRY_INSERT, [journal_id, cash.id, -100, cash.balance - 100, timezone.now()])
    assert sqlstate(caught.value) == "CI014"
    target.refresh_from_db()
    assert target.balance == 300


def test_entries_cannot_be_dated_in_the_future():
    """A future entry would block the account for ever (entries are append-only)."""
    target = factories.account(balance=300)
    cash = factories.internal(Account.Purpose.CASH)
    future = timezone.now() + dt.timedelta(days=30)
    with pytest.raises(DatabaseError) as caught:
        with as_owner(), owner_cursor() as cursor:
            journal_id, at = journal(cursor, "raw-6", "deposit", future)
            cursor.execute(ENTRY_INSERT, [journal_id, cash.id, -100, cash.balance - 100, at])
            cursor.execute(ENTRY_INSERT, [journal_id, target.id, 100, 400, at])
    assert sqlstate(caught.value) == "CI014"
    factories.deposit(target, 1)  # the account still takes postings
    target.refresh_from_db()
    assert target.balance == 301


def test_a_direct_debit_cannot_spend_the_hold():
    target = factories.account(balance=1_000, hold_amount=800)
    cash = factories.internal(Account.Purpose.CASH)
    with pytest.raises(DatabaseError) as caught:
        with as_owner(), owner_cursor() as cursor:
            journal_id, at = journal(cursor, "raw-7", "withdrawal")
            cursor.execute(ENTRY_INSERT, [journal_id, target.id, -300, 700, at])
            cursor.execute(ENTRY_INSERT, [journal_id, cash.id, 300, cash.balance + 300, at])
    assert sqlstate(caught.value) == "CI008"
    target.refresh_from_db()
    assert (target.balance, target.available_amount) == (1_000, 200)


def test_a_direct_debit_of_a_frozen_account_is_refused():
    target = factories.account(balance=1_000)
    Account.objects.filter(pk=target.pk).update(status=Account.Status.FROZEN)
    cash = factories.internal(Account.Purpose.CASH)
    with pytest.raises(DatabaseError) as caught:
        with as_owner(), owner_cursor() as cursor:
            journal_id, at = journal(cursor, "raw-8", "withdrawal")
            cursor.execute(ENTRY_INSERT, [journal_id, target.id, -300, 700, at])
            cursor.execute(ENTRY_INSERT, [journal_id, cash.id, 300, cash.balance + 300, at])
    assert sqlstate(caught.value) == "CI007"
    factories.deposit(target, 5)  # a frozen account still receives money
    target.refresh_from_db()
    assert target.balance == 1_005


def test_zero_amount_entry_is_refused():
    target = factories.account(balance=300)
    with pytest.raises(IntegrityError), owner_cursor() as cursor:
        cursor.execute(ENTRY_INSERT, [Journal.objects.first().id, target.id, 0, 300,
                                      Journal.objects.first().posted_at])


def test_new_account_must_start_empty():
    holder = factories.customer()
    with pytest.raises(DatabaseError) as caught, owner_cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_account (branch_id, customer_id, purpose, type, number,"
            " holder_kana, name, status, balance, hold_amount, opened_at)"
            " VALUES (%s, %s, 'customer', '1', '7777777', 'ｱ', '', 'open', 5000, 0, now())",
            [factories.branch().id, holder.id],
        )
    assert sqlstate(caught.value) == "CI104"


def test_truncate_is_refused_outside_a_test_database():
    factories.account(balance=100)
    with pytest.raises(DatabaseError) as caught:
        with as_owner(), owner_cursor() as cursor:
            cursor.execute("SET LOCAL cosei.ledger_allow_truncate = 'off'")
            cursor.execute("TRUNCATE accounts_entry, accounts_journal CASCADE")
    assert sqlstate(caught.value) == "CI105"
    assert Entry.objects.exists()


def test_legs_cannot_be_added_to_a_committed_journal():
    """Even a balanced pair of legs appended to an old journal is refused (CI106)."""
    target = factories.account(balance=1_000)
    cash = factories.internal(Account.Purpose.CASH)
    old = Journal.objects.get(entries__account=target)
    cash.refresh_from_db()
    with pytest.raises(DatabaseError) as caught:
        with as_owner(), owner_cursor() as cursor:
            cursor.execute(ENTRY_INSERT, [old.id, target.id, 500, 1_500, old.posted_at])
            cursor.execute(ENTRY_INSERT, [old.id, cash.id, -500, cash.balance - 500, old.posted_at])
    # the later time rule (CI101) or the same-transaction rule (CI106) refuses it
    assert sqlstate(caught.value) in {"CI106", "CI101"}
    target.refresh_from_db()
    assert target.balance == 1_000 and old.entries.count() == 2


OPEN_INTERNAL = (
    "INSERT INTO accounts_account (purpose, type, number, holder_kana, name, status, balance, hold_amount,"
    " opened_at, branch_id) VALUES (%s, '1', '9000099', 'X', 'dup', 'closed', 0, 0, now(), %s)"
)


@pytest.mark.parametrize("purpose", ["payeasy_collection", "cash", "zengin_settlement", "fee_income"])
def test_the_owner_opens_no_second_single_internal_account(purpose):
    """PAY-1, XFER-4 (dbprobe25 F1, accounts 0024): the services read each of these with
    .get(); a second row, closed even, failed every payment, 窓口入金 or transfer. The owner
    — who opens the bank's own accounts — is held by the index too."""
    with pytest.raises(IntegrityError) as caught, owner_cursor() as cursor:
        cursor.execute(OPEN_INTERNAL, [purpose, factories.branch().id])
    assert sqlstate(caught.value) == "23505"
    assert Account.objects.filter(purpose=purpose).count() == 1


def test_an_account_purpose_is_one_of_the_models():
    with pytest.raises(IntegrityError) as caught, owner_cursor() as cursor:
        cursor.execute(OPEN_INTERNAL, ["bogus", factories.branch().id])
    assert sqlstate(caught.value) == "23514"


def test_a_striped_account_cannot_be_closed_while_its_stripes_hold_money():
    """LEDGER-7, LEDGER-5: the database refuses to close an account that still holds money
    (CHECK account_closed_is_empty), but the fee income's money is on its stripes, and only
    the admin service looked at them: the account was closed with one UPDATE, stranding the
    money (ledger_post() refuses every line on a stripe of a closed account) and failing
    ledger_check. Since accounts 0025 only the owner changes the status of the bank's own
    accounts (the app's role: CI111, test_ledger_lockdown.py); the owner is held by CI107."""
    from accounts.ledger_check import ledger_check
    from accounts.services import PostingLine, journal_post

    fee_income = factories.internal(Account.Purpose.FEE_INCOME)
    payer = factories.account(balance=1_000)
    journal_post(lines=[PostingLine(payer, -330, "振込手数料"), PostingLine(fee_income, 330)],
                 kind=Journal.Kind.TRANSFER_FEE, description="振込手数料", idempotency_key="demo:fee-stranded")
    fee_income.refresh_from_db()
    assert fee_income.balance == 0
    with pytest.raises(DatabaseError) as caught, owner_cursor() as cursor:
        cursor.execute("UPDATE accounts_account SET status = 'closed' WHERE id = %s", [fee_income.id])
    assert sqlstate(caught.value) == "CI107"
    fee_income.refresh_from_db()
    assert fee_income.status == Account.Status.OPEN
    # an account whose stripes are empty still closes (and stays closed: CI108)
    empty = factories.internal(Account.Purpose.PAYEASY_COLLECTION)
    Account.objects.using("owner").filter(pk=empty.pk).update(status=Account.Status.CLOSED)
    with pytest.raises(DatabaseError) as caught, owner_cursor() as cursor:
        cursor.execute("UPDATE accounts_account SET status = 'open' WHERE id = %s", [empty.id])
    assert sqlstate(caught.value) == "CI108"
    assert all(result.ok for result in ledger_check())


def test_a_freeze_lifted_around_a_debit_of_a_stripe_is_not_put_back():
    """LEDGER-7 (dbprobe25 F16, accounts 0028): CI109 read the account's own entries only —
    lifting the fee income's freeze, debiting one of its stripes (where its money is) and
    freezing it again was one accepted transaction, seen by ledger_check the next night. The
    app's role is stopped at the first step (CI111, accounts 0025); the owner by CI109."""
    from django.db import connection

    from accounts.services import PostingLine, journal_post

    fee_income = factories.internal(Account.Purpose.FEE_INCOME)
    zengin = factories.internal(Account.Purpose.ZENGIN_SETTLEMENT)
    payer = factories.account(balance=1_000)
    fee = journal_post(lines=[PostingLine(payer, -330, "振込手数料"), PostingLine(fee_income, 330)],
                       kind=Journal.Kind.TRANSFER_FEE, description="振込手数料", idempotency_key="demo:f16-fee")
    stripe = Entry.objects.get(journal_id=fee.id, amount=330).account
    Account.objects.using("owner").filter(pk=fee_income.pk).update(status=Account.Status.FROZEN)
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_account SET status = 'open' WHERE id = %s", [fee_income.id])
    assert sqlstate(caught.value) == "CI111"
    with pytest.raises(DatabaseError) as caught:
        with as_owner(), owner_cursor() as cursor:
            cursor.execute("UPDATE accounts_account SET status = 'open' WHERE id = %s", [fee_income.id])
            cursor.execute("SELECT journal_id FROM ledger_post('adjustment', 'x', 'probe-stf-1', %s, %s, %s)",
                           [[stripe.id, zengin.id], [-10, 10], ["x", "x"]])
            cursor.execute("UPDATE accounts_account SET status = 'frozen' WHERE id = %s", [fee_income.id])
    assert sqlstate(caught.value) == "CI109"
    stripe.refresh_from_db()
    fee_income.refresh_from_db()
    assert (stripe.balance, fee_income.status) == (330, Account.Status.FROZEN)
    assert not Journal.objects.filter(idempotency_key="probe-stf-1").exists()
