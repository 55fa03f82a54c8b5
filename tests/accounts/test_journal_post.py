"""LEDGER-1/2/3: the posting service."""

from __future__ import annotations

import pytest

from accounts import errors
from accounts.models import Account, Entry, Journal
from accounts.services import PostingLine, journal_post
from tests import factories

pytestmark = pytest.mark.django_db


def test_transfer_moves_money_and_records_balance_after():
    source = factories.account(balance=10_000)
    target = factories.account()
    journal = factories.transfer(source, target, 2_500)
    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.balance, target.balance) == (7_500, 2_500)
    entries = {entry.account_id: entry for entry in Entry.objects.filter(journal_id=journal.id)}
    assert entries[source.id].amount == -2_500 and entries[source.id].balance_after == 7_500
    assert entries[target.id].amount == 2_500 and entries[target.id].balance_after == 2_500
    assert journal.created is True


def test_same_account_twice_in_one_journal_chains_balance_after():
    source = factories.account(balance=10_000)
    fee = factories.internal(Account.Purpose.FEE_INCOME)
    settlement = factories.internal(Account.Purpose.ZENGIN_SETTLEMENT)
    journal = journal_post(
        lines=[
            PostingLine(source, -3_000, "振込"), PostingLine(settlement, 3_000),
            PostingLine(source, -330, "振込手数料"), PostingLine(fee, 330),
        ],
        kind=Journal.Kind.TRANSFER, description="振込", idempotency_key="fee-chain",
    )
    rows = list(Entry.objects.filter(journal_id=journal.id, account=source).order_by("id")
                .values_list("amount", "balance_after", "description"))
    assert rows == [(-3_000, 7_000, "振込"), (-330, 6_670, "振込手数料")]


def test_insufficient_funds_posts_nothing_and_says_so_in_japanese():
    source = factories.account(balance=1_000)
    target = factories.account()
    with pytest.raises(errors.InsufficientFunds) as caught:
        factories.transfer(source, target, 1_001)
    assert "不足" in caught.value.message
    assert caught.value.account_id == source.id
    source.refresh_from_db()
    assert source.balance == 1_000
    assert not Entry.objects.filter(account=target).exists()


def test_holds_reduce_what_can_be_spent():
    source = factories.account(balance=1_000, hold_amount=600)
    with pytest.raises(errors.InsufficientFunds):
        factories.transfer(source, factories.account(), 500)
    factories.transfer(source, factories.account(), 400)
    source.refresh_from_db()
    assert source.balance == 600 and source.available_amount == 0


def test_closed_and_frozen_accounts():
    source = factories.account(balance=1_000)
    Account.objects.filter(pk=source.pk).update(status=Account.Status.FROZEN)
    with pytest.raises(errors.AccountFrozen):
        factories.transfer(source, factories.account(), 100)
    factories.deposit(source, 100)  # a frozen account still receives
    closed = factories.account()
    Account.objects.filter(pk=closed.pk).update(status=Account.Status.CLOSED)
    with pytest.raises(errors.AccountClosed):
        factories.deposit(closed, 100)


def test_the_database_refuses_to_close_an_account_with_money_in_it():
    from django.db import IntegrityError, transaction

    account = factories.account(balance=1_000)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(status=Account.Status.CLOSED)
    account.refresh_from_db()
    assert account.status == Account.Status.OPEN


def test_idempotency_key_posts_once():
    source = factories.account(balance=5_000)
    target = factories.account()
    first = factories.transfer(source, target, 1_000, key="double-submit")
    second = factories.transfer(source, target, 1_000, key="double-submit")
    assert second.id == first.id and second.created is False
    source.refresh_from_db()
    assert source.balance == 4_000
    assert Journal.objects.filter(idempotency_key="double-submit").count() == 1


def test_idempotency_key_with_other_content_is_refused():
    source = factories.account(balance=5_000)
    target = factories.account()
    factories.transfer(source, target, 1_000, key="reused")
    with pytest.raises(errors.IdempotencyConflict):
        factories.transfer(source, target, 2_000, key="reused")


@pytest.mark.parametrize("amount", [0, 1.5, True, "100"])
def test_amounts_must_be_non_zero_integers(amount):
    source = factories.account(balance=5_000)
    with pytest.raises(errors.InvalidPosting):
        journal_post(
            lines=[PostingLine(source, amount), PostingLine(factories.account(), amount)],
            kind=Journal.Kind.TRANSFER, description="x", idempotency_key=factories.unique("bad-"),
        )


def test_unbalanced_lines_are_refused_before_the_database():
    source = factories.account(balance=5_000)
    with pytest.raises(errors.InvalidPosting):
        journal_post(
            lines=[PostingLine(source, -100), PostingLine(factories.account(), 99)],
            kind=Journal.Kind.TRANSFER, description="x", idempotency_key="unbalanced",
        )
    assert not Journal.objects.filter(idempotency_key="unbalanced").exists()


def test_unknown_account():
    source = factories.account(balance=5_000)
    with pytest.raises(errors.AccountNotFound):
        journal_post(
            lines=[PostingLine(source, -100), PostingLine(987654321, 100)],
            kind=Journal.Kind.TRANSFER, description="x", idempotency_key="unknown",
        )


def test_backdated_posting_cannot_go_before_the_last_entry():
    import datetime as dt

    from django.utils import timezone

    target = factories.account()
    factories.deposit(target, 100)
    with pytest.raises(errors.LedgerIntegrityError):
        factories.deposit(target, 100, posted_at=timezone.now() - dt.timedelta(days=1))


def test_a_posting_cannot_be_dated_in_the_future():
    """A future entry would block every later posting on the shared cash account."""
    import datetime as dt

    from django.utils import timezone

    target = factories.account()
    with pytest.raises(errors.InvalidPosting):
        factories.deposit(target, 100, posted_at=timezone.now() + dt.timedelta(minutes=5))
    factories.deposit(factories.account(), 100)  # the cash account still works


def test_a_future_date_is_refused_by_the_database_too():
    import datetime as dt

    from django.db import DatabaseError, connection
    from django.utils import timezone

    target = factories.account()
    cash = factories.internal(Account.Purpose.CASH)
    with pytest.raises(DatabaseError) as caught, connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM ledger_post('deposit', 'x', 'future', %s, %s, %s, %s)",
            [[cash.id, target.id], [-100, 100], ["x", "x"], timezone.now() + dt.timedelta(days=1)],
        )
    assert caught.value.__cause__.sqlstate == "CI013"


def test_absurd_amounts_are_refused_before_the_database():
    source = factories.account(balance=5_000)
    with pytest.raises(errors.InvalidPosting):
        journal_post(
            lines=[PostingLine(source, -(2**70)), PostingLine(factories.account(), 2**70)],
            kind=Journal.Kind.TRANSFER, description="x", idempotency_key="huge",
        )
