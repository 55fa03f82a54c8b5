"""How accounts are named on screen (one place, so every page says the same)."""

from __future__ import annotations

import datetime as dt
import re

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from markupsafe import Markup
from markupsafe import escape as markup_escape

register = template.Library()


@register.filter
def branch_label(branch) -> str:
    """「梅田支店」 but 「本店営業部」: Zengin names of head-office units carry their own
    suffix; other branch names get 支店."""
    name = getattr(branch, "name", branch) or ""
    return name if name.endswith(("部", "店", "支所", "出張所")) else f"{name}支店"


def payee_place(bank_name: str, branch_name: str) -> str:
    """「池田泉州銀行 貝塚支店」, 「大阪厚生信金 大淀支店」: a payee's bank and branch as the
    stored transfer or payee names them, the branch spelled as ``branch_label`` spells ours
    (walk27 F11: the payer read 「大淀」 where the payee's notice and the balances read
    「大淀支店」)."""
    return f"{bank_name} {branch_label(branch_name)}"


_TYPE_LABELS: dict[str, str] = {}


def account_type_label(account) -> str:
    """「普通」: ``account.get_type_display()``, looked up once per type — Django rebuilds the
    field's choices on every call, ~10 µs of ``account_label``'s ~13 µs (issue 14)."""
    try:
        return _TYPE_LABELS[account.type]
    except KeyError:
        return _TYPE_LABELS.setdefault(account.type, account.get_type_display())


@register.filter
def account_label(account) -> str:
    """「大淀支店 普通 ***4567」: branch, type and the masked number (last four digits)."""
    return f"{branch_label(account.branch)} {account_type_label(account)} {account.masked_number}"


@register.filter(is_safe=True)
def yen(amount: int) -> str:
    """「1,234,567円」: integer yen with thousands separators, as ``intcomma`` writes them
    for Japanese, without the locale machinery (called for every figure of a statement).
    Anything but an int (None, a string) renders as nothing rather than failing the page."""
    return f"{amount:,}円" if isinstance(amount, int) else ""


@register.filter(is_safe=True, expects_localtime=True)
def slash_date(moment) -> str:
    """「2026/03/05」, the statement's date column: the local date (the template engine
    converts an aware datetime to the local time first, as for ``date``). Anything but a
    date renders as nothing, as ``date`` does."""
    return f"{moment:%Y/%m/%d}" if isinstance(moment, dt.date) else ""


# The pages' Japanese dates, as ``date:"Y年n月j日"``, ``date:"Y年n月j日 H:i"`` and
# ``date:"n月j日"`` write them (same text, local time first), without Django's DateFormat:
# 残高照会 shows six of them and every customer page one (前回ログイン), each ~45 µs of CPU
# through ``date`` (issue 14). Anything else renders as nothing, as ``date`` does; a time
# format on a date without a time too. tests/accounts/test_format_filters.py compares them.

@register.filter(is_safe=True, expects_localtime=True)
def japanese_date(moment) -> str:
    """「2026年3月5日」."""
    return f"{moment.year:04d}年{moment.month}月{moment.day}日" if isinstance(moment, dt.date) else ""


@register.filter(is_safe=True, expects_localtime=True)
def japanese_minute(moment) -> str:
    """「2026年3月5日 09:05」."""
    if not isinstance(moment, dt.datetime):
        return ""
    return f"{moment.year:04d}年{moment.month}月{moment.day}日 {moment.hour:02d}:{moment.minute:02d}"


@register.filter(is_safe=True, expects_localtime=True)
def month_day(moment) -> str:
    """「3月5日」."""
    return f"{moment.month}月{moment.day}日" if isinstance(moment, dt.date) else ""


_ISO_DATE_IN_TEXT = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")
_DATE_IN_TEXT = re.compile(r"(（?)(\d{4})年(\d{1,2})月(\d{1,2})日( \d{1,2}:\d{2}(?:より|から)?)?(）?)")


@register.filter(needs_autoescape=True)
def dates_kept_whole(text, autoescape=True) -> str:
    """``text`` (an audit summary) with each Japanese date in it — with its time
    「 0:00より」 and its brackets 「（…）」 — kept on one line (``.keep-together``): a
    narrow column broke 「2026年12 / 月7日」 (UI-1). A date written zero-padded, as rows
    before session 21 were, reads 「2026年12月7日」 like ``japanese_date``'s, and so does one
    written 「2026-12-07」 (振込予約 and its cancels until session 21: 「振込日2026-12-08」)."""
    escape = conditional_escape if autoescape else str
    text = _ISO_DATE_IN_TEXT.sub(r"\1年\2月\3日", "" if text is None else str(text))
    parts, at = [], 0
    for match in _DATE_IN_TEXT.finditer(text):
        opening, year, month, day, time, closing = match.groups()
        parts.append(escape(text[at:match.start()]))
        parts.append(format_html('<span class="keep-together">{}{}年{}月{}日{}{}</span>',
                                 opening, year, int(month), int(day), time or "", closing))
        at = match.end()
    parts.append(escape(text[at:]))
    return mark_safe("".join(parts))  # noqa: S308 - every part escaped above


def statement_rows(rows) -> Markup:
    """The rows of the statement's table (jinja2/accounts/statements.html) as its loop
    wrote them, byte for byte, from ``accounts.selectors.StatementRow``s: the template's
    loop cost ~60 µs a page of 20 rows — per cell an attribute lookup, the environment's
    ``finalize``, an escape with its ``Markup`` and a yield through three generators — and
    this ~12 µs (issue 14).

    Every cell is escaped by markupsafe's ``escape``, the function of Jinja2's
    autoescaping (the same text): the 摘要 above all, which holds whatever a payer wrote.
    The cells are escaped in one call, joined by NUL, which no cell holds (PostgreSQL's
    text cannot; the others are dates and yen the selector wrote); were one to hold it,
    the split would not give back as many cells, and each is escaped alone."""
    cells = [cell for row in rows
             for cell in (row.date_text, row.description, row.withdrawal_text, row.deposit_text, row.balance_text)]
    escaped = str(markup_escape("\0".join(cells))).split("\0")
    if len(escaped) != len(cells):
        escaped = [str(markup_escape(cell)) for cell in cells]
    return Markup("".join([  # noqa: S704 - every cell escaped above
        f'\n      <tr>\n        <td data-label="日付">{date}</td>\n'
        f'        <td data-label="摘要" class="description">{description}</td>\n'
        f'        <td data-label="お引出し" class="num">{withdrawal}</td>\n'
        f'        <td data-label="お預入れ" class="num">{deposit}</td>\n'
        f'        <td data-label="残高" class="num">{balance}</td>\n      </tr>\n    '
        for date, description, withdrawal, deposit, balance in zip(*[iter(escaped)] * 5)
    ]))
