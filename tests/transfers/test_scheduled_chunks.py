"""XFER-5, Issue 14: the scheduled batch in chunks of several transfers per transaction —
the set-based audit rows and mail equal the one-by-one services', customers paying each
other never share a chunk, a refusal the batch did not foresee rolls the chunk back and
its transfers run alone, a worker killed mid-chunk leaves the whole chunk scheduled."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from accounts.ledger_check import ledger_check
from accounts.models import Account, Journal
from notifications.models import OutboxMessage
from notifications.services import notice_enqueue
from security.audit import audit_record
from security.models import AuditEvent
from tests.transfers.scheduled_support import funded_payer, past_business_day, schedule
from tests.transfers.support import our_payee, payer
from transfers import scheduled
from transfers.models import Transfer
from transfers.scheduled_records import audit_records, notices_enqueue

pytestmark = pytest.mark.django_db

OUTBOX_FIELDS = ("customer_id", "event", "to", "subject", "body", "status")
AUDIT_FIELDS = ("customer_id", "contract_id", "action", "outcome", "summary", "client_ip", "actor")
LINES = ["ご予約のお振込を実行しました。", "", "引落口座：本店 普通 ****567", "振込先：池田泉州銀行 貝塚 普通 0012345",
         "受取人名：ﾀﾅｶ ﾊﾅｺ", "", "", "", "振込金額：10,000円"]


def _rows(queryset, fields):
    return [tuple(getattr(row, name) for name in fields) for row in queryset.order_by("id")]


@pytest.mark.parametrize("email", ["payer@example.jp", "", "bad address@example.jp"])
def test_the_batch_mail_rows_are_those_notice_enqueue_writes(email):
    customer, _ = payer(email="" if " " in email else email)
    customer.email = email  # "bad address …": no stored address since accounts 0035 (23514), the object in hand only
    notices = [(customer, "transfer_executed", LINES), (customer, "transfer_unprocessed", ["理由：残高不足", ""] + LINES)]
    with time_machine.travel(dt.datetime(2026, 12, 7, 0, 5, 30, tzinfo=dt.UTC), tick=False):
        for _, event, lines in notices:
            notice_enqueue(customer=customer, event=event, lines=lines)
        mails = OutboxMessage.objects.filter(customer=customer, event__startswith="transfer_")
        one_by_one = _rows(mails, OUTBOX_FIELDS)
        last = mails.order_by("id").last().pk  # mails are never deleted, not even here (NOTE-3)
        notices_enqueue(notices)
    assert _rows(mails.filter(pk__gt=last), OUTBOX_FIELDS) == one_by_one
    assert len(one_by_one) == 2
    assert customer.name_kanji in one_by_one[0][4] and "振込金額：10,000円" in one_by_one[1][4]


def test_the_batch_audit_rows_are_those_audit_record_writes():
    customer, _ = payer()
    events = [(customer, "success", "予約振込実行 #1 ﾀﾅｶ\nforged line"), (customer, "failure", "x" * 300)]
    for _, outcome, summary in events:
        audit_record(action="transfer", outcome=outcome, customer=customer, actor="batch", summary=summary)
    batch = AuditEvent.objects.filter(customer=customer, action="transfer")
    one_by_one = _rows(batch, AUDIT_FIELDS)
    last = batch.order_by("id").last().pk  # audit rows are never deleted, not even here (SEC-11)
    audit_records(action="transfer", actor="batch", events=events)
    assert _rows(batch.filter(pk__gt=last), AUDIT_FIELDS) == one_by_one
    assert len(one_by_one) == 2


def test_customers_paying_each_other_are_never_in_one_chunk_and_each_pays_from_the_day_before():
    day = past_business_day()
    a_customer, a = funded_payer(50_000, day=day, email="a@example.jp")
    b_customer, b = funded_payer(20_000, day=day, email="b@example.jp")
    c_customer, c = funded_payer(50_000, day=day, email="c@example.jp")
    to_b = schedule(a_customer, a, 30_000, day=day, payee=our_payee(b), hour=8)
    # b's previous-day balance is 20,000: a's 30,000 arriving today does not count for it
    from_b = schedule(b_customer, b, 25_000, day=day, payee=our_payee(c), hour=9)
    from_c = schedule(c_customer, c, 10_000, day=day, hour=10)
    result = scheduled.transfers_execute_due(day=day)
    assert (result.executed, result.unprocessed) == (2, 1)
    for transfer in (to_b, from_b, from_c):
        transfer.refresh_from_db()
    assert (to_b.status, from_b.status, from_c.status) == ("executed", "unprocessed", "executed")
    assert from_b.unprocessed_reason == Transfer.Reason.INSUFFICIENT_FUNDS
    assert to_b.executed_at == from_c.executed_at  # one chunk: a's and c's
    assert from_b.executed_at > to_b.executed_at  # b's waited: it shares b's account with a's
    b.refresh_from_db()
    assert b.balance == 50_000
    assert OutboxMessage.objects.filter(event="transfer_executed").count() == 2
    assert OutboxMessage.objects.filter(event="transfer_unprocessed", customer=b_customer).count() == 1
    assert AuditEvent.objects.filter(action="transfer", actor="batch").count() == 3
    assert all(check.ok for check in ledger_check())


def test_a_refusal_the_chunk_did_not_foresee_rolls_it_back_and_its_transfers_run_alone():
    day = past_business_day()
    x_customer, x = funded_payer(50_000, day=day, email="x@example.jp")
    y_customer, y = funded_payer(50_000, day=day, email="y@example.jp")
    _, closed = payer(balance=0, email="closed@example.jp")
    to_closed = schedule(x_customer, x, 10_000, day=day, payee=our_payee(closed), hour=8)
    other = schedule(y_customer, y, 10_000, day=day, hour=9)
    Account.objects.filter(pk=closed.pk).update(status=Account.Status.CLOSED)
    result = scheduled.transfers_execute_due(day=day)
    assert (result.executed, result.unprocessed) == (1, 1)
    to_closed.refresh_from_db()
    other.refresh_from_db()
    assert (to_closed.status, to_closed.unprocessed_reason) == ("unprocessed", Transfer.Reason.PAYEE_UNAVAILABLE)
    assert other.status == "executed"
    assert to_closed.executed_at != other.executed_at  # each in its own transaction
    x.refresh_from_db()
    assert x.balance == 50_000
    assert Journal.objects.filter(idempotency_key=f"scheduled-transfer:{to_closed.pk}").count() == 0
    assert OutboxMessage.objects.filter(customer=x_customer, event="transfer_unprocessed").count() == 1
    assert OutboxMessage.objects.filter(customer=y_customer, event="transfer_executed").count() == 1


def test_a_worker_killed_mid_chunk_leaves_the_whole_chunk_scheduled_and_a_rerun_executes_each_once(monkeypatch):
    day = past_business_day()
    transfers = []
    for index in range(4):
        customer, account = funded_payer(50_000, day=day, email=f"k{index}@example.jp")
        transfers.append(schedule(customer, account, 10_000, day=day, hour=8 + index))
    posted = []
    original = scheduled.journal_post

    def dying(**kwargs):
        if len(posted) == 2:
            raise SystemExit("killed mid-chunk")
        posted.append(kwargs["idempotency_key"])
        return original(**kwargs)

    monkeypatch.setattr(scheduled, "journal_post", dying)
    with pytest.raises(SystemExit):
        scheduled.transfers_execute_due(day=day)
    assert len(posted) == 2  # two posted in the chunk's transaction, then the worker died
    assert Transfer.objects.filter(status=Transfer.Status.SCHEDULED).count() == 4
    assert not Journal.objects.filter(idempotency_key__startswith="scheduled-transfer:").exists()
    assert not OutboxMessage.objects.filter(event__in=["transfer_executed", "transfer_unprocessed"]).exists()
    assert not AuditEvent.objects.filter(action="transfer", actor="batch").exists()
    monkeypatch.setattr(scheduled, "journal_post", original)
    assert scheduled.transfers_execute_due(day=day).executed == 4
    assert Journal.objects.filter(idempotency_key__startswith="scheduled-transfer:").count() == 4
    assert OutboxMessage.objects.filter(event="transfer_executed").count() == 4
    assert all(check.ok for check in ledger_check())
