"""XFER-5 exactly once under real concurrency: the batch on two workers at once (threads
with their own connections) over many transfers, a cancel racing the batch, and the
ledger's own check afterwards."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections, transaction

from accounts.ledger_check import ledger_check
from accounts.models import Entry, Journal
from notifications.models import OutboxMessage
from tests.transfers.scheduled_support import funded_payer, past_business_day, schedule
from transfers import scheduled
from transfers.models import Transfer, TransferLimit

pytestmark = pytest.mark.django_db(transaction=True)


def run_workers(count: int, job):
    barrier = threading.Barrier(count)

    def worker(_index):
        try:
            barrier.wait()
            return job()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def test_two_workers_execute_each_of_many_transfers_exactly_once():
    day = past_business_day()
    accounts = []
    with transaction.atomic():  # the backdated deposits in one transaction (scheduled_support)
        # each customer can pay 4 of its 5 transfers (10,330 each): one 未処理 per customer
        payers = [funded_payer(4 * 10_330 + 100, day=day, email=f"c{index}@example.jp") for index in range(12)]
    for customer, account in payers:
        accounts.append(account)
        for hour in range(5):
            schedule(customer, account, 10_000, day=day, hour=8 + hour)
    results = run_workers(2, lambda: scheduled.transfers_execute_due(day=day))
    assert sum(r.executed for r in results) == 48 and sum(r.unprocessed for r in results) == 12
    assert all(r.executed for r in results), "both workers took part"
    assert not Transfer.objects.filter(status=Transfer.Status.SCHEDULED).exists()
    assert Journal.objects.filter(kind=Journal.Kind.TRANSFER).count() == 48
    assert Journal.objects.filter(idempotency_key__startswith="scheduled-transfer:").count() == 48
    for account in accounts:
        # in each account the four made first executed, the last one is 未処理
        outcomes = list(Transfer.objects.filter(debit_account=account).order_by("created_at")
                        .values_list("status", flat=True))
        assert outcomes == ["executed"] * 4 + ["unprocessed"]
        account.refresh_from_db()
        assert account.balance == 100
        assert Entry.objects.filter(account=account, amount__lt=0).count() == 8
    assert OutboxMessage.objects.filter(event="transfer_executed").count() == 48
    assert OutboxMessage.objects.filter(event="transfer_unprocessed").count() == 12
    # the job run again by two workers: nothing more
    again = run_workers(2, lambda: scheduled.transfers_execute_due(day=day))
    assert sum(r.executed + r.unprocessed for r in again) == 0
    assert all(result.ok for result in ledger_check())


@pytest.mark.parametrize("held", ["customer_lock", "transfer_row"])
def test_a_transfer_whose_customer_lock_or_row_another_session_holds_is_skipped_then_taken(held):
    """The claim locks the transfer and its customer's limit row with SKIP LOCKED: while a
    same-day transfer (or a cancel) of that customer holds either, the batch takes the next
    customer's transfer and leaves this one scheduled for a later claim."""
    day = past_business_day()
    with transaction.atomic():  # the backdated deposits in one transaction (scheduled_support)
        first_customer, first_account = funded_payer(50_000, day=day, email="first@example.jp")
        second_customer, second_account = funded_payer(50_000, day=day, email="second@example.jp")
    first = schedule(first_customer, first_account, 10_000, day=day, hour=8)  # earliest in the order
    second = schedule(second_customer, second_account, 10_000, day=day, hour=9)
    locked, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                if held == "customer_lock":
                    TransferLimit.objects.select_for_update().get(customer=first_customer)
                else:
                    Transfer.objects.select_for_update().get(pk=first.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        result = scheduled.transfers_execute_due(day=day, wait_for_others=False)
        assert (result.executed, result.unprocessed) == (1, 0)
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.status, second.status) == (Transfer.Status.SCHEDULED, Transfer.Status.EXECUTED)
    finally:
        release.set()
        thread.join()
    assert scheduled.transfers_execute_due(day=day).executed == 1
    first.refresh_from_db()
    assert first.status == Transfer.Status.EXECUTED
    assert all(result.ok for result in ledger_check())


def test_chunks_beside_online_postings_on_the_same_accounts_never_deadlock(caplog):
    """Issue 14: a chunk holds its accounts until it commits. Two batch workers run while
    two online clients post between the same accounts (each posting also crediting the fee
    income, as a transfer with a fee does, so the stripes are shared): no deadlock, no
    error, no chunk rolled back (the chunk locks what ledger_post() will lock, in id order,
    before its first posting), every transfer executed once."""
    import random

    from accounts import errors
    from accounts.models import Account
    from accounts.services import PostingLine, journal_post
    from tests.transfers.support import our_payee

    day = past_business_day()
    with transaction.atomic():  # the backdated deposits in one transaction (scheduled_support)
        payers = [funded_payer(1_000_000, day=day, email=f"d{index}@example.jp") for index in range(10)]
    accounts = [account for _, account in payers]
    for index, (customer, account) in enumerate(payers):
        neighbour = accounts[(index + 1) % len(accounts)]
        for hour in range(3):
            payee = our_payee(neighbour) if hour % 2 == 0 else None
            schedule(customer, account, 1_000, day=day, payee=payee, hour=8 + hour)
    fee_income = Account.objects.get(purpose=Account.Purpose.FEE_INCOME)
    batch_done = threading.Event()
    batches_left = [2]
    count_lock = threading.Lock()
    online_errors, online_posted = [], []

    def online(index):
        rng = random.Random(index)
        posted = 0
        while not batch_done.wait(0):
            source, target = rng.sample(accounts, 2)
            try:
                journal_post(lines=[PostingLine(source, -3), PostingLine(target, 2), PostingLine(fee_income, 1)],
                             kind=Journal.Kind.TRANSFER, description="振込",
                             idempotency_key=f"demo:online-{index}-{posted}")
                posted += 1
            except errors.LedgerError as refused:
                online_errors.append(refused)
        online_posted.append(posted)
        return None

    barrier = threading.Barrier(4)

    def run(job_index):
        try:
            barrier.wait()
            if job_index < 2:
                return online(job_index)
            return scheduled.transfers_execute_due(day=day)
        finally:
            if job_index >= 2:
                with count_lock:
                    batches_left[0] -= 1
                    if not batches_left[0]:
                        batch_done.set()  # the online clients stop once both workers are done
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(run, index) for index in range(4)]
        results = [future.result() for future in futures[2:]]
        for future in futures[:2]:
            future.result()
    assert online_errors == []
    assert sum(online_posted) > 0
    assert sum(r.executed for r in results) == 30 and sum(r.unprocessed for r in results) == 0
    assert not Transfer.objects.filter(status=Transfer.Status.SCHEDULED).exists()
    assert Journal.objects.filter(idempotency_key__startswith="scheduled-transfer:").count() == 30
    assert "rolled back" not in caplog.text
    assert all(result.ok for result in ledger_check())
