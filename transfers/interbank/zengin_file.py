"""全銀協規定形式 総合振込 (種別コード 21) files, written and read (XFER-12).

120-byte fixed records — header (データ区分 1), data (2), trailer (8), end (9) — numbers
right-aligned and zero-padded, text (half-width katakana, A–Z, 0–9, space, ``( ) - . /``)
left-aligned and space-padded. Bytes are Shift_JIS, where half-width katakana are the
single bytes of JIS X 0201 (0xA1–0xDF), so every record is exactly 120 bytes; records end
with CRLF (the common PC form). Layout: docs/interbank.md.

``file_read`` validates the whole file before returning anything: a bad file raises
``ZenginFileError`` naming the line and the reason, so nothing is posted from it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from transfers.zengin import ALLOWED, zengin_normalize

RECORD_LENGTH = 120
KIND_SOGO = "21"
CRLF = b"\r\n"
EOF_MARK = b"\x1a"

# (name, width, "N" numeric | "C" text) — the data record; the others follow the same form
HEADER_FIELDS = [("data_kind", 1, "N"), ("kind_code", 2, "N"), ("code_kind", 1, "N"),
                 ("requester_code", 10, "N"), ("requester_name", 40, "C"), ("transfer_day", 4, "N"),
                 ("bank_code", 4, "N"), ("bank_kana", 15, "C"), ("branch_code", 3, "N"),
                 ("branch_kana", 15, "C"), ("account_type", 1, "N"), ("account_number", 7, "N"),
                 ("dummy", 17, "C")]
DATA_FIELDS = [("data_kind", 1, "N"), ("bank_code", 4, "N"), ("bank_kana", 15, "C"), ("branch_code", 3, "N"),
               ("branch_kana", 15, "C"), ("clearing_house", 4, "N"), ("account_type", 1, "N"),
               ("account_number", 7, "N"), ("payee_kana", 30, "C"), ("amount", 10, "N"), ("new_code", 1, "N"),
               ("customer_code1", 10, "N"), ("customer_code2", 10, "N"), ("transfer_kind", 1, "N"),
               ("edi_mark", 1, "C"), ("dummy", 7, "C")]
TRAILER_FIELDS = [("data_kind", 1, "N"), ("count", 6, "N"), ("total", 12, "N"), ("dummy", 101, "C")]
END_FIELDS = [("data_kind", 1, "N"), ("dummy", 119, "C")]
LAYOUTS = {"1": HEADER_FIELDS, "2": DATA_FIELDS, "8": TRAILER_FIELDS, "9": END_FIELDS}
RECORD_NAMES = {"1": "ヘッダー・レコード", "2": "データ・レコード", "8": "トレーラー・レコード", "9": "エンド・レコード"}
# 空白でよい数字項目 (several banks leave them blank)
BLANK_NUMBERS = {"clearing_house", "customer_code1", "customer_code2", "new_code", "transfer_kind",
                 "requester_code", "transfer_day"}

FILE_EMPTY = "ファイルが空です。"
BAD_BYTES = "{line}行目: 全銀協の文字（半角カナ・英大文字・数字・記号）以外の文字が含まれています（{col}桁目）。"
BAD_LENGTH = "{line}行目: レコード長が{length}バイトです（120バイト固定）。"
BAD_KIND = "{line}行目: データ区分「{kind}」は使用できません。"
BAD_ORDER = "{line}行目: レコードの順序が正しくありません（{expected}の位置に{found}があります）。"
BAD_NUMBER = "{line}行目: {name}（{col}桁目から）が数字ではありません。"
BAD_TEXT = "{line}行目: {name}に使用できない文字「{char}」があります。"
NOT_SOGO = "1行目: 種別コードが「{code}」です（総合振込は21）。"
NO_END = "ファイルの最後にエンド・レコード（データ区分9）がありません。ファイルが途中で切れている可能性があります。"
AFTER_END = "{line}行目: エンド・レコードの後にデータがあります。"
NO_DATA = "データ・レコードが1件もありません。"
TRAILER_COUNT = "{line}行目: トレーラーの合計件数 {stated:,}件 がデータの件数 {actual:,}件 と一致しません。"
TRAILER_TOTAL = "{line}行目: トレーラーの合計金額 {stated:,}円 がデータの合計 {actual:,}円 と一致しません。"
ZERO_AMOUNT = "{line}行目: 振込金額が0円です。"
WRONG_BANK = "{line}行目: 被仕向金融機関番号「{code}」は当金庫（{ours}）ではありません。"

FIELD_LABELS = {
    "data_kind": "データ区分", "kind_code": "種別コード", "code_kind": "コード区分",
    "requester_code": "振込依頼人コード", "requester_name": "振込依頼人名", "transfer_day": "振込指定日",
    "bank_code": "金融機関番号", "bank_kana": "金融機関名", "branch_code": "支店番号", "branch_kana": "支店名",
    "account_type": "預金種目", "account_number": "口座番号", "clearing_house": "手形交換所番号",
    "payee_kana": "受取人名", "amount": "振込金額", "new_code": "新規コード", "customer_code1": "顧客コード1",
    "customer_code2": "顧客コード2", "transfer_kind": "振込区分", "edi_mark": "識別表示",
    "count": "合計件数", "total": "合計金額", "dummy": "ダミー",
}


class ZenginFileError(ValueError):
    def __init__(self, message: str, line: int = 0) -> None:
        self.message = message
        self.line = line
        super().__init__(message)


class ZenginFieldError(ValueError):
    pass


# --- writing ------------------------------------------------------------------------------


def _text(value: str, width: int) -> str:
    value = zengin_normalize(value)
    for char in value:
        if not ALLOWED.fullmatch(char):
            raise ZenginFieldError(f"全銀協の文字にない「{char}」")
    return value[:width].ljust(width)


def _number(value, width: int) -> str:
    text = str(int(value or 0))
    if len(text) > width or text.startswith("-"):
        raise ZenginFieldError(f"{value} は{width}桁に収まりません")
    return text.rjust(width, "0")


def record_build(fields: list[tuple[str, int, str]], values: dict) -> bytes:
    parts = []
    for name, width, kind in fields:
        value = values.get(name, "")
        try:
            parts.append(_number(value, width) if kind == "N" else _text(str(value), width))
        except ZenginFieldError as error:
            raise ZenginFieldError(f"{FIELD_LABELS[name]}: {error}") from None
    record = "".join(parts).encode("shift_jis")
    assert len(record) == RECORD_LENGTH, len(record)
    return record


@dataclass(frozen=True)
class _BankAccount:
    """An account at a bank and branch (code and kana), as both record kinds carry it."""

    bank_code: str
    bank_kana: str
    branch_code: str
    branch_kana: str
    account_type: str
    account_number: str


@dataclass(frozen=True)
class Header(_BankAccount):
    """The 振込依頼人 and their (仕向) account."""

    requester_code: str = ""
    requester_name: str = ""
    transfer_day: dt.date | None = None


@dataclass(frozen=True)
class DataRecord(_BankAccount):
    """The payee's (被仕向) account and the amount."""

    payee_kana: str = ""
    amount: int = 0
    customer_code1: str = ""
    customer_code2: str = ""
    transfer_kind: str = "7"  # 7 テレ振込（電信）
    edi_mark: str = ""


def data_line(record: DataRecord) -> bytes:
    """One data record (without CRLF); ZenginFieldError when a field cannot be written."""
    return record_build(DATA_FIELDS, {
        "data_kind": 2, "bank_code": record.bank_code, "bank_kana": record.bank_kana,
        "branch_code": record.branch_code, "branch_kana": record.branch_kana, "clearing_house": 0,
        "account_type": record.account_type, "account_number": record.account_number,
        "payee_kana": record.payee_kana, "amount": record.amount, "new_code": 0,
        "customer_code1": record.customer_code1, "customer_code2": record.customer_code2,
        "transfer_kind": record.transfer_kind, "edi_mark": record.edi_mark})


def header_line(header: Header) -> bytes:
    """The header record (without CRLF); ZenginFieldError when a field cannot be written."""
    return record_build(HEADER_FIELDS, {
        "data_kind": 1, "kind_code": KIND_SOGO, "code_kind": 0, "requester_code": header.requester_code,
        "requester_name": header.requester_name, "transfer_day": header.transfer_day.strftime("%m%d") if header.transfer_day else "",
        "bank_code": header.bank_code, "bank_kana": header.bank_kana, "branch_code": header.branch_code,
        "branch_kana": header.branch_kana, "account_type": header.account_type,
        "account_number": header.account_number})


def file_build(header: Header, records: list[DataRecord]) -> bytes:
    """The whole file: header, data, trailer, end, each record + CRLF."""
    lines = [header_line(header)]
    lines.extend(data_line(record) for record in records)
    lines.append(record_build(TRAILER_FIELDS, {"data_kind": 8, "count": len(records),
                                               "total": sum(record.amount for record in records)}))
    lines.append(record_build(END_FIELDS, {"data_kind": 9}))
    return b"".join(line + CRLF for line in lines)


# --- reading ------------------------------------------------------------------------------

_BYTE_OK = re.compile(rb"[\x20-\x7e\xa1-\xdf]*")


def _lines(data: bytes) -> list[bytes]:
    """Records split on CRLF (or LF); a file without line breaks is cut every 120 bytes.
    The DOS end-of-file mark (Ctrl-Z, 0x1A) that some transfer programs append, and blank
    lines after the last record, are not records: staff could not see them to remove them."""
    data = data.removesuffix(EOF_MARK)
    if b"\n" not in data and b"\r" not in data:
        return [data[i:i + RECORD_LENGTH] for i in range(0, len(data), RECORD_LENGTH)]
    lines = data.replace(CRLF, b"\n").split(b"\n")
    while lines and lines[-1] == b"":
        lines.pop()
    return lines


def file_canonical(data: bytes) -> bytes:
    """The file's records as ``file_read`` reads them, each + CRLF: the same file sent with
    LF, with no line breaks or without the last CRLF gives the same bytes (a CRLF file is
    unchanged)."""
    return b"".join(line + CRLF for line in _lines(data))


def file_identity(data: bytes) -> str:
    """The SHA-256 (hex) naming a file whatever its line ends and the order of its data
    records: the header, the data records sorted (as bytes), the trailer and the end record,
    each + CRLF. For a file ``file_read`` accepts (header, data…, trailer, end); the
    database computes the same from the stored bytes (transfers 0018,
    ``transfers_incoming_identity``)."""
    lines = _lines(data)
    canonical = [lines[0], *sorted(lines[1:-2]), *lines[-2:]]
    return hashlib.sha256(b"".join(line + CRLF for line in canonical)).hexdigest()


def _fields(line: bytes, number: int, layout) -> dict:
    text = line.decode("shift_jis")  # every byte is single-byte JIS X 0201 (checked before)
    values, position = {}, 0
    for name, width, kind in layout:
        raw = text[position:position + width]
        if kind == "N":
            if not raw.isascii() or not (raw.isdigit() or (name in BLANK_NUMBERS and raw.strip() == "")):
                raise ZenginFileError(BAD_NUMBER.format(line=number, name=FIELD_LABELS[name], col=position + 1),
                                      number)
            values[name] = raw
        else:
            for char in raw:
                if not ALLOWED.fullmatch(char):
                    raise ZenginFileError(BAD_TEXT.format(line=number, name=FIELD_LABELS[name], char=char),
                                          number)
            values[name] = raw.rstrip()
        position += width
    return values


@dataclass(frozen=True)
class ParsedFile:
    header: Header
    records: list[tuple[int, DataRecord]]  # (line number, record)
    total: int


def file_read(data: bytes, *, bank_code: str | None = None) -> ParsedFile:
    """Validate and read a 総合振込 file. Every data record must be for ``bank_code`` when
    given. Raises ZenginFileError (line, Japanese reason) on the first problem."""
    lines = _lines(data)
    if not lines:
        raise ZenginFileError(FILE_EMPTY)
    parsed: list[tuple[int, str, dict]] = []
    for number, line in enumerate(lines, start=1):
        bad = _BYTE_OK.match(line).end()
        if bad < len(line):
            raise ZenginFileError(BAD_BYTES.format(line=number, col=bad + 1), number)
        if len(line) != RECORD_LENGTH:
            raise ZenginFileError(BAD_LENGTH.format(line=number, length=len(line)), number)
        kind = chr(line[0])
        if kind not in LAYOUTS:
            raise ZenginFileError(BAD_KIND.format(line=number, kind=kind), number)
        parsed.append((number, kind, _fields(line, number, LAYOUTS[kind])))
    _order_check(parsed)
    header_values = parsed[0][2]
    if header_values["kind_code"] != KIND_SOGO:
        raise ZenginFileError(NOT_SOGO.format(code=header_values["kind_code"]), 1)
    records = []
    for number, kind, values in parsed:
        if kind != "2":
            continue
        amount = int(values["amount"])
        if amount <= 0:
            raise ZenginFileError(ZERO_AMOUNT.format(line=number), number)
        if bank_code is not None and values["bank_code"] != bank_code:
            raise ZenginFileError(WRONG_BANK.format(line=number, code=values["bank_code"], ours=bank_code), number)
        records.append((number, DataRecord(
            bank_code=values["bank_code"], bank_kana=values["bank_kana"], branch_code=values["branch_code"],
            branch_kana=values["branch_kana"], account_type=values["account_type"],
            account_number=values["account_number"], payee_kana=values["payee_kana"], amount=amount,
            customer_code1=values["customer_code1"].strip(), customer_code2=values["customer_code2"].strip(),
            transfer_kind=values["transfer_kind"].strip(), edi_mark=values["edi_mark"])))
    if not records:
        raise ZenginFileError(NO_DATA)
    trailer_line, _, trailer = next(item for item in parsed if item[1] == "8")
    total = sum(record.amount for _, record in records)
    if int(trailer["count"]) != len(records):
        raise ZenginFileError(TRAILER_COUNT.format(line=trailer_line, stated=int(trailer["count"]),
                                                   actual=len(records)), trailer_line)
    if int(trailer["total"]) != total:
        raise ZenginFileError(TRAILER_TOTAL.format(line=trailer_line, stated=int(trailer["total"]), actual=total),
                              trailer_line)
    day_text = header_values["transfer_day"].strip()
    header = Header(
        requester_code=header_values["requester_code"], requester_name=header_values["requester_name"],
        transfer_day=_day(day_text), bank_code=header_values["bank_code"], bank_kana=header_values["bank_kana"],
        branch_code=header_values["branch_code"], branch_kana=header_values["branch_kana"],
        account_type=header_values["account_type"], account_number=header_values["account_number"])
    return ParsedFile(header=header, records=records, total=total)


def record_keys(parsed: ParsedFile) -> list[str]:
    """Each data record's own identity, in file order (docs/interbank.md, 「一件ごと」): the
    総合振込 record carries no number of its own, so one 為替 is named by the sending bank
    and branch, the 振込指定日, the remitter (依頼人コード, 依頼人名, account), the payee's
    branch, 科目 and number, the amount, 顧客コード1・2 and 識別表示 — SHA-256 of these —
    and, for records alike in all of them, which occurrence in the file it is (``#1``, ``#2``…).
    The 受取人名 is not part of it: a file re-sent with the name corrected is the same 為替."""
    header, seen, keys = parsed.header, Counter(), []
    for _, record in parsed.records:
        fields = (header.bank_code, header.branch_code, f"{header.transfer_day:%m%d}" if header.transfer_day else "",
                  header.requester_code, header.requester_name, header.account_type, header.account_number,
                  record.branch_code, record.account_type, record.account_number, str(record.amount),
                  record.customer_code1, record.customer_code2, record.edi_mark)
        digest = hashlib.sha256("\x1f".join(fields).encode()).hexdigest()
        seen[digest] += 1
        keys.append(f"{digest}#{seen[digest]}")
    return keys


def _day(mmdd: str) -> dt.date | None:
    if len(mmdd) != 4:
        return None
    try:
        return dt.date(2000, int(mmdd[:2]), int(mmdd[2:]))  # the year is not in the file
    except ValueError:
        raise ZenginFileError("1行目: 振込指定日（月日）が日付ではありません。", 1) from None


def _order_check(parsed: list[tuple[int, str, dict]]) -> None:
    """1, then 2…2 (at least one), then 8, then 9, and nothing after it."""
    expected = "1"
    for number, kind, _ in parsed:
        allowed = {"1": {"1"}, "2": {"2"}, "2+": {"2", "8"}, "9": {"9"}, "end": set()}[expected]
        if kind not in allowed:
            if expected == "end":
                raise ZenginFileError(AFTER_END.format(line=number), number)
            want = "・".join(RECORD_NAMES[k] for k in sorted(allowed))
            raise ZenginFileError(BAD_ORDER.format(line=number, expected=want, found=RECORD_NAMES[kind]), number)
        expected = {"1": "2", "2": "2+", "8": "9", "9": "end"}[kind]
        if kind == "2":
            expected = "2+"
    if expected != "end":
        raise ZenginFileError(NO_END, len(parsed))
