"""Input for 入出金明細照会 (ACCT-2) and its CSV download (ACCT-3).

Dates and counts may be typed in full-width digits (on a smartphone the date is a text
field): full-width input is made half-width first, then parsed. Every refusal is a Japanese message
on the field, never a 500. The statement's query is parsed by a plain class of its own
(``StatementQueryInput``), not a Django form (issue 14); admin's 臨時休業日 form is a Django form.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms

from cosei_ib import bankcalendar
from cosei_ib.textinput import ascii_int, customer_text, normalise_digits

from .models import BankClosingDay
from .selectors import (
    MODE_COUNT,
    MODE_DATE,
    MODE_PERIOD,
    STATEMENT_COUNTS,
    STATEMENT_RETENTION_MONTHS,
    StatementCursor,
    StatementQuery,
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
MESSAGE_ACCOUNT_REQUIRED = "口座を選択してください。"
MESSAGE_MODE_REQUIRED = "照会方法を選択してください。"

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


class DateRefused(ValueError):
    """A typed date that is no date: ``str()`` is the Japanese message, ``code`` its kind."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def parse_date(value, *, label: str, example: str) -> dt.date | None:
    """A calendar date typed or picked: YYYY-MM-DD, YYYY/M/D, YYYY.MM.DD or YYYYMMDD, in
    any width; None for nothing typed; else ``DateRefused`` saying, with ``example`` (a
    date written as the customer types one), how to write it, or that no such day exists."""
    text = normalise(value if isinstance(value, str) else "")
    if not text:
        return None
    match = _DATE_SEPARATED.fullmatch(text) or _DATE_COMPACT.fullmatch(text)
    if match is None:
        raise DateRefused(MESSAGE_DATE_FORMAT.format(label=label, example=example), "format")
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:  # 2026-02-30, month 13 …
        raise DateRefused(MESSAGE_DATE_NONEXISTENT.format(label=label), "nonexistent") from None


class JapaneseDateField(forms.Field):
    """``parse_date`` as a form field (the 臨時休業日 form of admin). ``example`` is the
    date the format message shows: the form's, else today — never a fixed date, which is
    soon in the past (walk22)."""

    _example = ""

    @property
    def example(self) -> str:
        return self._example or slash_date(bankcalendar.local_now().date())

    @example.setter
    def example(self, value: str) -> None:
        self._example = value

    def to_python(self, value):
        try:
            return parse_date(value, label=self.label, example=self.example)
        except DateRefused as refused:
            raise forms.ValidationError(str(refused), code=refused.code) from None


def _date_widget(smartphone: bool, *, example: str) -> forms.Widget:
    """A Django form's date widget (transfers' 振込日); ``StatementQueryInput``'s dates are
    written by its template with the same attributes."""
    if smartphone:
        # shown as the hint asks the customer to type it: 2026/03/05 (``example``)
        return forms.DateInput(format="%Y/%m/%d", attrs={
            "inputmode": "numeric", "autocomplete": "off", "placeholder": f"例：{example}",
            "pattern": _PHONE_DATE_PATTERN, "maxlength": "10",
        })
    # PC: the browser's calendar picker. The value it submits is YYYY-MM-DD.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _Messages(dict):
    """A field's message, or None for a field without one (the template asks each)."""

    def __missing__(self, name: str) -> None:
        return None


class StatementQueryInput:
    """The query of 入出金明細照会 (ACCT-2), parsed from ``request.GET`` without Django's
    forms: on the page's every view the form and its nine widgets cost about as much CPU
    as the rest of the request (bench/RESULTS.md, issue 14). The rules are those of the
    Django form it replaces (``StatementForm``, up to session 30), field by field in its order:

    - ``account`` (required): one of ``accounts``' ids exactly as written (the view has
      already refused, with a 404 and an audit row, an id that is not the customer's; a
      ``007`` it took is still no choice here);
    - ``mode`` (required): 日付指定, 期間指定 or 件数指定;
    - ``date``, ``date_from``, ``date_to``: a date in any width (``parse_date``),
      each parsed whatever the mode; the mode's own dates required, not in the future,
      not before the retention start; the period not reversed;
    - ``count``: 10/20/50/100 in any width, required for 件数指定; ``order``: desc/asc;
      ``cursor``: a ``StatementCursor`` (the page after the first).

    A refusal is one Japanese message per field (``errors``); a parameter given twice
    counts with its last value. ``values`` is what each field shows: what was sent, as
    sent, or else the first view's defaults (the first account, 期間指定 from the 1st of
    the month to today, 10件, 新しい順), the dates as the field is typed on this device.
    ``jinja2/accounts/statements.html`` renders the fields."""

    LABELS = {"account": "口座", "mode": "照会方法", "date": "照会日", "date_from": "開始日", "date_to": "終了日",
              "count": "件数", "order": "並び順"}
    NAMES = ("account", "mode", "date", "date_from", "date_to", "count", "order", "cursor")
    MODES = frozenset(choice for choice, _ in MODE_CHOICES)
    ORDERS = frozenset(choice for choice, _ in ORDER_CHOICES)
    MODE_CHOICES = MODE_CHOICES
    ORDER_CHOICES = ORDER_CHOICES
    COUNT_CHOICES = [(str(n), f"最新{n}件") for n in STATEMENT_COUNTS]
    PHONE_DATE_PATTERN = _PHONE_DATE_PATTERN

    def __init__(self, data=None, *, accounts, today: dt.date, smartphone: bool, account=None):
        """``data``: the query parameters (a QueryDict or a dict), None for the first view;
        ``account``: the account the first view shows (else the first of ``accounts``)."""
        self.today = today
        self.smartphone = smartphone
        self.example = slash_date(today)  # a date the query accepts, as it is typed (walk22)
        self.oldest = retention_start(today)
        self.min_date, self.max_date = self.oldest.isoformat(), today.isoformat()  # the calendar's
        self.account_choices = [(str(a.pk), account_label(a)) for a in accounts]
        self.errors = _Messages()
        self.top_errors: list[str] = []  # said above the form (a refused 文字コード)
        self.cleaned: dict = {}
        self.is_bound = data is not None
        if data is None:
            shown = "%Y/%m/%d" if smartphone else "%Y-%m-%d"
            first = account.pk if account is not None else (accounts[0].pk if accounts else None)
            self.values = {"account": None if first is None else str(first), "mode": MODE_PERIOD,
                           "date": f"{today:{shown}}", "date_from": f"{today.replace(day=1):{shown}}",
                           "date_to": f"{today:{shown}}", "count": "10", "order": "desc", "cursor": None}
            return
        self.values = {name: data.get(name) for name in self.NAMES}
        self._parse(data)

    def is_valid(self) -> bool:
        return self.is_bound and not self.errors and not self.top_errors

    # --- the rules, in the order the form applied them -------------------------------

    def _parse(self, data) -> None:
        values, cleaned, errors = self.values, self.cleaned, self.errors
        account = values["account"] or ""
        if not account:
            errors["account"] = MESSAGE_ACCOUNT_REQUIRED
        elif any(account == choice for choice, _ in self.account_choices):
            cleaned["account"] = int(account)
        else:
            errors["account"] = MESSAGE_CHOICE.format(label="口座")
        mode = values["mode"] or ""
        if not mode:
            errors["mode"] = MESSAGE_MODE_REQUIRED
        elif mode in self.MODES:
            cleaned["mode"] = mode
        else:
            errors["mode"] = MESSAGE_CHOICE.format(label="照会方法")
        for name in ("date", "date_from", "date_to"):
            try:
                cleaned[name] = parse_date(values[name], label=self.LABELS[name], example=self.example)
            except DateRefused as refused:
                errors[name] = str(refused)
        count = normalise((values["count"] or "").strip())
        if not count:
            cleaned["count"] = None
        else:  # a NUL, thousands of digits, 7: the same message
            number = ascii_int(count, max_digits=len(str(max(STATEMENT_COUNTS))))  # length before int()
            if number in STATEMENT_COUNTS:
                cleaned["count"] = number
            else:
                errors["count"] = MESSAGE_COUNT.format(choices=COUNT_CHOICES_TEXT)
        order = values["order"] or ""
        if order and order not in self.ORDERS:
            errors["order"] = MESSAGE_CHOICE.format(label="並び順")
        else:
            cleaned["order"] = order != "asc"  # True for newest first (the default)
        cursor = (values["cursor"] or "").strip()
        try:
            cleaned["cursor"] = StatementCursor.decode(cursor) if cursor else None
        except (ValueError, OverflowError):  # a NUL too
            errors["cursor"] = MESSAGE_CURSOR
        mode = cleaned.get("mode")
        if mode == MODE_DATE:
            self._check_day("date")
        elif mode == MODE_PERIOD:
            self._check_day("date_from")
            self._check_day("date_to")
            start, end = cleaned.get("date_from"), cleaned.get("date_to")
            if start and end and end < start and "date_to" not in errors:
                self._refuse("date_to", MESSAGE_PERIOD_ORDER)
        elif mode == MODE_COUNT and cleaned.get("count") is None and "count" not in errors:
            self._refuse("count", MESSAGE_COUNT.format(choices=COUNT_CHOICES_TEXT))

    def _refuse(self, name: str, message: str) -> None:
        self.errors[name] = message
        self.cleaned.pop(name, None)

    def _check_day(self, name: str) -> None:
        day = self.cleaned.get(name)
        label = self.LABELS[name]
        if day is None:
            if name not in self.errors:
                self._refuse(name, MESSAGE_REQUIRED.format(label=label))
        elif day > self.today:
            self._refuse(name, MESSAGE_DATE_FUTURE.format(label=label))
        elif day < self.oldest:
            self._refuse(name, MESSAGE_DATE_TOO_OLD.format(
                label=label, start=japanese_date(self.oldest), months=STATEMENT_RETENTION_MONTHS,
            ))

    def query(self, account) -> StatementQuery:
        """The valid query on ``account`` (the view's, which is the one chosen)."""
        cleaned = self.cleaned
        mode = cleaned["mode"]
        return StatementQuery(
            account=account,
            mode=mode,
            start={MODE_DATE: cleaned["date"], MODE_PERIOD: cleaned["date_from"]}.get(mode),
            end=cleaned["date_to"] if mode == MODE_PERIOD else None,
            count=cleaned["count"] if mode == MODE_COUNT else None,
            newest_first=cleaned["order"],
        )


class StatementDownloadInput(StatementQueryInput):
    """The same query plus the file's encoding (ACCT-3): cp932 unless UTF-8 is chosen. The
    page shows no 文字コード field (the choice sits beside the download button): a refused
    encoding is said at the top, or the customer would see no reason."""

    ENCODINGS = frozenset(choice for choice, _ in ENCODING_CHOICES)

    def _parse(self, data) -> None:
        super()._parse(data)
        encoding = data.get("encoding") or ""
        if encoding and encoding not in self.ENCODINGS:
            self.top_errors.append(MESSAGE_CHOICE.format(label="文字コード"))
        else:
            self.cleaned["encoding"] = encoding or "sjis"


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
