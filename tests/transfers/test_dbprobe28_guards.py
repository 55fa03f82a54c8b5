"""LEDGER-7 (outside review dbprobe28 F3, F9, F7; transfers 0030–0032), as the app's own
role: a transfer is dated by the database's clock (CI228), a 予約 is cancelled only with its
audit row and mail (CI229), and a row's id is its sequence's (CI231). Each rule's test runs
with the production clock slack (``database_clock_strict``); the services' flows still pass."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Journal
from accounts.services import journal_post
from notifications.services import notice_enqueue
from security.audit import audit_record, reference_text
from tests.accounts.test_ledger_lockdown import refused
from tests.conftest import clock_strict
from tests.transfers.scheduled_support import schedule
from tests.transfers.support import content_for, execute, our_payee, payer
from tests.transfers.test_interbank_guards import at_commit, refused_at_commit
from tests.transfers.test_record_guards import _copy_of, _stepup_for, future_day
from tests import factories
from transfers import scheduled, services
from transfers.models import Transfer

pytestmark = pytest.mark.django_db
DATED, CANCEL, SEQUENCE = "CI228", "CI229", "CI231"


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
