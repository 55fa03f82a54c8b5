"""The shared readers of typed input (cosei_ib/textinput.py). parse_yen reads every amount of
yen a person types — 振込金額 and 利用限度額 (XFER-9), the Pay-easy open amount (PAY-1), the
counter's 入金 (STAFF-1) — so the three apps refuse the same slips with their own message."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cosei_ib import textinput
from cosei_ib.textinput import parse_yen

MESSAGES = {"required": "空", "negative": "負", "not_number": "数字で", "too_large": "大きすぎ"}


def _told(typed: str) -> str:
    with pytest.raises(ValidationError) as refused:
        parse_yen(typed, **MESSAGES)
    return refused.value.messages[0]


@pytest.mark.parametrize(("typed", "amount"), [
    ("1000", 1000), ("１０００", 1000), ("1,000", 1000), ("１，０００円", 1000), ("　12,345,678 円 ", 12_345_678),
    ("0", 0), ("0001", 1), ("9" * 12, 999_999_999_999), ("0" * 20 + "5", 5),
])
def test_amounts_people_type_are_read(typed, amount):
    assert parse_yen(typed, **MESSAGES) == amount


@pytest.mark.parametrize(("typed", "message"), [
    ("", "空"), ("　", "空"), ("円", "空"),
    (",", "数字で"), (",,", "数字で"),
    ("-100", "負"), ("−100", "負"), ("▲100", "負"), ("－１００", "負"),
    # a blank between digits is a slip: joined, 「1　1000」 was 11,000円
    ("1\u30001000", "数字で"), ("1 000", "数字で"),
    # only full-width digits are digits (⑤ and ¹⁰ are not)
    ("⑤000", "数字で"), ("¹⁰000", "数字で"), ("1e5", "数字で"), ("1\x00", "数字で"),
    # only a trailing 円
    ("12円345", "数字で"), ("円1000", "数字で"),
    # commas only as thousands separators (walk25 F15)
    *[(typed, "数字で") for typed in ["1,00,0", "1,00,00", "10000,000", ",1000", "1000,", "1,,000", "１，００，０"]],
    ("1" + "0" * 12, "大きすぎ"), ("9" * 5000, "大きすぎ"),
])
def test_slips_are_refused_with_the_callers_message(typed, message):
    assert _told(typed) == message


def test_every_form_reads_yen_with_the_one_parser():
    """walk33 F10: the counter's deposit (accounts admin) imported the parser from
    transfers.forms; all of its users take it from cosei_ib.textinput now."""
    import accounts.admin
    import payeasy.forms
    import transfers.forms

    for module in (accounts.admin, payeasy.forms, transfers.forms):
        assert module.parse_yen is textinput.parse_yen, module.__name__
    assert accounts.admin.yen_field is transfers.forms.yen_field is textinput.yen_field


@pytest.mark.parametrize(("typed", "kept"), [
    ("ｶﾞ" * 3, "ガガガ"), ("ﾊﾟﾊﾟ", "パパ"), ("ｳﾞｧｲｵﾘﾝ", "ヴァイオリン"), ("か\u3099", "が"), ("ｶ\u3099", "ガ"),
    ("ABC 123 ＡＢＣ", "ABC 123 ＡＢＣ"), ("大家さん", "大家さん"), ("ｰ｢｣･", "ー「」・"),
    ("ﾜﾞｲﾝ", "ヷイン"), ("ｦﾞ", "ヺ"), ("ﾞA", "゛A"), ("Aﾟ", "A゜"), ("\u3099", "゛"),
])
def test_a_display_name_is_kept_as_it_is_seen(typed, kept):
    """XFER-7, SEC-16 (probe34 F6): a half-width voiced kana is one character seen, two code
    points typed; display_name composes it (jaconv), and leaves letters and digits alone."""
    assert textinput.display_name(typed) == kept


@pytest.mark.parametrize(("typed", "nonexistent"), [
    ("2026-02-30", True), ("２０２６－０２－３０", True), ("2027/13/1", True), ("2027.4.31", True),
    ("2026-02-28", False), ("2026/02-30", False), ("来月1日", False), ("", False), (None, False),
])
def test_a_typed_date_of_no_day_is_told_apart_from_another_form(typed, nonexistent):
    """STAFF-1 (probe34 F7): 2026-02-30 is written as a date is, and names no day."""
    assert textinput.typed_date_nonexistent(typed) is nonexistent
