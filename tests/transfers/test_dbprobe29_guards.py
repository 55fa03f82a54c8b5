"""XFER-5, XFER-12, NOTE-1, LEDGER-7 (outside review dbprobe29 F4, F1; transfers 0034,
0035), as the app's own role: a 予約 becomes 未処理 or 振込済 only with the batch's audit row
and mail in the same transaction (CI232), and a 仕向 file is, byte for byte, the one
``file_build`` writes from its records (CI233). The checks run at commit (``at_commit``);
the services' own paths still commit."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Journal
from accounts.services import journal_post
from notifications.services import notice_enqueue
from security.audit import audit_record
from tests import factories
from tests.accounts.test_ledger_lockdown import refused
from tests.security.secondfactor import customer_with_card
from tests.transfers.scheduled_support import funded_payer, schedule
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from tests.transfers.test_interbank_guards import at_commit, refused_at_commit
from tests.transfers.test_dbprobe28_guards import _same_bank
from tests.transfers.test_interbank_services import DAY, FRIDAY
from tests.transfers.test_record_guards import _copy_of, _stepup_for
from transfers import scheduled, services
from transfers.interbank import services as interbank
from transfers.interbank.zengin_file import DataRecord, ZenginFieldError, data_line, file_build
from transfers.models import InterbankOutgoingFile, InterbankOutgoingItem, OutgoingTransfer, Transfer, TransferLimit

pytestmark = pytest.mark.django_db
TOLD, SEED = "CI232", "CI234"


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


# --- F1: a 仕向 file is every byte file_build's (CI233) ------------------------------------

WHOLE, AS_WRITTEN, BYTES = "CI206", "CI227", "CI233"


@pytest.fixture
def day_of_records():
    """At Friday noon, three pending records settling on DAY: two banks, names with ﾞ and ﾟ."""
    with time_machine.travel(FRIDAY, tick=False):
        yield _records()


def _records():
    customer, debit = payer(balance=5_000_000)
    payees = [other_bank_payee(holder_kana="ﾊﾟﾝﾀﾞ ｼﾞﾛｳ"),
              other_bank_payee(bank_code="0005", bank_name="三菱ＵＦＪ銀行", branch_code="001", branch_name="本店",
                               account_number="2222222", holder_kana="ｶﾞｯﾂ ﾍﾟｲ(ｶ"),
              other_bank_payee(account_number="0000001", holder_kana="ﾔﾏﾀﾞ ﾀﾛｳ")]
    done = [execute(customer, content_for(customer, debit, payee, amount))
            for payee, amount in zip(payees, (900_000, 20_000, 1), strict=True)]
    return sorted((t.outgoing for t in done), key=lambda record: record.pk)


def _services_bytes(records) -> bytes:
    return file_build(interbank._our_header(DAY), [interbank._data_record(record) for record in records])


def _file_with(records, content: bytes) -> None:
    """The file of ``records`` with ``content`` (and its true SHA-256), as the app's role may write it."""
    total = sum(record.amount for record in records)
    file = InterbankOutgoingFile.objects.create(
        business_day=DAY, record_count=len(records), total_amount=total, settlement_amount=total,
        sha256=hashlib.sha256(content).hexdigest(), content=content, created_by="x")
    InterbankOutgoingItem.objects.bulk_create([InterbankOutgoingItem(file=file, outgoing=record, line=index)
                                               for index, record in enumerate(records, start=2)])
    OutgoingTransfer.objects.filter(pk__in=[record.pk for record in records]).update(status="sent")


def test_the_services_file_still_commits(day_of_records):
    with transaction.atomic():
        file = interbank.outgoing_file_create(day=DAY, staff="madoguchi")
        at_commit()
    assert file.record_count == 3 and bytes(file.content) == _services_bytes(day_of_records)
    assert b"\xca\xdf\xdd\xc0\xde" in bytes(file.content)  # ﾊﾟﾝﾀﾞ: the marks as single bytes


def test_the_same_bytes_written_by_hand_commit(day_of_records):
    with transaction.atomic():
        _file_with(day_of_records, _services_bytes(day_of_records))
        at_commit()


def test_every_single_byte_changed_anywhere_in_the_file_is_refused(day_of_records):
    """The review's file had 新規コード 'X'; each byte from the first to the last
    CRLF is tried, changed to another (a blank, or '1' for a blank). Columns the earlier
    rules compare stay theirs (CI206, CI227); every other is CI233."""
    honest = _services_bytes(day_of_records)
    codes = {}
    for position in range(len(honest)):
        changed = bytearray(honest)
        changed[position] = ord("1") if honest[position] == ord(" ") else ord(" ")
        codes[position] = refused_at_commit(lambda: _file_with(day_of_records, bytes(changed)))
    assert set(codes.values()) <= {WHOLE, AS_WRITTEN, BYTES}, {p: c for p, c in codes.items() if c not in
                                                              (WHOLE, AS_WRITTEN, BYTES)}
    # the review's column and the ones no rule compared before are this rule's
    data = 122
    for column in (6, 20, 24, 38, 39, 42, 91, 102, 111, 112, 113, 114, 120):  # 1-based
        assert codes[data + column - 1] == BYTES, column
    trailer, end = 122 * 4, 122 * 5
    for offset in (19, 20, 60, 119):  # 0-based; the CRLFs are CI206 or CI233
        assert codes[trailer + offset] == BYTES, offset
        assert codes[end + offset] == BYTES, offset


def test_a_byte_outside_the_zengin_characters_or_a_line_end_changed_is_refused(day_of_records):
    honest = _services_bytes(day_of_records)
    new_code = 122 + 90  # the review's 新規コード 'X'
    for byte in (b"X", b"\x1a", b"\x00", b"\xe0", b"a"):
        content = honest[:new_code] + byte + honest[new_code + 1:]
        assert refused_at_commit(lambda: _file_with(day_of_records, content)) == BYTES, byte
    for content in (honest.replace(b"\r\n", b"\n"), honest + b"\x1a", honest[:-2], honest + b"\r\n",
                    honest[:120] + b"\n\r" + honest[122:], honest.replace(b"\r\n", b"")):
        assert refused_at_commit(lambda: _file_with(day_of_records, content)) in (BYTES, AS_WRITTEN, WHOLE)


def test_a_wrong_sha256_or_lines_out_of_order_are_refused(day_of_records):
    honest = _services_bytes(day_of_records)

    def wrong_sha():
        _file_with(day_of_records, honest)
        InterbankOutgoingFile.objects.update(sha256="0" * 64)  # (the guard refuses a change: CI206)
    assert refused_at_commit(wrong_sha) in (WHOLE, BYTES)

    def swapped_lines():
        records = day_of_records
        total = sum(record.amount for record in records)
        file = InterbankOutgoingFile.objects.create(
            business_day=DAY, record_count=3, total_amount=total, settlement_amount=total,
            sha256=hashlib.sha256(honest).hexdigest(), content=honest, created_by="x")
        for line, record in zip((2, 3, 5), records, strict=True):
            InterbankOutgoingItem.objects.create(file=file, outgoing=record, line=line)
        OutgoingTransfer.objects.filter(pk__in=[record.pk for record in records]).update(status="sent")
    assert refused_at_commit(swapped_lines) in (WHOLE, BYTES)


@pytest.mark.parametrize("fields", [
    {},
    {"amount": 9_999_999_999},                                       # the largest a file carries
    {"amount": 10_000_000_000},                                      # 11 digits: file_build refuses
    {"payee_kana": "ﾊﾟﾝﾀﾞ ｶﾞｯﾂ"},
    {"payee_kana": "ぱんだ　がっつ"},                                  # normalised as zengin_normalize
    {"payee_kana": "ＡＢＣ－ｄｅｆ（１）"},
    {"payee_kana": "ｱ" * 40},                                        # cut to 30
    {"payee_kana": "山田"},                                           # not in the set: refused
    {"bank_kana": "", "branch_kana": ""},
    {"bank_kana": "ﾐﾂﾋﾞｼUFJ", "branch_kana": "ﾎﾝﾃﾝ"},
    {"account_number": "12345678"},                                  # too long: refused
    {"bank_code": "5", "branch_code": "1", "account_number": "1"},
])
def test_the_sql_data_line_is_pythons(fields):
    """``transfers_zengin_data_line`` (run as the owner: the app's role may not execute the
    rule's functions) against ``data_line``: the same 120 bytes, or both refuse."""
    import psycopg
    from django.db import connections

    values = {"bank_code": "0161", "bank_kana": "ｲｹﾀﾞｾﾝｼｭｳ", "branch_code": "002", "branch_kana": "ｶｲﾂﾞｶ",
              "account_type": "1", "account_number": "0012345", "payee_kana": "ﾀﾅｶ ﾊﾅｺ", "amount": 12_000,
              **fields}
    try:
        python = data_line(DataRecord(**values, customer_code1="123"))
    except ZenginFieldError:
        python = None
    with psycopg.connect(**connections["owner"].get_connection_params()) as conn:
        sql = conn.execute(
            "SELECT convert_to(public.transfers_zengin_data_line(%s, %s, %s, %s, %s, %s, %s, %s, 123), 'SJIS')",
            [values["bank_code"], values["bank_kana"], values["branch_code"], values["branch_kana"],
             values["account_type"], values["account_number"], values["payee_kana"], values["amount"]]).fetchone()[0]
    assert sql == python


# --- F3: the seed's exemption only for a customer created whole here (CI234) ---------------


def _confirmed_from(customer, opened, done: Transfer, day):
    """A step-up and a journal for a copy of ``done`` debiting ``opened`` of ``customer``,
    dated ``day``: what CI202 wants before the date rules look at the row."""
    stepup = _stepup_for(customer, done, transfer_date=day.isoformat(), debit_account_id=opened.pk)
    theirs = Transfer.objects.get(pk=done.pk)
    theirs.customer_id, theirs.debit_account_id = customer.pk, opened.pk
    journal = journal_post(lines=services.transfer_lines(theirs), kind=Journal.Kind.TRANSFER, description="x",
                           idempotency_key=f"transfer:{stepup.pk}")
    return stepup, journal


@pytest.mark.django_db(transaction=True)
def test_a_transfer_from_an_account_opened_here_for_an_older_customer_is_refused(database_clock_strict):
    """The review's path: a new account for a customer who already has one, funded from it,
    then an executed 振込 dated back from the new account — which the seed's exemption let
    past CI211's dates and CI228, so CI225 counted it on another day. Now CI234; nothing stays."""
    customer, debit, payee = _same_bank()
    done = execute(customer, content_for(customer, debit, payee, 10_000))  # the service's: passes
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    with transaction.atomic():
        opened = factories.account(owner=customer, balance=900_000)
        stepup, journal = _confirmed_from(customer, opened, done, yesterday)
        sql, params = _copy_of(done, stepup_id=("%s", [stepup.pk]), debit_account_id=("%s", [opened.pk]),
                               journal_id=("%s", [journal.pk]), transfer_date=("%s", [yesterday]),
                               created_at=("%s", [timezone.now() - dt.timedelta(days=1)]))
        assert refused(sql, params) == SEED
        transaction.set_rollback(True)
    assert Transfer.objects.filter(customer=customer).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_customer_created_whole_in_one_transaction_keeps_the_seeds_exemption(database_clock_strict):
    """The demo's seed (accounts.demo.seed_demo): a new customer, their accounts and their
    past 振込 in one transaction still commit — the exemption CI234 narrows, not removes."""
    customer, debit, payee = _same_bank()
    done = execute(customer, content_for(customer, debit, payee, 10_000))
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    with transaction.atomic():
        newcomer = customer_with_card(email="newcomer@example.jp")
        opened = factories.account(owner=newcomer, balance=900_000)
        TransferLimit.objects.create(customer=newcomer, daily_limit=1_000_000)  # the customer's lock
        stepup, journal = _confirmed_from(newcomer, opened, done, yesterday)
        sql, params = _copy_of(done, stepup_id=("%s", [stepup.pk]), debit_account_id=("%s", [opened.pk]),
                               customer_id=("%s", [newcomer.pk]), journal_id=("%s", [journal.pk]),
                               transfer_date=("%s", [yesterday]),
                               created_at=("%s", [timezone.now() - dt.timedelta(days=1)]))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        transaction.set_rollback(True)
