"""LEDGER-7 (outside review dbprobe28 F3, F9, F7; transfers 0030–0032), as the app's own
role: a transfer is dated by the database's clock (CI228), a 予約 is cancelled only with its
audit row and mail (CI229), a future fee row a 予約 names can be corrected and the batch
charges the lower fee (F4, transfers 0033, CI203/CI230), and a row's id is its sequence's (CI231). Each rule's test runs
with the production clock slack (``database_clock_strict``); the services' flows still pass."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Entry, Journal
from accounts.services import journal_post
from notifications.models import OutboxMessage
from notifications.services import notice_enqueue
from security.audit import audit_record, reference_text
from tests.accounts.test_ledger_lockdown import refused
from tests.conftest import clock_strict
from tests.transfers.scheduled_support import at, book, schedule
from tests.transfers.support import content_for, execute, other_bank_payee, our_payee, payer
from tests.transfers.test_interbank_guards import at_commit, refused_at_commit
from tests.transfers.test_record_guards import _copy_of, _stepup_for, future_day
from tests import factories
from transfers import scheduled, services
from transfers.admin import FEE_FIELDS
from transfers.models import FeeSchedule, Transfer

pytestmark = pytest.mark.django_db
DATED, CANCEL, REPRICE, SEQUENCE = "CI228", "CI229", "CI230", "CI231"


def _same_bank():
    customer, debit = payer()
    payee_account = factories.account(balance=0)
    return customer, debit, our_payee(payee_account)


# --- F3: dated by the database's clock (CI228) --------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_executed_transfer_dated_back_is_refused(database_clock_strict):
    """The review's row: 振込済, posted now, dated yesterday with 受付日時 to match. (A
    transactional test: the debit account is opened before, not in the row's transaction —
    the seed's exemption, transfers 0020.)"""
    customer, debit, payee = _same_bank()
    done = execute(customer, content_for(customer, debit, payee, 10_000))  # the service's: passes
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    # (dated yesterday, booked now is CI211's: transfers 0020)
    for day, booked in ((yesterday, timezone.now() - dt.timedelta(days=1)),
                        (timezone.localdate(), timezone.now() - dt.timedelta(hours=1))):
        with transaction.atomic():
            stepup = _stepup_for(customer, done, transfer_date=day.isoformat())
            journal = journal_post(lines=services.transfer_lines(done), kind=Journal.Kind.TRANSFER, description="x",
                                   idempotency_key=f"transfer:{stepup.pk}")
            sql, params = _copy_of(done, stepup_id=("%s", [stepup.pk]), journal_id=("%s", [journal.pk]),
                                   transfer_date=("%s", [day]), created_at=("%s", [booked]))
            assert refused(sql, params) == DATED, (day, booked)
            transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_transfer_dated_today_or_back_is_refused(database_clock_strict):
    customer, debit, payee = _same_bank()
    booked = schedule(customer, debit, 10_000, day=future_day())  # the service's: passes
    with transaction.atomic():
        for day in (timezone.localdate(),):  # (dated back is CI211's: transfers 0020)
            stepup = _stepup_for(customer, booked, transfer_date=day.isoformat())
            sql, params = _copy_of(booked, stepup_id=("%s", [stepup.pk]), transfer_date=("%s", [day]),
                                   created_at=("now()", []))
            assert refused(sql, params) == DATED, day
        sql, params = _copy_of(booked, stepup_id=("%s", [_stepup_for(customer, booked).pk]),
                               created_at=("now() - interval '2 days'", []))
        assert refused(sql, params) == DATED
        sql, params = _copy_of(booked, stepup_id=("%s", [_stepup_for(customer, booked).pk]), created_at=("now()", []))
        with connection.cursor() as cursor:  # dated ahead, booked now: a 予約 as the service makes it
            cursor.execute(sql, params)
        transaction.set_rollback(True)


# --- F9: a cancel is told and audited (CI229) ---------------------------------------------


def _cancel_sql(transfer: Transfer) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE transfers_transfer SET status = 'cancelled', cancelled_at = now() WHERE id = %s",
                       [transfer.pk])


def test_a_cancel_without_its_mail_and_audit_row_is_refused(database_clock_strict):
    customer, debit, payee = _same_bank()
    booked = schedule(customer, debit, 10_000, day=future_day())
    assert refused_at_commit(lambda: _cancel_sql(booked)) == CANCEL

    def audited_only():
        _cancel_sql(booked)
        audit_record(action="transfer_cancel", outcome="success", customer=customer,
                     summary=f"{reference_text(booked.pk)} 取消")
    assert refused_at_commit(audited_only) == CANCEL

    def mailed_only():
        _cancel_sql(booked)
        notice_enqueue(customer=customer, event="transfer_cancelled", lines=["x"])
    assert refused_at_commit(mailed_only) == CANCEL

    def another_transfers_audit_row():
        _cancel_sql(booked)
        audit_record(action="transfer_cancel", outcome="success", customer=customer,
                     summary=f"{reference_text(booked.pk + 1000)} 取消")
        notice_enqueue(customer=customer, event="transfer_cancelled", lines=["x"])
    assert refused_at_commit(another_transfers_audit_row) == CANCEL
    # the customer's cancel, as the service does it
    with transaction.atomic():
        scheduled.scheduled_transfer_cancel(customer=customer, transfer_id=booked.pk)
        at_commit()
    assert Transfer.objects.get(pk=booked.pk).status == Transfer.Status.CANCELLED


def test_on_its_day_only_staffs_cancel_passes():
    """The customer's cancel ends the day before the 振込日; staff's may be on the day."""
    customer, debit, payee = _same_bank()
    booked = schedule(customer, debit, 10_000, day=timezone.localdate())  # booked yesterday

    def customers_path():
        _cancel_sql(booked)
        audit_record(action="transfer_cancel", outcome="success", customer=customer,
                     summary=f"{reference_text(booked.pk)} 取消")
        notice_enqueue(customer=customer, event="transfer_cancelled", lines=["x"])
    with clock_strict():
        assert refused_at_commit(customers_path) == CANCEL
        with transaction.atomic():
            scheduled.scheduled_transfer_staff_cancel(transfer_id=booked.pk, reason="お客様のお申し出", actor="madoguchi")
            at_commit()
    assert Transfer.objects.get(pk=booked.pk).status == Transfer.Status.CANCELLED


# --- F7: ids from their sequences (CI231) -------------------------------------------------


def test_an_id_not_taken_from_its_sequence_is_refused(database_clock_strict):
    customer, debit, payee = _same_bank()
    done = execute(customer, content_for(customer, debit, payee, 10_000))  # reserves its id: passes
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM transfers_namelookup_id_seq")
        ahead = cursor.fetchone()[0] + 5
    assert refused("INSERT INTO transfers_namelookup (id, customer_id, bank_code, branch_code, account_number, found,"
                   " created_at) VALUES (%s, %s, '0005', '001', '1234567', true, now())", [ahead, customer.pk]) == SEQUENCE
    sql, params = _copy_of(done, stepup_id=("%s", [_stepup_for(customer, done).pk]))
    planted = sql.replace("INSERT INTO transfers_transfer (", "INSERT INTO transfers_transfer (id, ", 1).replace(
        " SELECT ", " SELECT %s, ", 1)
    assert refused(planted, [done.pk + 10, *params]) == SEQUENCE
    assert refused("INSERT INTO transfers_interbankincomingfile (id) VALUES (%s)", [10 ** 6]) == SEQUENCE
    # several rows in one statement, each with the value its default took
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO transfers_namelookup (customer_id, bank_code, branch_code, account_number, found,"
                       " created_at) SELECT %s, '0005', '001', '1234567', true, now() FROM generate_series(1, 3)",
                       [customer.pk])
        assert cursor.rowcount == 3


# --- F4: a future fee row named by a 予約 is corrected, the 予約 charged the lower fee ---------


def _planted_row_and_booking(fee: int):
    """The review's repro: a row for a coming business day at ``fee`` for every route, and a
    予約 of 10,000円 to another bank for that day naming it."""
    day = future_day()
    row = FeeSchedule.objects.create(effective_from=day, **{name: fee for name in FEE_FIELDS})
    customer, account = payer()
    booked = book(customer, content_for(customer, account, other_bank_payee(), 10_000, day=day, check=False))
    assert (booked.fee_schedule_id, booked.fee) == (row.pk, fee)
    return day, row, customer, booked


def test_a_future_fee_row_named_by_a_booking_is_corrected_not_moved_or_deleted():
    day, row, customer, booked = _planted_row_and_booking(10_000)
    assert refused("UPDATE transfers_feeschedule SET effective_from = effective_from + 1 WHERE id = %s",
                   [row.pk]) == "CI203"
    assert refused("DELETE FROM transfers_feeschedule WHERE id = %s", [row.pk]) == "CI203"
    # the fee column of the booking itself moves only as the batch reprices it
    assert refused("UPDATE transfers_transfer SET fee = 0 WHERE id = %s", [booked.pk]) == "CI201"
    assert refused("UPDATE transfers_transfer SET status = 'unprocessed', unprocessed_reason = 'x',"
                   " executed_at = now(), fee = 0 WHERE id = %s", [booked.pk]) == REPRICE
    with connection.cursor() as cursor:  # staff's correction (the fee admin writes as the app's role)
        cursor.execute("UPDATE transfers_feeschedule SET other_bank_under = 330, other_bank_over = 550"
                       " WHERE id = %s", [row.pk])
    with time_machine.travel(at(day, 0, 5), tick=False):
        result = scheduled.transfers_execute_due(day=day)
    assert result.executed == 1
    done = Transfer.objects.get(pk=booked.pk)
    assert (done.status, done.fee) == (Transfer.Status.EXECUTED, 330)
    assert Entry.objects.filter(journal_id=done.journal_id, amount=-330).exists()
    mail = OutboxMessage.objects.filter(customer=customer, event="transfer_executed").get()
    assert scheduled.FEE_REPRICED.format(booked=10_000, fee=330) in mail.body


def test_a_booking_is_never_charged_more_than_it_confirmed():
    """A row raised after the booking (330円 → 440円): the batch charges the confirmed 330円;
    two customers, so the chunked path (``_chunk_execute``) takes them."""
    day, row, customer, booked = _planted_row_and_booking(330)
    other, other_account = payer(email="other@example.jp")
    other_booked = book(other, content_for(other, other_account, other_bank_payee(), 20_000, day=day, check=False))
    FeeSchedule.objects.filter(pk=row.pk).update(**{name: 440 for name in FEE_FIELDS})
    with time_machine.travel(at(day, 0, 5), tick=False):
        assert scheduled.transfers_execute_due(day=day).executed == 2
    assert sorted(Transfer.objects.filter(pk__in=[booked.pk, other_booked.pk]).values_list("fee", flat=True)) == [330, 330]
    assert not OutboxMessage.objects.filter(body__contains="手数料表の訂正").exists()
