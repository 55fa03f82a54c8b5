"""Issue 14, migration 0013: entries are applied and checked per INSERT statement (one
trigger call over the inserted rows), not per row. A statement with several legs — on one
account, too — is held to every rule the row trigger held one leg to: the balance_after
chain, time order, the account guard. As the owner, who may write the tables directly
(tests/accounts/test_ledger_invariants.py has the one-leg cases)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from accounts.ledger_check import ledger_check
from accounts.models import Account, Entry
from notifications.models import PostingNotice
from tests import factories
from tests.accounts.test_ledger_invariants import journal

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

LEGS_INSERT = (
    "INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after, description, posted_at)"
    " VALUES (%s, %s, %s, %s, 'x', %s), (%s, %s, %s, %s, 'x', %s), (%s, %s, %s, %s, 'x', %s)"
)


def post_legs(key: str, legs: list[tuple[Account, int, int]], at=None) -> None:
    """One journal whose legs (account, amount, balance_after) go in one INSERT statement."""
    with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
        journal_id, posted_at = journal(cursor, key, at=at)
        params = []
        for account, amount, balance_after in legs:
            params += [journal_id, account.id, amount, balance_after, posted_at]
        cursor.execute(LEGS_INSERT, params)


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def test_several_legs_on_one_account_in_one_statement_chain_their_balances():
    payer = factories.account(balance=1_000)
    cash = factories.internal(Account.Purpose.CASH)
    cash.refresh_from_db()
    post_legs("load:two-legs", [(payer, -100, 900), (payer, -30, 870), (cash, 130, cash.balance + 130)])
    payer.refresh_from_db()
    assert payer.balance == 870
    assert list(Entry.objects.filter(account=payer).order_by("id").values_list("balance_after", flat=True)) == [
        1_000, 900, 870]
    # one 入出金 notice per customer leg, none for the bank's own account
    assert PostingNotice.objects.filter(account=payer).count() == 3
    assert not PostingNotice.objects.filter(account=cash).exists()
    assert all(result.ok for result in ledger_check())


def test_a_broken_chain_inside_one_statement_is_refused():
    payer = factories.account(balance=1_000)
    cash = factories.internal(Account.Purpose.CASH)
    cash.refresh_from_db()
    with pytest.raises(DatabaseError) as caught:
        # the second leg's balance_after ignores the first
        post_legs("broken", [(payer, -100, 900), (payer, -30, 970), (cash, 130, cash.balance + 130)])
    assert sqlstate(caught.value) == "CI102"
    payer.refresh_from_db()
    assert payer.balance == 1_000 and Entry.objects.filter(account=payer).count() == 1


def test_a_statement_cannot_move_an_account_back_in_time():
    payer = factories.account(balance=1_000)
    cash = factories.internal(Account.Purpose.CASH)
    cash.refresh_from_db()
    with pytest.raises(DatabaseError) as caught:
        # a journal dated before the account's last entry
        post_legs("too-old", [(payer, -100, 900), (payer, -30, 870), (cash, 130, cash.balance + 130)],
                  at=timezone.now() - dt.timedelta(days=1))
    assert sqlstate(caught.value) == "CI101"
    payer.refresh_from_db()
    assert payer.balance == 1_000


def test_the_guard_lets_through_only_the_changes_of_the_statement_being_applied():
    """The announcement lists every account of the statement with its exact change: it
    opens the door for no other account and no other amount."""
    target = factories.account(balance=700)
    other = factories.account(balance=500)
    announced = f",{target.id}:5:2000-01-01 00:00:00+00,"
    for account_id, change in ((other.id, 5), (target.id, 6)):
        with pytest.raises(DatabaseError) as caught, transaction.atomic(using="owner"), \
                connections["owner"].cursor() as cursor:
            cursor.execute("SELECT set_config('cosei.ledger_applying', %s, true)", [announced])
            cursor.execute("UPDATE accounts_account SET balance = balance + %s WHERE id = %s", [change, account_id])
        assert sqlstate(caught.value) == "CI103"
    target.refresh_from_db()
    other.refresh_from_db()
    assert (target.balance, other.balance) == (700, 500)


def test_staff_changes_still_stamp_the_status_time():
    """Status and hold changes pass the guard's WHEN clause as before; a status change is
    stamped by the database, and the stamp cannot be written by hand."""
    account = factories.account(balance=100)
    account.refresh_from_db()
    stamped = account.status_changed_at
    Account.objects.filter(pk=account.pk).update(hold_amount=50)
    account.refresh_from_db()
    assert account.status_changed_at == stamped and account.hold_amount == 50
    Account.objects.filter(pk=account.pk).update(status=Account.Status.FROZEN)
    account.refresh_from_db()
    assert account.status_changed_at > stamped
    with connections["owner"].cursor() as cursor:
        cursor.execute("UPDATE accounts_account SET status_changed_at = now() - interval '1 year' WHERE id = %s",
                       [account.id])
    assert Account.objects.get(pk=account.pk).status_changed_at == account.status_changed_at
