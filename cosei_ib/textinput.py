"""Typed input shared by every app's forms: one normalisation of digits (全角 → 半角), one
way to turn digits into an int that never meets Python's int-string limit, one reading of
an amount of yen (振込, 利用限度額, Pay-easy, the counter's 入金), and one check of the text
staff type for customers to read."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import jaconv
from django import forms
from django.core.exceptions import ValidationError


def normalise_digits(value: str) -> str:
    """Full-width (全角) digits, letters, punctuation and the ideographic space → ASCII,
    surrounding blanks removed. Only the full-width forms: NFKC also read ⑤ as 5, ² as 2
    and ¹⁰ as 10, so 「⑤000円」 paid 5,000円 (review); those stay and are refused."""
    return jaconv.z2h(value or "", kana=False, ascii=True, digit=True).strip()


# hyphens, dashes, the long-vowel mark and blanks people type inside long numbers
GROUP_SEPARATORS = r"\s\-‐‑‒–—―ー−ｰ"
_BETWEEN_DIGITS = re.compile(f"(?<=[0-9])[{GROUP_SEPARATORS}]+(?=[0-9])")


def digits_typed_in_groups(value: str) -> str:
    """``normalise_digits``, then the blanks and hyphens typed between digits dropped: a
    code or number as people copy it — 「123 456」 as authenticator apps show a one-time
    password, 「１２３　４５６」 with the IME on, an ID in groups. Only between digits:
    「-1000000001」 or 「12345 6x」 keep theirs, and the caller's format check refuses them."""
    return _BETWEEN_DIGITS.sub("", normalise_digits(value))


def ascii_int(text: str, *, max_digits: int) -> int | None:
    """``text`` as an int when it is 1..max_digits ASCII digits, else None. The length is
    checked before ``int()``: more than 4,300 digits would raise ValueError (a 500), and
    "፩".isdigit() is True but int() refuses it."""
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


_TYPED_DATE = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")


def typed_date(text: str | None) -> dt.date | None:
    """A date staff typed: 「2027-06-01」, 「2027/6/1」, 「2027.06.01」 or the same in
    full-width (「２０２７－０６－０１」); None for anything else (no such day, other forms)."""
    match = _TYPED_DATE.fullmatch(normalise_digits(text or ""))
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[3]), int(match[4]))
    except ValueError:
        return None


def typed_date_nonexistent(text: str | None) -> bool:
    """True when ``text`` is written as ``typed_date`` reads a date but names no day
    (「2026-02-30」, month 13): a message says so, not that the form is wrong (probe34 F7)."""
    return typed_date(text) is None and _TYPED_DATE.fullmatch(normalise_digits(text or "")) is not None



# an amount of yen: at most 12 digits (999,999,999,999円), checked before int()
MAX_DIGITS = 12
# digits grouped by three from the right: 1,000 and 12,345,678, not 1,00,0 or 10000,000
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+", flags=re.ASCII)


def parse_yen(value: str, *, required: str, negative: str, not_number: str, too_large: str) -> int:
    """An amount of yen typed by a person: full-width digits, commas, a trailing 円 and
    blanks around it accepted. A blank between digits is refused, not closed up: 「1　1000」
    is a slip, and joining it would make 11,000円 of it. Length is checked before int()
    (no huge-number CPU burn). Commas only as thousands separators (1,000 / 12,345,678):
    「1,00,0」 was read as 1,000円 and a slip like 「1,00,00」 as 10,000円 (walk25 F15).
    Each refusal is a ValidationError with the caller's Japanese message."""
    text = normalise_digits(value).replace("\x00", "?")
    if text.endswith("円"):  # only a trailing one: 「12円345」 is no amount, not 12,345円
        text = text[:-1].rstrip()
    if not text.replace(",", ""):
        raise ValidationError(required if not text else not_number)
    if " " in text:
        raise ValidationError(not_number)
    if text.startswith(("-", "−", "▲")):
        raise ValidationError(negative)
    if "," in text and not _THOUSANDS.fullmatch(text):
        raise ValidationError(not_number)
    text = text.replace(",", "")
    if not re.fullmatch(r"[0-9]+", text, flags=re.ASCII):
        raise ValidationError(not_number)
    if len(text.lstrip("0")) > MAX_DIGITS:
        raise ValidationError(too_large)
    return int(text)


def yen_field(label: str, *, required: str, too_large: str, not_number: str) -> forms.CharField:
    """A text field for yen (numeric keyboard on a phone); parse it with ``parse_yen``."""
    return forms.CharField(
        label=label, max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "size": "14"}),
        error_messages={"required": required, "max_length": too_large, "null_characters_not_allowed": not_number})

# Text staff type that customers read (収納機関名, 請求内容, お名前, 臨時休業日の名称) goes
# to their pages, their mail and the statement CSV, which is cp932 (Shift_JIS): a control
# character (BEL reached a mail body, walk26 F7) or one cp932 cannot hold (an emoji became
# 「?」 in the CSV) is refused. The Unicode forms that JIS-minded input methods give for
# characters cp932 holds under another code point (〜 for ～, − for －) are taken as cp932's.
CUSTOMER_TEXT_CONTROL = "{label}に使用できない文字（制御文字 {code}）が含まれています。"
CUSTOMER_TEXT_NOT_CP932 = ("{label}に使用できない文字「{char}」が含まれています。絵文字や一部の漢字・記号など、"
                           "Shift_JIS（CSV）で表せない文字は使えません。")
_CP932_FORMS = str.maketrans({"\u301c": "\uff5e", "\u2212": "\uff0d", "\u2016": "\u2225", "\u2014": "\u2015",
                              "\u00a2": "\uffe0", "\u00a3": "\uffe1", "\u00ac": "\uffe2"})


def customer_text(value: str, *, label: str) -> str:
    """``value`` (NFC, cp932's forms of 〜 − ‖ — ¢ £ ¬) when every character can be shown to
    customers in page, mail and Shift_JIS CSV alike; else ValidationError naming the first
    character that cannot, in Japanese."""
    text = unicodedata.normalize("NFC", value or "").translate(_CP932_FORMS)
    for char in text:
        if unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp"):
            raise ValidationError(CUSTOMER_TEXT_CONTROL.format(label=label, code=f"U+{ord(char):04X}"),
                                  code="customer_text")
        try:
            char.encode("cp932")
        except UnicodeEncodeError:
            raise ValidationError(CUSTOMER_TEXT_NOT_CP932.format(label=label, char=char),
                                  code="customer_text") from None
    return text


def display_name(value: str) -> str:
    """A name a customer gives something for their own pages (登録名 of a payee, the name of
    a passkey), as it is stored and counted: NFC, and half-width katakana made full-width by
    jaconv, which composes a half-width voiced or semi-voiced kana with its mark — 「ｶﾞ」,
    two code points and one character on the screen, is 「ガ」 (probe34 F6: 「ｶﾞ」×20 was
    refused as over 20 characters). Stored so, a limit of characters seen is one of
    ``len()`` and fits the column. Not for Zengin kana (受取人名, 依頼人名): those stay
    half-width and are counted as the bank's file counts them (transfers.zengin).

    jaconv leaves a mark it has no precomposed pair for (「ﾜﾞ」, 「ｦﾞ」) half-width: it is
    made the combining mark, which NFC composes (「ヷ」, 「ヺ」); a mark after nothing it
    composes with stays a mark, the full-width spacing one (「゛」)."""
    text = jaconv.h2z(value or "", kana=True, ascii=False, digit=False).translate(_HALF_WIDTH_MARKS)
    return unicodedata.normalize("NFC", text).translate(_LONE_MARKS)


# the half-width voiced / semi-voiced marks → combining; after NFC, a lone combining one → spacing
_HALF_WIDTH_MARKS = str.maketrans({"\uff9e": "\u3099", "\uff9f": "\u309a"})
_LONE_MARKS = str.maketrans({"\u3099": "\u309b", "\u309a": "\u309c"})
