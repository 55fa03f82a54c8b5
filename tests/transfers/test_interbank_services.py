"""XFER-12 services against the real database: the day's 仕向 file exactly once, 資金返却,
and 被仕向 files credited exactly once after a validation of the whole file."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import time_machine

from accounts.models import Account, Entry, Journal
from notifications.models import OutboxMessage, PostingNotice
from security.models import AuditEvent
from tests import factories
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from transfers.errors import TransferRefused
from transfers.interbank import services as interbank
from transfers.interbank.zengin_file import DataRecord, Header, ZenginFileError, file_build, file_read
from transfers.models import (
    InterbankIncomingFile,
    InterbankIncomingRecord,
    InterbankOutgoingFile,
    InterbankReturn,
    OutgoingTransfer,
)

pytestmark = pytest.mark.django_db
JST = dt.timezone(dt.timedelta(hours=9))
FRIDAY = dt.datetime(2026, 12, 4, 12, 0, tzinfo=JST)
DAY = FRIDAY.date()


@pytest.fixture(autouse=True)
def friday_noon():
    with time_machine.travel(FRIDAY, tick=False):
        yield


def _two_outgoing():
    customer, debit = payer()
    first = execute(customer, content_for(customer, debit, other_bank_payee(), 50_000))
    second = execute(customer, content_for(customer, debit, other_bank_payee(
        bank_code="0005", bank_name="三菱ＵＦＪ銀行", branch_code="001", branch_name="本店",
        account_number="2222222", holder_kana="ﾅﾆﾜ ｼﾞﾛｳ"), 20_000, borne=True))
    return customer, debit, first, second


def test_the_days_file_holds_every_pending_transfer_once_and_marks_them_sent():
    customer, debit, first, second = _two_outgoing()
    settlement = interbank.settlement_account()
    file = interbank.outgoing_file_create(day=DAY, staff="madoguchi")
    content = bytes(file.content)
    parsed = file_read(content)
    # 先方負担: the payee's bank receives amount − fee (20,000 − 330)
    assert [(r.bank_code, r.account_number, r.payee_kana, r.amount) for _, r in parsed.records] == [
        ("0161", "0012345", "ﾀﾅｶ ﾊﾅｺ", 50_000), ("0005", "2222222", "ﾅﾆﾜ ｼﾞﾛｳ", 19_670)]
    assert parsed.header.requester_code == "0000001633" and parsed.header.transfer_day.month == 12
    assert (file.record_count, file.total_amount, file.settlement_amount) == (2, 69_670, 69_670)
    assert file.sha256 == hashlib.sha256(content).hexdigest()
    assert settlement.entries.filter(journal_id__in=[first.journal_id, second.journal_id]).count() == 2
    assert set(OutgoingTransfer.objects.values_list("status", flat=True)) == {"sent"}
    assert [item.outgoing.transfer_id for item in file.items.all()] == [first.pk, second.pk]
    assert AuditEvent.objects.filter(action="interbank_outgoing", actor="madoguchi", outcome="success").exists()
    # 顧客コード1 names the record, so a return can be matched
    assert parsed.records[0][1].customer_code1 == str(first.outgoing.pk).rjust(10, "0")
    # nothing left for the day; the stored file downloads the same bytes every time
    with pytest.raises(TransferRefused, match="未送信の他行宛振込はありません"):
        interbank.outgoing_file_create(day=DAY, staff="madoguchi")
    assert interbank.outgoing_file_download(file=file, staff="madoguchi") == content
    assert interbank.outgoing_file_download(file=InterbankOutgoingFile.objects.get(), staff="x") == content


def test_a_transfer_of_another_day_is_not_in_the_file():
    customer, debit = payer()
    execute(customer, content_for(customer, debit, other_bank_payee(), 10_000))
    with pytest.raises(TransferRefused, match="^2026年12月7日決済の"):
        interbank.outgoing_file_create(day=DAY + dt.timedelta(days=3), staff="madoguchi")
    assert OutgoingTransfer.objects.get().status == "pending"


def test_a_refused_transfer_is_returned_to_the_customer_once_with_a_mail():
    customer, debit, first, second = _two_outgoing()
    pending_balance = Account.objects.get(pk=debit.pk).balance
    with pytest.raises(TransferRefused, match="送信済み"):
        interbank.outgoing_return(outgoing=first.outgoing, reason="no_account", staff="madoguchi")
    interbank.outgoing_file_create(day=DAY, staff="madoguchi")
    returned = interbank.outgoing_return(outgoing=second.outgoing, reason="name_mismatch", staff="madoguchi")
    # the amount the file carried comes back; the fee stays (docs/interbank.md)
    assert returned.amount == 19_670
    assert Account.objects.get(pk=debit.pk).balance == pending_balance + 19_670
    entry = Entry.objects.get(journal=returned.journal, account=debit)
    assert entry.description == "振込資金返却 ﾅﾆﾜ ｼﾞﾛｳ" and entry.amount == 19_670
    assert Entry.objects.get(journal=returned.journal, account=interbank.settlement_account()).amount == -19_670
    mail = OutboxMessage.objects.get(customer=customer, event="transfer_returned")
    assert "名義相違" in mail.body and "19,670円" in mail.body and "振込日：2026年12月4日\n" in mail.body
    # NOTE-1: the time is when the bank processed the return — 処理日時, not 受付日時 (walk22)
    assert "処理日時：" in mail.body and "受付日時" not in mail.body
    assert AuditEvent.objects.filter(action="interbank_return", customer=customer, actor="madoguchi").exists()
    with pytest.raises(TransferRefused, match="既に返却済み"):
        interbank.outgoing_return(outgoing=second.outgoing, reason="name_mismatch", staff="madoguchi")
    assert InterbankReturn.objects.count() == 1


# --- 被仕向 ---------------------------------------------------------------------------------


def incoming_file(records: list[tuple[Account | None, str, int]], *, remitter: str = "ｶ)ﾅﾆﾜｼﾖｳｼﾞ") -> bytes:
    """A 総合振込 file from 池田泉州 addressed to our bank (1633)."""
    header = Header(requester_code="123", requester_name=remitter, transfer_day=DAY, bank_code="0161",
                    bank_kana="ｲｹﾀﾞｾﾝｼﾕｳ", branch_code="002", branch_kana="ｶｲﾂﾞｶ", account_type="1",
                    account_number="7654321")
    return file_build(header, [DataRecord(
        bank_code="1633", bank_kana="ｵｵｻｶｺｳｾｲ", branch_code=account.branch.code if account else "001",
        branch_kana="", account_type="1", account_number=account.number if account else "0999999",
        payee_kana=name, amount=amount) for account, name, amount in records])


def _customers():
    first = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"), balance=1_000)
    second = factories.account(owner=factories.customer(name_kana="ｻﾄｳ ﾊﾅｺ"), branch_code="002")
    third = factories.account(owner=factories.customer(name_kana="ｽｽﾞｷ ｲﾁﾛｳ"))
    return first, second, third


def test_an_incoming_file_credits_two_accounts_and_lists_one_that_cannot_be_credited():
    first, second, third = _customers()
    settlement_before = interbank.settlement_account().balance
    # full-width and hiragana written by the sending bank's customer: normalised before comparing
    data = incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (second, "ｻﾄｳﾊﾅｺ", 45_000), (third, "ﾀﾅｶ ｼﾞﾛｳ", 5_000)])
    result = interbank.incoming_file_upload(data=data, filename="nyukin.txt", staff="madoguchi")
    assert (result.credited, result.unapplied, result.already_done) == (2, 1, False)
    assert Account.objects.get(pk=first.pk).balance == 31_000
    assert Account.objects.get(pk=second.pk).balance == 45_000
    assert Account.objects.get(pk=third.pk).balance == 0
    assert interbank.settlement_account().balance == settlement_before - 75_000
    entry = Entry.objects.get(account=first, amount=30_000)
    assert entry.description == "振込入金 ｶ)ﾅﾆﾜｼﾖｳｼﾞ"
    assert entry.journal.idempotency_key == f"interbank-in:{result.file.sha256}:2"
    assert PostingNotice.objects.filter(account__in=[first, second], amount__gt=0).count() == 3  # incl. the deposit
    unapplied = InterbankIncomingRecord.objects.get(status="unapplied")
    assert (unapplied.line, unapplied.reason, unapplied.amount) == (4, "名義相違", 5_000)
    assert result.file.status == "done" and result.file.remitter_kana == "ｶ)ﾅﾆﾜｼﾖｳｼﾞ"
    # the 入金不能 record is returned by staff (nothing posts: it was never credited)
    interbank.incoming_record_return(record=unapplied, staff="madoguchi", reason="口座なし（仕向金融機関に連絡済）")
    assert InterbankIncomingRecord.objects.get(pk=unapplied.pk).status == "returned"
    with pytest.raises(TransferRefused):
        interbank.incoming_record_return(record=unapplied, staff="madoguchi", reason="口座なし（仕向金融機関に連絡済）")

    # the same file again: nothing posts
    journals = Journal.objects.count()
    again = interbank.incoming_file_upload(data=data, filename="copy.txt", staff="madoguchi")
    assert again.already_done and again.file.pk == result.file.pk
    assert Journal.objects.count() == journals
    assert Account.objects.get(pk=first.pk).balance == 31_000


@pytest.mark.parametrize("resent", ["LF", "no line breaks", "no final CRLF"])
def test_the_same_file_with_other_line_breaks_is_not_credited_again(resent):
    """XFER-12 (review, session 19): the file was unique by the SHA-256 of its bytes, so the
    same 被仕向 file sent again with LF line ends (an editor, a transfer in text mode) or
    with no line breaks — both read as the same records — was a new file and credited every
    record a second time. Now the digest is over the records as read (each + CRLF)."""
    first, second, _ = _customers()
    data = incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (second, "ｻﾄｳ ﾊﾅｺ", 45_000)])
    interbank.incoming_file_upload(data=data, filename="nyukin.txt", staff="madoguchi")
    journals = Journal.objects.count()
    again = {"LF": data.replace(b"\r\n", b"\n"), "no line breaks": data.replace(b"\r\n", b""),
             "no final CRLF": data[:-2]}[resent]
    result = interbank.incoming_file_upload(data=again, filename="nyukin-copy.txt", staff="madoguchi")
    assert result.already_done and result.credited == 0
    assert Journal.objects.count() == journals
    assert Account.objects.get(pk=first.pk).balance == 31_000
    assert Account.objects.get(pk=second.pk).balance == 45_000
    assert InterbankIncomingFile.objects.count() == 1


def test_missing_and_closed_accounts_are_not_credited():
    first, second, third = _customers()
    Account.objects.filter(pk=third.pk).update(status=Account.Status.CLOSED)
    data = incoming_file([(None, "ﾀﾞﾚｶ", 1_000), (third, "ｽｽﾞｷ ｲﾁﾛｳ", 2_000)])
    interbank.incoming_file_upload(data=data, filename="x.txt", staff="madoguchi")
    assert list(InterbankIncomingRecord.objects.values_list("reason", flat=True)) == ["口座なし", "解約済"]
    assert not Entry.objects.filter(account=third).exists()


def _interrupted_on_line_3(monkeypatch, data: bytes) -> None:
    """An upload of ``data`` that stops (connection lost) after its line 2."""
    real = interbank._incoming_record

    def crash_on_the_second(file, line, record, key):
        if line == 3:
            raise RuntimeError("connection lost")
        return real(file, line, record, key)

    monkeypatch.setattr(interbank, "_incoming_record", crash_on_the_second)
    with pytest.raises(RuntimeError):
        interbank.incoming_file_upload(data=data, filename="x.txt", staff="madoguchi")
    monkeypatch.setattr(interbank, "_incoming_record", real)


def test_an_interrupted_upload_repeated_completes_the_rest(monkeypatch):
    first, second, _ = _customers()
    data = incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (second, "ｻﾄｳ ﾊﾅｺ", 45_000)])
    _interrupted_on_line_3(monkeypatch, data)
    assert Account.objects.get(pk=first.pk).balance == 31_000
    assert InterbankIncomingFile.objects.get().status == "processing"
    result = interbank.incoming_file_upload(data=data, filename="x.txt", staff="madoguchi")
    assert (result.credited, result.already_done) == (1, False)
    assert Account.objects.get(pk=first.pk).balance == 31_000
    assert Account.objects.get(pk=second.pk).balance == 45_000
    assert InterbankIncomingRecord.objects.filter(status="credited").count() == 2


def _mutations(data: bytes):
    lines = data.split(b"\r\n")[:-1]
    join = lambda parts: b"".join(part + b"\r\n" for part in parts)  # noqa: E731
    yield "truncated", join(lines[:-2]), "エンド・レコード"
    yield "trailer total", join([*lines[:-2], lines[-2][:7] + b"000000099999" + lines[-2][19:], lines[-1]]), \
        "トレーラーの合計金額"
    yield "record length", join([lines[0], lines[1][:-1], *lines[2:]]), "2行目: レコード長が119バイト"
    yield "non-JIS", join([lines[0], lines[1][:51] + "ヤマ".encode("shift_jis") + lines[1][55:], *lines[2:]]), \
        "2行目: 全銀協の文字"
    yield "not our bank", data.replace(b"21633", b"20161", 1), "当金庫（1633）ではありません"


def test_a_bad_file_is_refused_whole_and_nothing_posts():
    first, second, _ = _customers()
    good = incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (second, "ｻﾄｳ ﾊﾅｺ", 45_000)])
    journals = Journal.objects.count()
    for name, data, message in _mutations(good):
        with pytest.raises(ZenginFileError) as refused:
            interbank.incoming_file_upload(data=data, filename=f"{name}.txt", staff="madoguchi")
        assert message in refused.value.message, name
    assert Journal.objects.count() == journals
    assert not InterbankIncomingFile.objects.exists()
    assert AuditEvent.objects.filter(action="interbank_incoming", outcome="refused").count() == 5


def test_the_demo_incoming_file_credits_two_demo_accounts_and_refuses_one():
    from pathlib import Path

    from transfers.interbank.demo import DEMO_INCOMING, demo_incoming_file

    names = {"1234567": "ﾔﾏﾀﾞ ﾀﾛｳ", "3456789": "ｻﾄｳ ﾊﾅｺ", "6789012": "ｽｽﾞｷ ｲﾁﾛｳ"}
    for branch, _kind, number, _name, _amount in DEMO_INCOMING:
        factories.account(owner=factories.customer(name_kana=names[number]), branch_code=branch, number=number)
    committed = Path(__file__).resolve().parents[2] / "docs" / "interbank-demo-incoming.txt"
    assert committed.read_bytes() == demo_incoming_file(DAY)
    result = interbank.incoming_file_upload(data=committed.read_bytes(), filename="demo.txt", staff="staff01")
    assert (result.credited, result.unapplied) == (2, 1)
    assert InterbankIncomingRecord.objects.get(status="unapplied").reason == "名義相違"


def test_a_directory_name_the_format_cannot_hold_is_left_blank_and_the_file_written(monkeypatch):
    """A bank name the code list would give in kanji: the record is never rewritten (0008,
    CI206) and the database refuses a record the file cannot carry (0021, CI212), so the
    record leaves the optional name blank and the transfer goes (dbprobe26 F5; a record
    stored before is held back: tests/transfers/test_batch_row_guards.py)."""
    customer, debit = payer()
    monkeypatch.setattr("transfers.services.zengin_kana", lambda text: "山田")
    execute(customer, content_for(customer, debit, other_bank_payee(), 10_000))
    assert (OutgoingTransfer.objects.get().bank_kana, OutgoingTransfer.objects.get().branch_kana) == ("", "")
    file = interbank.outgoing_file_create(day=DAY, staff="madoguchi")
    assert file.record_count == 1 and OutgoingTransfer.objects.get().status == "sent"



def _swapped(data: bytes, *, ending: bytes = b"\r\n") -> bytes:
    """The same file with its first two data records in the other order (header, trailer
    and end unchanged)."""
    lines = data.split(b"\r\n")[:-1]
    return b"".join(line + ending for line in [lines[0], lines[2], lines[1], *lines[3:]])


@pytest.mark.parametrize("ending", [b"\r\n", b"\n"])
def test_the_same_file_with_its_records_in_another_order_is_not_credited_again(ending):
    """XFER-12 (walk25 F8): the file's identity was the SHA-256 of its records in file
    order, so the same 被仕向 file with records 1 and 2 swapped (a file the sending bank
    regenerates, or staff re-save) was a new file and credited both customers a second
    time. The identity is now over the header, the sorted data records and the trailer."""
    first, second, _ = _customers()
    data = incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (second, "ｻﾄｳ ﾊﾅｺ", 45_000)])
    interbank.incoming_file_upload(data=data, filename="nyukin.txt", staff="madoguchi")
    journals = Journal.objects.count()
    again = interbank.incoming_file_upload(data=_swapped(data, ending=ending), filename="nyukin-v3.txt",
                                           staff="madoguchi")
    assert again.already_done and again.credited == 0
    assert Journal.objects.count() == journals and InterbankIncomingFile.objects.count() == 1
    assert Account.objects.get(pk=first.pk).balance == 31_000
    assert Account.objects.get(pk=second.pk).balance == 45_000


def test_each_record_is_credited_once_whatever_file_it_comes_in():
    """XFER-12 (walk25 F8, per record): the same 為替 in another file — the file again with
    one extra record, or its records split over two files — is 入金保留 naming the record it
    repeats; only the new record is credited. Staff release a held record that the sending
    bank confirms is a payment of its own (credited once, with the upload's key), or return it."""
    first, second, third = _customers()
    data = incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (second, "ｻﾄｳ ﾊﾅｺ", 45_000)])
    original = interbank.incoming_file_upload(data=data, filename="nyukin.txt", staff="madoguchi")
    extra = incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (second, "ｻﾄｳ ﾊﾅｺ", 45_000),
                           (third, "ｽｽﾞｷ ｲﾁﾛｳ", 5_000)])
    result = interbank.incoming_file_upload(data=extra, filename="nyukin-2.txt", staff="madoguchi")
    assert (result.credited, result.unapplied) == (1, 0)
    assert [(line, earlier.file_id, earlier.line) for line, earlier in result.held] == [
        (2, original.file.pk, 2), (3, original.file.pk, 3)]
    held = InterbankIncomingRecord.objects.filter(file=result.file, status="held").order_by("line")
    assert [record.reason for record in held] == [f"二重の疑い：第{original.file.pk}号 2行目と同じ振込",
                                                  f"二重の疑い：第{original.file.pk}号 3行目と同じ振込"]
    split = incoming_file([(second, "ｻﾄｳ ﾊﾅｺ", 45_000)])
    assert len(interbank.incoming_file_upload(data=split, filename="part.txt", staff="madoguchi").held) == 1
    assert Account.objects.get(pk=first.pk).balance == 31_000
    assert Account.objects.get(pk=second.pk).balance == 45_000
    assert Account.objects.get(pk=third.pk).balance == 5_000

    # a record twice in one file is two payments (its occurrence is part of its identity)
    twice = incoming_file([(third, "ｽｽﾞｷ ｲﾁﾛｳ", 7_000), (third, "ｽｽﾞｷ ｲﾁﾛｳ", 7_000)])
    assert interbank.incoming_file_upload(data=twice, filename="twice.txt", staff="madoguchi").credited == 2

    released = interbank.incoming_record_release(record=held[0], staff="kakarisho")
    assert (released.status, released.released_by, released.reason) == ("credited", "kakarisho", "")
    assert released.journal.idempotency_key == f"interbank-in:{result.file.sha256}:2"
    assert Account.objects.get(pk=first.pk).balance == 61_000
    with pytest.raises(TransferRefused, match="入金保留の明細だけ"):
        interbank.incoming_record_release(record=held[0], staff="kakarisho")
    assert interbank.incoming_record_return(record=held[1], staff="madoguchi", reason="二重送信").status == "returned"
    assert Account.objects.get(pk=second.pk).balance == 45_000
    assert AuditEvent.objects.filter(action="interbank_incoming_release", actor="kakarisho").exists()


def test_an_interrupted_upload_completed_from_a_reordered_copy_credits_each_record_once(monkeypatch):
    """XFER-12 (walk25 F8): the copy with its records in another order is the same file; an
    upload of it that completes an interrupted one handles the STORED file's lines (line 3 of
    the copy is line 2 of the file: it was credited under line 2, not again under line 3)."""
    first, second, _ = _customers()
    data = incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (second, "ｻﾄｳ ﾊﾅｺ", 45_000)])
    _interrupted_on_line_3(monkeypatch, data)
    result = interbank.incoming_file_upload(data=_swapped(data), filename="x-v2.txt", staff="madoguchi")
    assert (result.credited, result.held, result.file.status) == (1, [], "done")
    assert Account.objects.get(pk=first.pk).balance == 31_000
    assert Account.objects.get(pk=second.pk).balance == 45_000
