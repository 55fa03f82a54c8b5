"""Zengin text rules (XFER-10): names in the 全銀 character set, account numbers.

The set is half-width katakana (with ﾞ ﾟ), A–Z, 0–9, space and ``( ) - . /``. Input is
normalised first, in this order:

1. voiced kana split into kana and mark (NFD): ガ, カ + U+3099 (a macOS file name, a
   copied PDF) and ｶﾞ all end as ｶﾞ; the marks left over (U+3099/U+309A, the spacing
   ゛ ゜) become the half-width ﾞ ﾟ the set has;
2. hiragana → katakana, small kana → large (ァ ｧ ぁ ヵ … → ｱ ｶ, ``jaconv.enlarge_smallkana``),
   full-width → half-width (``jaconv``: kana, letters, digits, space);
3. lower case → upper case;
4. long-vowel marks and dash forms (ｰ ー － ‐ ‑ ‒ – — ― − ～ …) → ``-``;
5. runs of spaces → one space, trimmed.

What still fails is refused with the offending character named.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

from cosei_ib.textinput import normalise_digits

# the voicing marks NFD leaves, and the spacing ones typed alone (NFKC would make ゛ a
# space + U+3099): the set carries each as the half-width mark after its kana
VOICED_MARKS = str.maketrans({"\u3099": "ﾞ", "\u309b": "ﾞ", "\u309a": "ﾟ", "\u309c": "ﾟ"})
DASHES = "ｰー－‐‑‒–—―−﹣~～〜"
_DASH_TABLE = str.maketrans({char: "-" for char in DASHES})
ALLOWED = re.compile(r"[ｦｱ-ﾝﾞﾟA-Z0-9 ().\-/]")

NAME_EMPTY = "{label}を入力してください。"
NAME_BAD_CHARACTER = "{label}に使用できない文字「{char}」が含まれています。カナ・英大文字・数字・スペース・記号（）－．／で入力してください。"
NAME_TOO_LONG = "{label}は{limit}文字以内（半角換算）で入力してください。"


class ZenginNameError(ValueError):
    def __init__(self, message: str, char: str = "") -> None:
        self.message = message
        self.char = char
        super().__init__(message)


def _convert(text: str) -> str:
    value = unicodedata.normalize("NFD", text)
    # half-width small kana (ｧ) made full-width first: the library enlarges full-width ones
    value = jaconv.enlarge_smallkana(jaconv.hira2kata(jaconv.h2z(value, kana=True)))
    value = jaconv.z2h(value, kana=True, ascii=True, digit=True)
    value = value.replace("\u3000", " ").translate(VOICED_MARKS)
    return value.upper().translate(_DASH_TABLE)


def zengin_normalize(text: str) -> str:
    """The normalised form of ``text`` (no check of the character set)."""
    return re.sub(r" +", " ", _convert(text or "")).strip()


def _shown(char: str) -> str:
    return char if unicodedata.category(char)[0] not in "CZ" else f"U+{ord(char):04X}"


def zengin_name(text: str, *, label: str = "名義", limit: int = 48) -> str:
    """``text`` in the Zengin set, or ZenginNameError naming the first bad character."""
    value = zengin_normalize(text)
    if not value:
        raise ZenginNameError(NAME_EMPTY.format(label=label))
    for char in text:
        # name the character as the customer typed it (、 rather than its half-width ､)
        if any(not ALLOWED.fullmatch(converted) for converted in _convert(char)):
            raise ZenginNameError(NAME_BAD_CHARACTER.format(label=label, char=_shown(char)), _shown(char))
    for char in value:
        if not ALLOWED.fullmatch(char):
            raise ZenginNameError(NAME_BAD_CHARACTER.format(label=label, char=_shown(char)), _shown(char))
    if len(value) > limit:
        raise ZenginNameError(NAME_TOO_LONG.format(label=label, limit=limit))
    return value


def zengin_kana(text: str) -> str:
    """Zengin half-width kana of a name from the code list (full-width katakana)."""
    return zengin_normalize(text)


def half_width_digits(value: str) -> str:
    """Full-width digits, commas and spaces → half-width; blanks trimmed."""
    return normalise_digits(value)
