"""XFER-12: the 全銀協規定形式 総合振込 file (種別 21), written and read, no database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from transfers.interbank.zengin_file import (
    DataRecord,
    Header,
    ZenginFileError,
    file_build,
    file_canonical,
    file_read,
)

GOLDEN = Path(__file__).parent / "golden" / "sogo21_outgoing.txt"

HEADER = Header(requester_code="1633", requester_name="ｵｵｻｶｺｳｾｲｼﾝｷﾝ ｶﾜｾｹｯｻｲ", transfer_day=dt.date(2026, 12, 4),
                bank_code="1633", bank_kana="オオサカコウセイ", branch_code="001", branch_kana="ﾎﾝﾃﾝ",
                account_type="1", account_number="9000002")
RECORDS = [
    DataRecord(bank_code="0161", bank_kana="イケダセンシユウ", branch_code="002", branch_kana="カイヅカ",
               account_type="1", account_number="0012345", payee_kana="たなか　はなこ", amount=50_000,
               customer_code1="17"),
    DataRecord(bank_code="0005", bank_kana="ミツビシユーエフジエイ", branch_code="001", branch_kana="ﾎﾝﾃﾝ",
               account_type="1", account_number="2222222", payee_kana="ﾅﾆﾜ  ｼﾞﾛｳ", amount=1_234_567,
               customer_code1="18"),
]


def test_outgoing_file_matches_the_hand_written_golden_file_byte_for_byte():
    built = file_build(HEADER, RECORDS)
    assert built == GOLDEN.read_bytes()
    lines = built.split(b"\r\n")
    assert lines[-1] == b"" and all(len(line) == 120 for line in lines[:-1])
    # half-width katakana are the single bytes of JIS X 0201
    assert "ｲｹﾀﾞｾﾝｼﾕｳ".encode("shift_jis") in lines[1]


def test_trailer_carries_count_and_total_and_the_file_reads_back():
    parsed = file_read(GOLDEN.read_bytes())
    trailer = GOLDEN.read_bytes().split(b"\r\n")[3]
    assert trailer[:19] == b"8" + b"000002" + b"000001284567"
    assert parsed.total == 1_284_567
    assert [(line, record.payee_kana, record.amount) for line, record in parsed.records] == [
        (2, "ﾀﾅｶ ﾊﾅｺ", 50_000), (3, "ﾅﾆﾜ ｼﾞﾛｳ", 1_234_567)]
    assert parsed.header.requester_name == "ｵｵｻｶｺｳｾｲｼﾝｷﾝ ｶﾜｾｹﾂｻｲ"


def _golden_lines() -> list[bytes]:
    return GOLDEN.read_bytes().split(b"\r\n")[:-1]


def _join(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\r\n" for line in lines)


@pytest.mark.parametrize("mutate, message", [
    (lambda lines: lines[:3], "エンド・レコード"),                        # truncated
    (lambda lines: [lines[0], lines[1], lines[2], lines[3][:7] + b"000001284568" + lines[3][19:], lines[4]],
     "4行目: トレーラーの合計金額 1,284,568円"),
    (lambda lines: [lines[0], lines[1] + b" ", *lines[2:]], "2行目: レコード長が121バイト"),
    (lambda lines: [lines[0], lines[1][:51] + "山田".encode("shift_jis") + lines[1][55:], *lines[2:]],
     "2行目: 全銀協の文字"),
    (lambda lines: [lines[0], lines[1][:51] + b"a" + lines[1][52:], *lines[2:]], "2行目: 受取人名に使用できない文字「a」"),
    (lambda lines: [lines[0], lines[1], lines[3], lines[2], lines[4]], "4行目: レコードの順序"),
    (lambda lines: [lines[0], lines[1][:80] + b"00000x0000" + lines[1][90:], *lines[2:]], "2行目: 振込金額"),
    (lambda lines: [lines[0], lines[1], lines[2], lines[3][:1] + b"000003" + lines[3][7:], lines[4]],
     "合計件数 3件"),
    (lambda lines: [*lines, lines[1]], "6行目: エンド・レコードの後"),
])
def test_a_bad_file_is_refused_with_the_line_and_the_reason(mutate, message):
    with pytest.raises(ZenginFileError) as refused:
        file_read(_join(mutate(_golden_lines())))
    assert message in refused.value.message


def test_records_for_another_bank_are_refused_when_reading_incoming_files():
    with pytest.raises(ZenginFileError) as refused:
        file_read(GOLDEN.read_bytes(), bank_code="1633")
    assert "2行目: 被仕向金融機関番号「0161」は当金庫（1633）ではありません" in refused.value.message


def test_lf_and_unbroken_files_read_the_same():
    lines = _golden_lines()
    assert file_read(b"".join(lines)).total == file_read(b"\n".join(lines) + b"\n").total == 1_284_567


@pytest.mark.parametrize("ending", [b"\r\n", b"\r\n\r\n", b"\n\n", b"\x1a", b"\r\n\x1a", b"\r\n\r\n\x1a"])
def test_blank_lines_and_an_eof_mark_after_the_end_record_are_not_records(ending):
    """XFER-12 (review5): a file whose editor or transfer program left an empty line or the
    DOS end-of-file mark (Ctrl-Z, 0x1A) after the end record was refused — 「5行目: レコード長が
    0バイトです」 or 「全銀協の文字…以外の文字（1桁目）」 for a byte staff cannot see. They are
    not records: the file reads as without them and is the same file (its digest too)."""
    clean = GOLDEN.read_bytes()
    assert file_read(clean[:-2] + ending).records == file_read(clean).records
    assert file_canonical(clean[:-2] + ending) == file_canonical(clean)
    unbroken = b"".join(_golden_lines())
    assert file_canonical(unbroken + ending.replace(b"\r\n", b"").replace(b"\n", b"")) == file_canonical(clean)


@pytest.mark.parametrize("data", [b"\r\n", b"\n\n", b"\x1a", b"\r\n\x1a"])
def test_a_file_of_blank_lines_is_empty(data):
    with pytest.raises(ZenginFileError) as refused:
        file_read(data)
    assert refused.value.message == "ファイルが空です。"


def test_data_after_an_eof_mark_is_still_refused():
    lines = _golden_lines()
    with pytest.raises(ZenginFileError) as refused:
        file_read(_join(lines) + b"\x1a" + _join(lines[1:2]))
    assert "6行目" in refused.value.message
