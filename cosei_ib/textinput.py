"""Typed input shared by every app's forms: one normalisation of digits (全角 → 半角), and
one way to turn digits into an int that never meets Python's int-string limit."""

from __future__ import annotations

import datetime as dt
import re

import jaconv


def normalise_digits(value: str) -> str:
    """Full-width (全角) digits, letters, punctuation and the ideographic space → ASCII,
    surrounding blanks removed. Only the full-width forms: NFKC also read ⑤ as 5, ² as 2
    and ¹⁰ as 10, so 「⑤000円」 paid 5,000円 (review); those stay and are refused."""
    return jaconv.z2h(value or "", kana=False, ascii=True, digit=True).strip()


def ascii_int(text: str, *, max_digits: int) -> int | None:
    """``text`` as an int when it is 1..max_digits ASCII digits, else None. The length is
    checked before ``int()``: more than 4,300 digits would raise ValueError (a 500), and
    "፩".isdigit() is True but int() refuses it."""
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def typed_date(text: str | None) -> dt.date | None:
    """A date staff typed: 「2027-06-01」, 「2027/6/1」, 「2027.06.01」 or the same in
    full-width (「２０２７－０６－０１」); None for anything else (no such day, other forms)."""
    match = re.fullmatch(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})", normalise_digits(text or ""))
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[3]), int(match[4]))
    except ValueError:
        return None
