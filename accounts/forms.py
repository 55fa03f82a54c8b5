"""Input for 入出金明細照会 (ACCT-2) and its CSV download (ACCT-3).

Dates and counts may be typed in full-width digits (on a smartphone the date is a text
field): full-width input is made half-width first, then parsed. Every refusal is a Japanese message
on the field, never a 500.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms

from cosei_ib import bankcalendar
from cosei_ib.form_renderer import widget_renderer
from cosei_ib.textinput import ascii_int, customer_text, normalise_digits

from .models import BankClosingDay
from .selectors import (
    MODE_COUNT,
    MODE_DATE,
    MODE_PERIOD,
    STATEMENT_COUNTS,
    STATEMENT_RETENTION_MONTHS,
    StatementCursor,
    retention_start,
)
from .services import bank_closing_day_problem
from .templatetags.accounts_format import account_label, japanese_date, slash_date

MESSAGE_REQUIRED = "{label}を入力してください。"
MESSAGE_DATE_FORMAT = "{label}は「{example}」のように年・月・日を数字で入力してください。"
MESSAGE_DATE_NONEXISTENT = "{label}に存在しない日付が入力されています。"
MESSAGE_DATE_FUTURE = "{label}に未来の日付は指定できません。"
MESSAGE_DATE_TOO_OLD = "{label}には{start}以降の日付を指定してください（照会できるのは{months}か月前までです）。"
MESSAGE_PERIOD_ORDER = "終了日には開始日以降の日付を指定してください。"
MESSAGE_COUNT = "件数は{choices}件のいずれかを選択してください。"
COUNT_CHOICES_TEXT = "・".join(str(n) for n in STATEMENT_COUNTS)
MESSAGE_CHOICE = "{label}の指定が正しくありません。"
MESSAGE_CURSOR = "ページの指定が正しくありません。最初のページから照会してください。"

MODE_CHOICES = [(MODE_DATE, "日付指定"), (MODE_PERIOD, "期間指定"), (MODE_COUNT, "件数指定")]
ORDER_CHOICES = [("desc", "新しい順"), ("asc", "古い順")]
ENCODING_CHOICES = [("sjis", "Shift_JIS（Excel向け）"), ("utf8", "UTF-8（BOM付き）")]

# 2026-03-05, 2026/3/5, 2026.03.05 or 20260305, after NFKC (full-width → half-width).
_DATE_SEPARATED = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
# Smartphones get a plain text field (no calendar picker, UI-1); the pattern admits what
# the server accepts, full-width digits included.
_PHONE_DATE_PATTERN = r"[0-9０-９\/／\-－.．]{8,10}"


def normalise(value: str) -> str:
    """Full-width digits and punctuation → ASCII; surrounding spaces dropped."""
    return normalise_digits(value)


class JapaneseDateField(forms.Field):
    """A calendar date typed or picked; YYYY-MM-DD, YYYY/M/D or YYYYMMDD, any width.
    ``example`` is the date the format message (and a phone's placeholder and hint) shows,
    as it is typed: a form names a date that fits it, else today — never a fixed date,
    which is soon in the past (walk22)."""

    _example = ""

    @property
    def example(self) -> str:
        return self._example or slash_date(bankcalendar.local_now().date())

    @example.setter
    def example(self, value: str) -> None:
        self._example = value

    def to_python(self, value):
        text = normalise(value if isinstance(value, str) else "")
        if not text:
            return None
        match = _DATE_SEPARATED.fullmatch(text) or _DATE_COMPACT.fullmatch(text)
        if match is None:
            raise forms.ValidationError(MESSAGE_DATE_FORMAT.format(label=self.label, example=self.example),
                                        code="format")
        try:
            return dt.date(*(int(part) for part in match.groups()))
        except ValueError:  # 2026-02-30, month 13 …
            raise forms.ValidationError(
                MESSAGE_DATE_NONEXISTENT.format(label=self.label), code="nonexistent"
            ) from None


def _date_widget(smartphone: bool, *, example: str) -> forms.Widget:
    if smartphone:
        # shown as the hint asks the customer to type it: 2026/03/05 (``example``)
        return forms.DateInput(format="%Y/%m/%d", attrs={
            "inputmode": "numeric", "autocomplete": "off", "placeholder": f"例：{example}",
            "pattern": _PHONE_DATE_PATTERN, "maxlength": "10",
        })
    # PC: the browser's calendar picker. The value it submits is YYYY-MM-DD.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StatementForm(forms.Form):
    """The query of 入出金明細照会. ``account`` is resolved by the view (which refuses,
    with a 404 and an audit row, an id that is not the customer's); here it is a choice
    among the customer's accounts for the select box."""

    default_renderer = widget_renderer  # its widgets without the widget templates (issue 14)

    account = forms.TypedChoiceField(label="口座", coerce=int)
    mode = forms.ChoiceField(label="照会方法", choices=MODE_CHOICES, widget=forms.RadioSelect,
                             initial=MODE_PERIOD)
    date = JapaneseDateField(label="照会日", required=False)
    date_from = JapaneseDateField(label="開始日", required=False)
    date_to = JapaneseDateField(label="終了日", required=False)
    # a NUL in a parameter says what the field's own check says (walk26 F11: Django's
    # Japanese for it is 「何か文字を入力してください。」)
    count = forms.CharField(label="件数", required=False,
                            widget=forms.Select(choices=[(n, f"最新{n}件") for n in STATEMENT_COUNTS]),
                            error_messages={"null_characters_not_allowed":
                                            MESSAGE_COUNT.format(choices=COUNT_CHOICES_TEXT)})
    order = forms.ChoiceField(label="並び順", choices=ORDER_CHOICES, initial="desc", required=False)
    cursor = forms.CharField(required=False, widget=forms.HiddenInput,
                             error_messages={"null_characters_not_allowed": MESSAGE_CURSOR})

    def __init__(self, *args, accounts, today: dt.date, smartphone: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["account"].choices = [
            (a.pk, account_label(a)) for a in accounts
        ]
        for name in ("date", "date_from", "date_to"):
            self.fields[name].example = slash_date(today)  # a date the query accepts
            self.fields[name].widget = _date_widget(smartphone, example=self.fields[name].example)
            if not smartphone:
                self.fields[name].widget.attrs.update(
                    min=retention_start(today).isoformat(), max=today.isoformat()
                )
        self.fields["account"].error_messages["invalid_choice"] = MESSAGE_CHOICE.format(label="口座")
        self.fields["account"].error_messages["required"] = "口座を選択してください。"
        self.fields["mode"].error_messages["invalid_choice"] = MESSAGE_CHOICE.format(label="照会方法")
        self.fields["mode"].error_messages["required"] = "照会方法を選択してください。"
        self.fields["order"].error_messages["invalid_choice"] = MESSAGE_CHOICE.format(label="並び順")

    def clean_count(self) -> int | None:
        text = normalise(self.cleaned_data.get("count") or "")
        if not text:
            return None
        count = ascii_int(text, max_digits=len(str(max(STATEMENT_COUNTS))))  # length before int()
        if count not in STATEMENT_COUNTS:
            raise forms.ValidationError(
                MESSAGE_COUNT.format(choices=COUNT_CHOICES_TEXT), code="count"
            )
        return count

    def clean_order(self) -> bool:
        """True for newest first (the default)."""
        return self.cleaned_data.get("order") != "asc"

    def clean_cursor(self) -> StatementCursor | None:
        text = self.cleaned_data.get("cursor") or ""
        if not text:
            return None
        try:
            return StatementCursor.decode(text)
        except (ValueError, OverflowError):
            raise forms.ValidationError(MESSAGE_CURSOR, code="cursor") from None

    def _check_day(self, name: str) -> None:
        day = self.cleaned_data.get(name)
        if day is None:
            if name not in self.errors:
                self.add_error(name, MESSAGE_REQUIRED.format(label=self.fields[name].label))
            return
        label = self.fields[name].label
        if day > self.today:
            self.add_error(name, MESSAGE_DATE_FUTURE.format(label=label))
        elif day < retention_start(self.today):
            self.add_error(name, MESSAGE_DATE_TOO_OLD.format(
                label=label, start=japanese_date(retention_start(self.today)),
                months=STATEMENT_RETENTION_MONTHS,
            ))

    def clean(self):
        cleaned = super().clean()
        mode = cleaned.get("mode")
        if mode == MODE_DATE:
            self._check_day("date")
        elif mode == MODE_PERIOD:
            self._check_day("date_from")
            self._check_day("date_to")
            start, end = cleaned.get("date_from"), cleaned.get("date_to")
            if start and end and end < start and "date_to" not in self.errors:
                self.add_error("date_to", MESSAGE_PERIOD_ORDER)
        elif mode == MODE_COUNT and cleaned.get("count") is None and "count" not in self.errors:
            self.add_error("count", MESSAGE_COUNT.format(choices=COUNT_CHOICES_TEXT))
        return cleaned


class StatementDownloadForm(StatementForm):
    """The same query plus the file's encoding (cp932 unless UTF-8 is chosen)."""

    encoding = forms.ChoiceField(label="文字コード", choices=ENCODING_CHOICES, required=False)

    def clean_encoding(self) -> str:
        return self.cleaned_data.get("encoding") or "sjis"

    def clean(self):
        """The page shows no 文字コード field (the choice sits beside the download button):
        a refused encoding is said at the top, or the customer would see no reason."""
        cleaned = super().clean()
        if "encoding" in self._errors:
            del self._errors["encoding"]
            self.add_error(None, MESSAGE_CHOICE.format(label="文字コード"))
        return cleaned


CLOSING_DAY_NAME_LABEL = "お客さま向けの名称"
CLOSING_DAY_NAME_HELP = ("お客さまの画面にそのまま表示されます（例：「2026年12月10日は当金庫の臨時休業日（システム更改）の"
                         "ため、振込日に指定できません。」）。お客さまにお見せできる名称だけを入力し、社内の事情やメモは"
                         "書かないでください。")
CLOSING_DAY_NAME_REQUIRED = f"{CLOSING_DAY_NAME_LABEL}を入力してください。"


class BankClosingDayForm(forms.ModelForm):
    """A 臨時休業日 staff add in admin (STAFF-1, LEDGER-6): a future day within about two
    years that is not already closed (``services.bank_closing_day_problem``)."""

    date = JapaneseDateField(
        label="日付", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "日付を入力してください。"},
        help_text="土曜・日曜・祝日（国民の祝日・振替休日）と年末年始（12月31日～1月3日）は"
                  "組み込みの休業日です。ここにはそれ以外に当金庫が休業する日を登録します。",
    )

    class Meta:
        model = BankClosingDay
        fields = ["date", "name"]
        # walk26 F8: customers read the name word for word (「2026年12月10日は当金庫の臨時休業日
        # （<名称>）のため…」, bankcalendar.closed_reason); 「名称・理由」 invited internal notes
        labels = {"name": CLOSING_DAY_NAME_LABEL}
        help_texts = {"name": CLOSING_DAY_NAME_HELP}
        error_messages = {"name": {"required": CLOSING_DAY_NAME_REQUIRED,
                                   "max_length": f"{CLOSING_DAY_NAME_LABEL}は64文字以内で入力してください。"}}

    def clean_date(self):
        day = self.cleaned_data["date"]
        problem = bank_closing_day_problem(day, today=bankcalendar.local_now().date())
        if problem:
            raise forms.ValidationError(problem, code="closing_day")
        return day

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(CLOSING_DAY_NAME_REQUIRED, code="required")
        return customer_text(name, label=CLOSING_DAY_NAME_LABEL)  # walk26 F7: page, mail, CSV

    def validate_unique(self):
        """The date's uniqueness is ``clean_date``'s (its message names the day) and, for
        two staff at once, the unique index's (the service says the same)."""
