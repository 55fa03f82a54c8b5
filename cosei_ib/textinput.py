"""Typed input shared by every app's forms: one normalisation of digits (全角 → 半角), and
one way to turn digits into an int that never meets Python's int-string limit."""

from __future__ import annotations

import unicodedata


def normalise_digits(value: str) -> str:
    """Full-width digits and spaces → half-width, surrounding blanks removed."""
    return unicodedata.normalize("NFKC", value or "").strip()


def ascii_int(text: str, *, max_digits: int) -> int | None:
    """``text`` as an int when it is 1..max_digits ASCII digits, else None. The length is
    checked before ``int()``: more than 4,300 digits would raise ValueError (a 500), and
    "፩".isdigit() is True but int() refuses it."""
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
