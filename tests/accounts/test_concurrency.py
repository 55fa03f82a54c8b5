"""LEDGER-3 under real concurrency: threads, real PostgreSQL, no overdraft, no lost update,
no deadlock (SQLSTATE 40P01), exactly-once idempotency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.db.models import Sum

from accounts import errors
from accounts.models import Account, Entry, Journal
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 10


def run_concurrently(jobs):
    """Run each job on its own thread and connection, all released at once."""
    barrier = threading.Barrier(len(jobs))
    outcomes = []

    def call(job):
        try:
            barrier.wait()
            return ("ok", job())
        except errors.LedgerError as exc:
            return ("refused", exc)
        except Exception as exc:  # noqa: BLE001 - a deadlock or a bug must fail the test
            return ("error", exc)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        outcomes = list(pool.map(call, jobs))
    errors_seen = [outcome for outcome in outcomes if outcome[0] == "error"]
    assert not errors_seen, errors_seen
    return outcomes


def assert_balances_are_sums(*accounts):
    for account in accounts:
        account.refresh_from_db()
        total = Entry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"] or 0
        assert account.balance == total


def test_hot_account_never_overdraws():
    hot = factories.account(balance=10_000)
    targets = [factories.account() for _ in range(THREADS)]
    jobs = [lambda target=target: factories.transfer(hot, target, 1_500) for target in targets]
    outcomes = run_concurrently(jobs * 2)
    succeeded = sum(1 for outcome in outcomes if outcome[0] == "ok")
    refused = [outcome[1] for outcome in outcomes if outcome[0] == "refused"]
    assert succeeded == 6  # 6 × 1,500 ≤ 10,000 < 7 × 1,500
    assert all(isinstance(exc, errors.InsufficientFunds) for exc in refused)
    hot.refresh_from_db()
    assert hot.balance == 10_000 - 6 * 1_500
    assert_balances_are_sums(hot, *targets)


def test_transfers_both_ways_do_not_deadlock_or_lose_updates():
    left = factories.account(balance=100_000)
    right = factories.account(balance=100_000)
    jobs = []
    for index in range(THREADS * 2):
        if index % 2:
            jobs.append(lambda: factories.transfer(left, right, 700))
        else:
            jobs.append(lambda: factories.transfer(right, left, 300))
    outcomes = run_concurrently(jobs)
    assert all(outcome[0] == "ok" for outcome in outcomes)
    left.refresh_from_db()
    right.refresh_from_db()
    assert left.balance == 100_000 - THREADS * 700 + THREADS * 300
    assert left.balance + right.balance == 200_000
    assert_balances_are_sums(left, right)


def test_same_idempotency_key_concurrently_posts_once():
    source = factories.account(balance=50_000)
    target = factories.account()
    jobs = [lambda: factories.transfer(source, target, 1_000, key="racing-key")] * THREADS
    outcomes = run_concurrently(jobs)
    journal_ids = {outcome[1].id for outcome in outcomes}
    assert len(journal_ids) == 1
    assert sum(1 for outcome in outcomes if outcome[1].created) == 1
    assert Journal.objects.filter(idempotency_key="racing-key").count() == 1
    source.refresh_from_db()
    assert source.balance == 49_000
    assert_balances_are_sums(source, target)
    # the connection of the main thread still works after the threads closed theirs
    assert connection.cursor() is not None


def test_duplicate_request_with_just_enough_money_gets_the_same_journal_not_a_refusal():
    """Two copies of one request (a double click) when the balance covers only one: both
    answer with the one journal; neither says 残高不足 (the key is re-read after the lock)."""
    for attempt in range(5):
        source = factories.account(balance=1_000)
        target = factories.account()
        key = f"double-click-{attempt}"
        outcomes = run_concurrently([lambda: factories.transfer(source, target, 1_000, key=key)] * 2)
        assert [outcome[0] for outcome in outcomes] == ["ok", "ok"], outcomes
        assert len({outcome[1].id for outcome in outcomes}) == 1
        source.refresh_from_db()
        assert source.balance == 0
