"""XFER-12, LEDGER-7: the outside review's rewrites of the 為替 records, repeated as the app's
own database role (the role every test connects as, tests/conftest.py): the database refuses
each (transfers 0008 — CI206 仕向, CI207 被仕向), and every step the services take still
passes, including the file's check at commit (``SET CONSTRAINTS ALL IMMEDIATE`` runs it here:
a test's transaction is never committed)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction

from accounts.models import Account, Journal
from accounts.services import PostingLine, journal_post
from tests import factories
from tests.accounts.test_ledger_lockdown import refused
from tests.transfers.scheduled_support import schedule
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from tests.transfers.test_record_guards import as_the_app_role  # noqa: F401 - the fixture
from tests.transfers.test_interbank_services import DAY, FRIDAY, _customers, _two_outgoing, incoming_file
from transfers.interbank import services as interbank
from transfers.interbank.zengin_file import DataRecord, file_build, file_identity, file_read, record_keys
from transfers.models import (
    InterbankIncomingFile,
    InterbankIncomingRecord,
    InterbankOutgoingFile,
    InterbankOutgoingItem,
    InterbankReturn,
    OutgoingTransfer,
)

pytestmark = pytest.mark.django_db
OUTGOING, INCOMING = "CI206", "CI207"


@pytest.fixture(autouse=True)
def as_the_app_role_on_friday_noon(as_the_app_role):
    with time_machine.travel(FRIDAY, tick=False):
        yield


def at_commit() -> None:
    """Run the checks deferred to commit now (the test's transaction is rolled back)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def refused_at_commit(write) -> str | None:
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        write()
        at_commit()
    return getattr(caught.value.__cause__, "sqlstate", None)


@pytest.fixture
def pending():
    customer, debit = payer()
    return execute(customer, content_for(customer, debit, other_bank_payee(), 12_000)).outgoing


@pytest.fixture
def sent():
    _, _, first, second = _two_outgoing()
    file = interbank.outgoing_file_create(day=DAY, staff="madoguchi")
    at_commit()
    return file, OutgoingTransfer.objects.get(pk=first.outgoing.pk), OutgoingTransfer.objects.get(pk=second.outgoing.pk)


# --- 仕向 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("assignment", [
    "bank_code = '0005', branch_code = '001', account_number = '7777777', payee_kana = 'ｱﾀｯｶｰ'",
    "account_number = '7777777'", "payee_kana = 'ｱﾀｯｶｰ'", "amount = amount + 1", "edi = 'X'",
    "settlement_date = settlement_date + 1", "sender_name = 'ﾆｾ'", "bank_kana = 'ﾆｾ'",
    "status = 'sent'",                                          # sent without a file line
])
def test_a_pending_outgoing_record_is_never_rewritten_nor_sent_without_a_file(pending, assignment):
    """H1: the record rewritten to the attacker's account went into the 全銀 file."""
    assert refused(f"UPDATE transfers_outgoingtransfer SET {assignment} WHERE id = %s", [pending.pk]) == OUTGOING
    assert refused("DELETE FROM transfers_outgoingtransfer WHERE id = %s", [pending.pk]) == OUTGOING
    file = interbank.outgoing_file_create(day=DAY, staff="madoguchi")
    at_commit()
    assert b"0012345" in bytes(file.content) and b"7777777" not in bytes(file.content)


@pytest.mark.parametrize("values", [
    "'0005', '001', '1', '7777777', 'ｱﾀｯｶｰ', 12000, 'ﾔﾏﾀﾞ ﾀﾛｳ', %s",      # another account
    "'0161', '002', '1', '0012345', 'ﾀﾅｶ ﾊﾅｺ', 99999, 'ﾔﾏﾀﾞ ﾀﾛｳ', %s",     # another amount
    "'0161', '002', '1', '0012345', 'ﾀﾅｶ ﾊﾅｺ', 12000, 'ﾔﾏﾀﾞ ﾀﾛｳ', %s - 1",  # dated before the 振込日
])
def test_an_outgoing_record_is_made_only_for_an_executed_transfer_and_as_it_says(pending, values):
    customer, debit = payer(email="scheduled@example.jp")
    booked = schedule(customer, debit, 12_000, day=DAY + dt.timedelta(days=3))
    for transfer in (pending.transfer, booked):
        statement = ("INSERT INTO transfers_outgoingtransfer (bank_code, branch_code, account_type, account_number,"
                     " payee_kana, amount, sender_name, settlement_date, bank_kana, branch_kana, edi, status,"
                     f" created_at, transfer_id) VALUES ({values}, 'x', 'x', '', 'pending', now(), %s)")
        assert refused(statement, [transfer.transfer_date, transfer.pk]) == OUTGOING


def test_a_sent_record_is_never_queued_again_nor_its_file_line_removed(sent):
    """H1: the file line deleted and the record set back to 未送信 built a second file: paid twice."""
    file, first, _ = sent
    assert refused("DELETE FROM transfers_interbankoutgoingitem WHERE outgoing_id = %s", [first.pk]) == OUTGOING
    assert refused("UPDATE transfers_interbankoutgoingitem SET line = line + 10 WHERE outgoing_id = %s",
                   [first.pk]) == OUTGOING
    assert refused("UPDATE transfers_outgoingtransfer SET status = 'pending' WHERE id = %s", [first.pk]) == OUTGOING
    assert refused("UPDATE transfers_outgoingtransfer SET status = 'pending', settlement_date = settlement_date + 1"
                   " WHERE id = %s", [first.pk]) == OUTGOING
    for statement in ("UPDATE transfers_interbankoutgoingfile SET content = '\\x00'::bytea WHERE id = %s",
                      "UPDATE transfers_interbankoutgoingfile SET total_amount = 0, settlement_amount = 0 WHERE id = %s",
                      "DELETE FROM transfers_interbankoutgoingfile WHERE id = %s"):
        assert refused(statement, [file.pk]) == OUTGOING
    assert OutgoingTransfer.objects.get(pk=first.pk).status == "sent" and file.items.count() == 2


def test_a_file_is_never_added_to(sent, pending):
    """A pending record put on a line of a file already made (it would never be sent)."""
    file, _, _ = sent
    insert = "INSERT INTO transfers_interbankoutgoingitem (file_id, outgoing_id, line) VALUES (%s, %s, %s)"
    for line in (4, 1, 0):  # not one of its data lines (the header is line 1)
        assert refused(insert, [file.pk, pending.pk, line]) == OUTGOING
    # its data line is taken: once per file (transfers 0011, no per-line count of the file)
    assert refused(insert, [file.pk, pending.pk, 2]) == "23505"


def _forged_file(outgoing: OutgoingTransfer, record: DataRecord, **overrides) -> None:
    content = file_build(interbank._our_header(DAY), [record])
    fields = dict(business_day=DAY, record_count=1, total_amount=outgoing.amount, settlement_amount=outgoing.amount,
                  sha256=hashlib.sha256(content).hexdigest(), content=content, created_by="x")
    file = InterbankOutgoingFile.objects.create(**{**fields, **overrides})
    InterbankOutgoingItem.objects.create(file=file, outgoing=outgoing, line=2)
    OutgoingTransfer.objects.filter(pk=outgoing.pk).update(status="sent")


def test_a_file_whose_bytes_are_not_its_records_is_refused_at_commit(pending):
    """The bytes staff download and send are the records': a file written by hand that pays
    the attacker (with the record's id, amount and totals right) does not commit."""
    honest = interbank._data_record(pending)
    attacker = DataRecord(**{**honest.__dict__, "bank_code": "0005", "branch_code": "001",
                             "account_number": "7777777", "payee_kana": "ｱﾀｯｶｰ"})
    assert refused_at_commit(lambda: _forged_file(pending, attacker)) == OUTGOING
    assert refused_at_commit(lambda: _forged_file(pending, honest, total_amount=1, settlement_amount=1)) == OUTGOING
    assert refused_at_commit(lambda: _forged_file(pending, honest, sha256="0" * 64)) == OUTGOING
    # the honest bytes with the journal's 為替決済 amount: what the service itself writes
    with transaction.atomic():
        _forged_file(pending, honest)
        at_commit()


def test_a_return_carries_the_journal_the_return_posts(sent, pending):
    """H1: a 資金返却 row inserted pointing at an unrelated journal (a credit of the amount to
    the customer's account under the return's own key is all it may point at)."""
    _, first, second = sent
    debit = first.transfer.debit_account
    statement = ("INSERT INTO transfers_interbankreturn (reason, amount, created_by, created_at, journal_id, outgoing_id)"
                 " VALUES ('other', %s, 'x', now(), %s, %s)")
    assert refused(statement, [first.amount, first.transfer.journal_id, first.pk]) == OUTGOING
    attacker = factories.account(balance=0)
    with transaction.atomic():
        keyed = journal_post(lines=[PostingLine(interbank.settlement_account(), -first.amount, "x"),
                                    PostingLine(attacker, first.amount, "x")],
                             kind=Journal.Kind.TRANSFER, description="x", idempotency_key=f"interbank-return:{first.pk}")
        assert refused(statement, [first.amount, keyed.pk, first.pk]) == OUTGOING
        transaction.set_rollback(True)
    assert refused(statement, [pending.amount, pending.transfer.journal_id, pending.pk]) == OUTGOING  # not sent
    returned = interbank.outgoing_return(outgoing=second, reason="name_mismatch", staff="madoguchi")
    assert refused("UPDATE transfers_interbankreturn SET amount = amount + 1 WHERE id = %s", [returned.pk]) == OUTGOING
    assert refused("DELETE FROM transfers_interbankreturn WHERE id = %s", [returned.pk]) == OUTGOING
    assert Account.objects.get(pk=debit.pk).balance > 0 and InterbankReturn.objects.count() == 1


# --- 被仕向 ---------------------------------------------------------------------------------


@pytest.fixture
def uploaded():
    first, second, third = _customers()
    data = incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (second, "ｻﾄｳ ﾊﾅｺ", 45_000), (third, "ﾀﾅｶ ｼﾞﾛｳ", 5_000)])
    result = interbank.incoming_file_upload(data=data, filename="nyukin.txt", staff="madoguchi")
    records = {record.status: record for record in result.file.records.all()}
    return result.file, records["credited"], records["unapplied"], third


def _processing_file(data: bytes) -> InterbankIncomingFile:
    """A file row as an upload stores it (its identity that of its bytes), nothing handled yet."""
    parsed = file_read(data)
    InterbankIncomingFile.objects.bulk_create([InterbankIncomingFile(
        sha256=file_identity(data), filename="x", content=data, remitter_kana="x", sending_bank_code="0161",
        record_count=len(parsed.records), total_amount=parsed.total, uploaded_by="x")])
    return InterbankIncomingFile.objects.get(sha256=file_identity(data))


@pytest.mark.parametrize("assignment", [
    "amount = 1", "status = 'unapplied', journal_id = NULL", "account_id = NULL", "line = line + 10",
    "reason = 'x'", "returned_by = 'x'", "status = 'returned', returned_by = 'x'", "payee_kana = 'ｱﾀｯｶｰ'",
])
def test_a_credited_record_is_never_rewritten(uploaded, assignment):
    """H2: a credited record's amount, state and account were changed."""
    _, credited, _, _ = uploaded
    assert refused(f"UPDATE transfers_interbankincomingrecord SET {assignment} WHERE id = %s",
                   [credited.pk]) == INCOMING


def test_an_incoming_file_and_its_records_are_never_rewritten_nor_removed(uploaded):
    """H2: the file's original bytes and total overwritten, its records and the file deleted."""
    file, credited, unapplied, _ = uploaded
    for statement in ("UPDATE transfers_interbankincomingfile SET content = 'x'::bytea, total_amount = 0 WHERE id = %s",
                      "UPDATE transfers_interbankincomingfile SET status = 'processing' WHERE id = %s",
                      "DELETE FROM transfers_interbankincomingfile WHERE id = %s"):
        assert refused(statement, [file.pk]) == INCOMING
    for record in (credited, unapplied):
        assert refused("DELETE FROM transfers_interbankincomingrecord WHERE id = %s", [record.pk]) == INCOMING


def test_an_unapplied_record_is_only_returned(uploaded):
    """H2: money waiting on 為替決済 to go back was relabelled credited with an unrelated
    journal, off the return to-do list. Returned (by staff) is its only step."""
    _, credited, unapplied, third = uploaded
    for assignment, params in [
        ("status = 'credited', journal_id = %s, reason = '', account_id = %s", [credited.journal_id, third.pk]),
        ("status = 'credited', journal_id = %s", [credited.journal_id]),
        ("status = 'returned'", []),                                        # nobody returned it
        ("amount = 1", []),
    ]:
        assert refused(f"UPDATE transfers_interbankincomingrecord SET {assignment} WHERE id = %s",
                       [*params, unapplied.pk]) == INCOMING
    # returned by staff without why (walk30 F4: the 返却理由 is kept on the record)
    assert refused("UPDATE transfers_interbankincomingrecord SET status = 'returned', returned_by = 'x'"
                   " WHERE id = %s", [unapplied.pk]) == INCOMING
    assert refused("UPDATE transfers_interbankincomingrecord SET status = 'returned', returned_by = 'x',"
                   " return_reason = '  ' WHERE id = %s", [unapplied.pk]) == INCOMING
    before = _database_clock()
    returned = interbank.incoming_record_return(record=unapplied, staff="madoguchi", reason=" 口座なし ")
    assert (returned.status, returned.return_reason) == ("returned", "口座なし")
    assert before <= returned.returned_at <= _database_clock()
    stored = InterbankIncomingRecord.objects.get(pk=unapplied.pk)
    assert (stored.return_reason, stored.returned_at) == ("口座なし", returned.returned_at)
    for assignment in ("status = 'unapplied', returned_by = ''", "return_reason = 'x'",
                       "returned_at = now() - interval '1 day'", "returned_at = NULL"):
        assert refused(f"UPDATE transfers_interbankincomingrecord SET {assignment} WHERE id = %s",
                       [unapplied.pk]) == INCOMING


def test_the_return_time_is_the_databases_own(uploaded):
    """walk30 F4, CI207: 返却日時 is stamped by the database at the return, whatever the
    UPDATE says, and a record is added with no 返却理由 nor times."""
    file, _, unapplied, _ = uploaded
    with connection.cursor() as cursor:
        cursor.execute("UPDATE transfers_interbankincomingrecord SET status = 'returned', returned_by = 'x',"
                       " return_reason = '名義相違', returned_at = '2000-01-01' WHERE id = %s"
                       " RETURNING returned_at > now() - interval '1 minute'", [unapplied.pk])
        assert cursor.fetchone() == (True,)
    processing = _processing_file(incoming_file([(None, "ﾀﾞﾚｶ", 1_000)]))
    insert = ("INSERT INTO transfers_interbankincomingrecord (file_id, line, branch_code, account_type,"
              " account_number, payee_kana, amount, status, reason, returned_by, released_by, record_key,"
              " created_at{column}) VALUES (%s, 2, '001', '1', '0000001', 'ﾀﾞﾚｶ', 1000, 'unapplied', 'x', '', '',"
              " 'k', now(){value})")
    with contextlib.suppress(_RolledBack), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(insert.format(column="", value=""), [processing.pk])  # the record as an upload adds it
        raise _RolledBack
    for column, value in (("return_reason", "x"), ("returned_at", "2026-01-01"), ("released_at", "2026-01-01")):
        assert refused(insert.format(column=f", {column}", value=", %s"), [processing.pk, value]) == INCOMING


class _RolledBack(Exception):
    pass


def _database_clock() -> dt.datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def test_a_record_is_added_only_to_a_file_being_processed_and_credited_only_by_its_journal(uploaded):
    file, credited, _, third = uploaded
    statement = ("INSERT INTO transfers_interbankincomingrecord (file_id, line, branch_code, account_type,"
                 " account_number, payee_kana, amount, account_id, status, reason, journal_id, returned_by, created_at)"
                 " VALUES (%s, %s, '001', '1', '0000001', 'ｱﾀｯｶｰ', %s, %s, %s, %s, %s, '', now())")
    # to a file done
    assert refused(statement, [file.pk, 9, 5_000, None, "unapplied", "x", None]) == INCOMING
    # to a file being processed: credited with another record's journal, or with none
    processing = _processing_file(incoming_file([(third, "ｽｽﾞｷ ｲﾁﾛｳ", 30_000)]))
    assert refused(statement, [processing.pk, 2, 30_000, third.pk, "credited", "", credited.journal_id]) == INCOMING
    assert refused(statement, [processing.pk, 2, 30_000, third.pk, "credited", "", None]) == INCOMING
    assert refused(statement, [processing.pk, 2, 30_000, None, "returned", "x", None]) == INCOMING
    assert refused(statement, [processing.pk, 3, 30_000, None, "unapplied", "x", None]) == INCOMING  # no line 3
    # done only with all its records
    assert refused("UPDATE transfers_interbankincomingfile SET status = 'done' WHERE id = %s",
                   [processing.pk]) == INCOMING
    assert refused("INSERT INTO transfers_interbankincomingfile (sha256, filename, content, remitter_kana,"
                   " sending_bank_code, record_count, total_amount, status, uploaded_by, created_at)"
                   " VALUES (%s, 'x', 'x', 'x', '0161', 1, 1, 'done', 'x', now())", ["e" * 64]) == INCOMING


def test_every_step_of_the_interbank_services_still_passes():
    """仕向 file (two records, one 先方負担), 資金返却, 被仕向 file with an 入金不能 record
    returned, the same file again, and an interrupted upload completed — each committed."""
    _, _, first, second = _two_outgoing()
    file = interbank.outgoing_file_create(day=DAY, staff="madoguchi")
    at_commit()
    interbank.outgoing_return(outgoing=first.outgoing, reason="no_account", staff="madoguchi")
    at_commit()
    assert file.record_count == 2 and InterbankReturn.objects.get().amount == 50_000

    a, b, c = _customers()
    data = incoming_file([(a, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (b, "ｻﾄｳ ﾊﾅｺ", 45_000), (c, "ﾀﾅｶ ｼﾞﾛｳ", 5_000)])
    result = interbank.incoming_file_upload(data=data, filename="x.txt", staff="madoguchi")
    interbank.incoming_record_return(record=InterbankIncomingRecord.objects.get(status="unapplied"), staff="m",
                                     reason="口座なし")
    assert interbank.incoming_file_upload(data=data, filename="x.txt", staff="madoguchi").already_done
    at_commit()
    assert (result.credited, result.unapplied, result.file.status) == (2, 1, "done")


def test_a_held_record_is_only_released_with_its_journal_or_returned(uploaded):
    """XFER-12 (walk25 F8): 入金保留 → 入金済 only with the journal of its own key and who
    released it; → 返却済 with who returned it; nothing else."""
    file, credited, _, _ = uploaded
    first = credited.account
    again = interbank.incoming_file_upload(data=incoming_file([(first, credited.payee_kana, credited.amount)]),
                                           filename="again.txt", staff="madoguchi")
    held = InterbankIncomingRecord.objects.get(file=again.file)
    assert held.status == "held"
    for assignment, params in [
        ("status = 'credited', journal_id = %s, reason = '', released_by = 'x'", [credited.journal_id]),
        ("status = 'credited', reason = '', released_by = 'x'", []),
        ("reason = 'x'", []), ("status = 'returned'", []),
    ]:
        assert refused(f"UPDATE transfers_interbankincomingrecord SET {assignment} WHERE id = %s",
                       [*params, held.pk]) == INCOMING
    assert interbank.incoming_record_release(record=held, staff="kakarisho").status == "credited"
    at_commit()



@contextlib.contextmanager
def rolled_back():
    """The app's role's own postings, undone (a journal under a record's key must be that
    record's at commit: payeasy 0006)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def _keyed_credit(file: InterbankIncomingFile, line: int, account: Account, amount: int) -> Journal:
    """What the app's role can post: the record's own key, 為替決済 → ``account``."""
    return journal_post(lines=[PostingLine(interbank.settlement_account(), -amount, "x"),
                               PostingLine(account, amount, "x")],
                        kind=Journal.Kind.TRANSFER, description="x",
                        idempotency_key=f"interbank-in:{file.sha256}:{line}")


RECORD_INSERT = ("INSERT INTO transfers_interbankincomingrecord (file_id, line, branch_code, account_type,"
                 " account_number, payee_kana, amount, account_id, status, reason, journal_id, returned_by,"
                 " record_key, released_by, created_at)"
                 " VALUES (%s, 2, %s, '1', %s, 'ﾔﾏﾀﾞ ﾀﾛｳ', %s, %s, 'credited', '', %s, '', %s, '', now())")


def _key_of(file: InterbankIncomingFile, line: int = 2) -> str:
    """The identity of the record on ``line`` of ``file``, as the upload computes it."""
    parsed = file_read(bytes(file.content))
    return dict(zip((number for number, _ in parsed.records), record_keys(parsed), strict=True))[line]


def test_a_record_already_credited_is_credited_again_only_by_staff_release(uploaded):
    """XFER-12 (walk25 F8 remainder, transfers 0021): the hold of a repeated 為替 was the
    service's alone — the app's role added a second record of an identity already credited,
    入金済 with the journal of its own key, and the payee was paid twice. The database refuses
    it (CI207): the record is added 入金保留 and is credited only by staff's release; a record
    without its identity is refused too."""
    _, credited, _, third = uploaded
    first = credited.account
    # the same 為替 again, beside a new one, in a file being processed: line 2 repeats it
    processing = _processing_file(incoming_file([(first, credited.payee_kana, credited.amount),
                                                 (third, "ｽｽﾞｷ ｲﾁﾛｳ", 7_000)]))
    assert _key_of(processing) == credited.record_key
    balance = Account.objects.get(pk=first.pk).balance
    with rolled_back():
        journal = _keyed_credit(processing, 2, first, credited.amount)
        for key, why in ((credited.record_key, "already in another record"), ("", "carries its identity")):
            with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(RECORD_INSERT, [processing.pk, first.branch.code, first.number, credited.amount,
                                               first.pk, journal.pk, key])
            assert caught.value.__cause__.sqlstate == INCOMING and why in str(caught.value)
    assert Account.objects.get(pk=first.pk).balance == balance
    assert not processing.records.exists()
    # what the upload does with it: 入金保留, then staff release it (or return it)
    interbank.incoming_file_upload(data=bytes(processing.content), filename="again.txt", staff="madoguchi")
    held = processing.records.get(line=2)
    assert (held.status, held.record_key) == ("held", credited.record_key)
    released = interbank.incoming_record_release(record=held, staff="kakarisho")
    assert (released.status, released.released_by) == ("credited", "kakarisho")
    assert Account.objects.get(pk=first.pk).balance == balance + credited.amount
    at_commit()


def test_a_record_is_credited_only_to_the_customer_account_it_names(uploaded):
    """dbprobe25 F8: a record naming 001-1234567 was marked 入金済 with the money (under its
    own key) on another customer's account; a held record released the same way."""
    _, credited, _, third = uploaded
    first = credited.account
    processing = _processing_file(incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", 10_000)]))
    with rolled_back():
        journal = _keyed_credit(processing, 2, third, 10_000)
        assert refused(RECORD_INSERT, [processing.pk, first.branch.code, first.number, 10_000, third.pk,
                                       journal.pk, _key_of(processing)]) == INCOMING
        # naming the other account's number but credited to the first: refused too
        assert refused(RECORD_INSERT, [processing.pk, third.branch.code, third.number, 10_000, first.pk,
                                       journal.pk, _key_of(processing)]) == INCOMING
    again = interbank.incoming_file_upload(data=incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", credited.amount)]),
                                           filename="again.txt", staff="madoguchi")
    held = InterbankIncomingRecord.objects.get(file=again.file)
    with rolled_back():
        elsewhere = _keyed_credit(again.file, 2, third, credited.amount)
        assert refused("UPDATE transfers_interbankincomingrecord SET status = 'credited', journal_id = %s,"
                       " account_id = %s, reason = '', released_by = 'x' WHERE id = %s",
                       [elsewhere.pk, third.pk, held.pk]) == INCOMING
    # the customer account it names, with its journal: what the upload does
    with rolled_back():
        honest = _keyed_credit(processing, 2, first, 10_000)
        with connection.cursor() as cursor:
            cursor.execute(RECORD_INSERT, [processing.pk, first.branch.code, first.number, 10_000, first.pk,
                                           honest.pk, _key_of(processing)])
        at_commit()


def test_money_on_a_stripe_is_not_the_payees():
    """dbprobe25 F8: the journal check took a stripe for its account (coalesce on both sides):
    only the 為替決済 side may be a stripe. Fee income is striped (accounts 0012): a journal
    under a record's key that puts the money on one of its stripes does not move it to fee
    income's own account."""
    fee_income = Account.objects.get(purpose="fee_income")
    with rolled_back(), connection.cursor() as cursor:
        journal = journal_post(lines=[PostingLine(interbank.settlement_account(), -5_000, "x"),
                                      PostingLine(fee_income, 5_000, "x")],
                               kind=Journal.Kind.TRANSFER, description="x", idempotency_key="interbank-in:probe:2")
        assert journal.entries.get(amount=5_000).account.stripe_of_id == fee_income.pk  # posted on a stripe
        cursor.execute("SELECT transfers_interbank_journal_moves(%s, 'interbank-in:probe:2', %s, 5000)",
                       [journal.pk, fee_income.pk])
        assert cursor.fetchone()[0] is False


def test_a_file_row_names_the_bytes_it_stores():
    """dbprobe25 F8: a file row with any SHA-256 and any content was accepted. Its SHA-256 is
    the identity the database computes from its bytes, the same as the upload's
    (``file_identity``) whatever the line ends and the records' order."""
    first, second, _ = _customers()
    data = incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (second, "ｻﾄｳ ﾊﾅｺ", 45_000)])
    lines = data.split(b"\r\n")[:-1]
    swapped = b"".join(line + b"\r\n" for line in [lines[0], lines[2], lines[1], *lines[3:]])
    variants = [data, data.replace(b"\r\n", b"\n"), data.replace(b"\r\n", b""), data[:-2], data + b"\x1a",
                data + b"\r\n\r\n", swapped, swapped.replace(b"\r\n", b"\n") + b"\n\x1a"]
    with connection.cursor() as cursor:
        for variant in variants:
            cursor.execute("SELECT transfers_incoming_identity(%s)", [variant])
            assert cursor.fetchone()[0] == file_identity(variant) == file_identity(data)
    insert = ("INSERT INTO transfers_interbankincomingfile (sha256, filename, content, remitter_kana,"
              " sending_bank_code, record_count, total_amount, status, uploaded_by, created_at)"
              " VALUES (%s, 'x.txt', %s, 'x', '0161', 2, 75000, 'processing', 'x', now())")
    for sha256, content in [("ab" * 32, b"\x00"), ("ab" * 32, data), (hashlib.sha256(swapped).hexdigest(), swapped),
                            (file_identity(data), data[:-122])]:
        assert refused(insert, [sha256, content]) == INCOMING
    assert _processing_file(swapped).sha256 == file_identity(data)
