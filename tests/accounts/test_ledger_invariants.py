"""LEDGER-2: the database itself refuses what breaks the ledger, even from raw SQL."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from accounts.models import Account, Entry, Journal
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def test_unbalanced_journal_is_refused_at_commit():
    source = factories.account(balance=1_000)
    with pytest.raises(DatabaseError) as caught:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO accounts_journal (kind, description, idempotency_key, request_hash,"
                " posted_at, created_at) VALUES ('adjustment', 'x', 'raw-1', '', now(), now())"
                " RETURNING id"
            )
            journal_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after,"
                " description, posted_at) VALUES (%s, %s, -100, 900, 'x', clock_timestamp())",
                [journal_id, source.id],
            )
    assert sqlstate(caught.value) == "CI100"
    source.refresh_from_db()
    assert source.balance == 1_000
    assert not Journal.objects.filter(idempotency_key="raw-1").exists()


def test_journal_without_entries_is_refused():
    with pytest.raises(DatabaseError) as caught:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO accounts_journal (kind, description, idempotency_key, request_hash,"
                " posted_at, created_at) VALUES ('adjustment', 'x', 'raw-2', '', now(), now())"
            )
    assert sqlstate(caught.value) == "CI100"


@pytest.mark.parametrize("statement", [
    "UPDATE accounts_entry SET amount = amount + 1 WHERE id = %s",
    "UPDATE accounts_entry SET description = 'changed' WHERE id = %s",
    "DELETE FROM accounts_entry WHERE id = %s",
])
def test_entries_are_append_only(statement):
    target = factories.account(balance=500)
    entry = Entry.objects.filter(account=target).get()
    with pytest.raises(DatabaseError) as caught, connection.cursor() as cursor:
        cursor.execute(statement, [entry.id])
    assert sqlstate(caught.value) == "CI105"
    assert Entry.objects.get(pk=entry.pk).amount == 500


def test_journals_are_append_only():
    journal = factories.deposit(factories.account(), 100)
    with pytest.raises(DatabaseError) as caught, connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_journal WHERE id = %s", [journal.id])
    assert sqlstate(caught.value) == "CI105"


def test_cached_balance_cannot_be_written_directly():
    target = factories.account(balance=700)
    with pytest.raises(DatabaseError) as caught, connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_account SET balance = 1000000 WHERE id = %s", [target.id])
    assert sqlstate(caught.value) == "CI103"
    target.refresh_from_db()
    assert target.balance == 700


def test_customer_balance_never_goes_negative_even_from_raw_sql():
    """Bypass the posting function: a balanced journal that overdraws a customer account
    is refused by the CHECK constraint when the entry trigger moves the balance."""
    target = factories.account(balance=300)
    cash = factories.internal(Account.Purpose.CASH)
    with pytest.raises(IntegrityError) as caught:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO accounts_journal (kind, description, idempotency_key, request_hash,"
                " posted_at, created_at) VALUES ('withdrawal', 'x', 'raw-3', '', now(), now())"
                " RETURNING id"
            )
            journal_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after,"
                " description, posted_at) VALUES (%s, %s, -500, -200, 'x', clock_timestamp()),"
                " (%s, %s, 500, %s, 'x', clock_timestamp())",
                [journal_id, target.id, journal_id, cash.id, cash.balance + 500],
            )
    assert sqlstate(caught.value) == "23514"
    target.refresh_from_db()
    assert target.balance == 300


def test_entry_with_wrong_balance_after_is_refused():
    target = factories.account(balance=300)
    cash = factories.internal(Account.Purpose.CASH)
    with pytest.raises(DatabaseError) as caught:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO accounts_journal (kind, description, idempotency_key, request_hash,"
                " posted_at, created_at) VALUES ('deposit', 'x', 'raw-4', '', now(), now())"
                " RETURNING id"
            )
            journal_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after,"
                " description, posted_at) VALUES (%s, %s, 100, 999999, 'x', clock_timestamp())",
                [journal_id, target.id],
            )
    assert sqlstate(caught.value) == "CI102"


def test_zero_amount_entry_is_refused():
    target = factories.account(balance=300)
    with pytest.raises(IntegrityError), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after,"
            " description, posted_at) VALUES (%s, %s, 0, 300, 'x', clock_timestamp())",
            [Journal.objects.first().id, target.id],
        )


def test_new_account_must_start_empty():
    owner = factories.customer()
    with pytest.raises(DatabaseError) as caught, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_account (branch_id, customer_id, purpose, type, number,"
            " holder_kana, name, status, balance, hold_amount, opened_at)"
            " VALUES (%s, %s, 'customer', '1', '7777777', 'ｱ', '', 'open', 5000, 0, now())",
            [factories.branch().id, owner.id],
        )
    assert sqlstate(caught.value) == "CI104"


def test_truncate_is_refused_outside_a_test_database():
    factories.account(balance=100)
    with pytest.raises(DatabaseError) as caught:
        with transaction.atomic(), connection.cursor() as cursor:
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
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after,"
                " description, posted_at) VALUES (%s, %s, 500, 1500, 'x', clock_timestamp()),"
                " (%s, %s, -500, %s, 'x', clock_timestamp())",
                [old.id, target.id, old.id, cash.id, cash.balance - 500],
            )
    assert sqlstate(caught.value) == "CI106"
    target.refresh_from_db()
    assert target.balance == 1_000 and old.entries.count() == 2


def test_request_hash_is_required_even_from_raw_sql():
    source = factories.account(balance=1_000)
    target = factories.account()
    journal = factories.transfer(source, target, 100, key="raw-hash")
    with pytest.raises(DatabaseError) as caught, connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM ledger_post('transfer', 'x', 'raw-hash', NULL, %s, %s, %s)",
            [[source.id, target.id], [-900, 900], ["x", "x"]],
        )
    assert sqlstate(caught.value) == "CI010"
    assert Journal.objects.filter(idempotency_key="raw-hash").get().id == journal.id
    source.refresh_from_db()
    assert source.balance == 900
