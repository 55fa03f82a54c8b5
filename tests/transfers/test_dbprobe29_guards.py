"""XFER-5, NOTE-1, LEDGER-7 (outside review dbprobe29 F4; transfers 0034), as the app's own
role: a 予約 becomes 未処理 or 振込済 only with the batch's audit row and mail in the same
transaction (CI232). The checks run at commit (``at_commit``); the batch's own paths still
commit."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Journal
from accounts.services import journal_post
from notifications.services import notice_enqueue
from security.audit import audit_record
from tests.transfers.scheduled_support import funded_payer, schedule
from tests.transfers.test_interbank_guards import at_commit, refused_at_commit
from transfers import scheduled, services
from transfers.models import Transfer

pytestmark = pytest.mark.django_db
TOLD = "CI232"


# --- F4: 未処理 / 振込済 told and audited as the batch does it (CI232) -----------------------


def _due_today(balance: int = 1_000_000):
    """A 予約 of 10,000円 dated today, booked yesterday (an other-bank payee)."""
    customer, debit = funded_payer(balance, day=timezone.localdate())
    return customer, schedule(customer, debit, 10_000, day=timezone.localdate())


def _unprocessed_sql(transfer: Transfer) -> None:
    """The review's UPDATE."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE transfers_transfer SET status = 'unprocessed', unprocessed_reason = 'insufficient_funds',"
                       " executed_at = clock_timestamp() WHERE id = %s AND status = 'scheduled'", [transfer.pk])
        assert cursor.rowcount == 1


def _batch_row(customer, transfer: Transfer, *, outcome="failure", summary=None) -> None:
    audit_record(action="transfer", outcome=outcome, customer=customer, actor="batch",
                 summary=summary or f"予約振込未処理（残高不足） 受付番号 {transfer.pk} x")


def test_a_scheduled_transfer_made_unprocessed_without_its_mail_and_audit_row_is_refused():
    customer, booked = _due_today()
    assert refused_at_commit(lambda: _unprocessed_sql(booked)) == TOLD

    def audited_only():
        _unprocessed_sql(booked)
        _batch_row(customer, booked)
    assert refused_at_commit(audited_only) == TOLD

    def mailed_only():
        _unprocessed_sql(booked)
        notice_enqueue(customer=customer, event="transfer_unprocessed", lines=["x"])
    assert refused_at_commit(mailed_only) == TOLD

    def another_transfers_row():
        _unprocessed_sql(booked)
        _batch_row(customer, booked, summary=f"予約振込未処理（残高不足） 受付番号 {booked.pk}0 x")
        notice_enqueue(customer=customer, event="transfer_unprocessed", lines=["x"])
    assert refused_at_commit(another_transfers_row) == TOLD

    def not_the_batchs_row():
        _unprocessed_sql(booked)
        audit_record(action="transfer", outcome="failure", customer=customer, actor="madoguchi",
                     summary=f"予約振込未処理（残高不足） 受付番号 {booked.pk} x")
        notice_enqueue(customer=customer, event="transfer_unprocessed", lines=["x"])
    assert refused_at_commit(not_the_batchs_row) == TOLD

    def another_mail():
        _unprocessed_sql(booked)
        _batch_row(customer, booked)
        notice_enqueue(customer=customer, event="transfer_executed", lines=["x"])
    assert refused_at_commit(another_mail) == TOLD
    assert Transfer.objects.get(pk=booked.pk).status == Transfer.Status.SCHEDULED


def test_a_scheduled_transfer_made_executed_without_its_mail_and_audit_row_is_refused():
    customer, booked = _due_today()

    def executed_sql():
        journal = journal_post(lines=services.transfer_lines(booked), kind=Journal.Kind.TRANSFER, description="x",
                               idempotency_key=f"scheduled-transfer:{booked.pk}")
        with connection.cursor() as cursor:
            cursor.execute("UPDATE transfers_transfer SET status = 'executed', journal_id = %s,"
                           " executed_at = clock_timestamp() WHERE id = %s", [journal.pk, booked.pk])
    assert refused_at_commit(executed_sql) == TOLD

    def unprocessed_row_for_an_execution():
        executed_sql()
        _batch_row(customer, booked)
        notice_enqueue(customer=customer, event="transfer_executed", lines=["x"])
    assert refused_at_commit(unprocessed_row_for_an_execution) == TOLD


def _batch_commits(day):
    with transaction.atomic():
        result = scheduled.transfers_execute_due(day=day, wait_for_others=False)
        at_commit()
    return result


def test_the_batch_one_transfer_at_a_time_still_commits():
    """A lone due transfer: ``scheduled_transfer_execute``, 未処理 (no funds), then 振込済."""
    _, poor = _due_today(balance=0)
    result = _batch_commits(timezone.localdate())
    assert (result.executed, result.unprocessed) == (0, 1)
    assert Transfer.objects.get(pk=poor.pk).status == Transfer.Status.UNPROCESSED
    _, rich = _due_today()
    result = _batch_commits(timezone.localdate())
    assert (result.executed, result.unprocessed) == (1, 0)
    assert Transfer.objects.get(pk=rich.pk).status == Transfer.Status.EXECUTED


def test_the_batch_in_chunks_still_commits():
    """Several customers in one transaction (``_chunk_execute``): 振込済 and 未処理 together."""
    booked = [_due_today()[1], _due_today(balance=0)[1], _due_today()[1], _due_today(balance=0)[1]]
    result = _batch_commits(timezone.localdate())
    assert (result.executed, result.unprocessed) == (2, 2)
    assert [Transfer.objects.get(pk=t.pk).status for t in booked] == ["executed", "unprocessed"] * 2

