"""ACCT-1/2: the statement's own ``|yen`` and ``|slash_date`` filters write what
``intcomma`` and ``date:"Y/m/d"`` wrote (issue 14 replaced those for speed), and never fail
a page on a value they were not meant for."""

import datetime as dt
import re
import zoneinfo
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import timezone

pytestmark = pytest.mark.django_db  # rendering needs no database, but the settings do

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def _render(source: str, **context) -> str:
    return Template("{% load humanize accounts_format %}" + source).render(Context(context))


@pytest.mark.parametrize("amount", [0, 7, 999, 1_000, -1_234_567, 10**18])
def test_yen_writes_what_intcomma_wrote(amount):
    assert _render("{{ v|yen }}", v=amount) == _render("{{ v|intcomma }}円", v=amount)


@pytest.mark.parametrize("value", [None, "", "1234", 1.5])
def test_yen_renders_nothing_for_what_is_not_yen(value):
    assert _render("[{{ v|yen }}]", v=value) == "[]"


@pytest.mark.parametrize("moment", [
    dt.date(2026, 3, 5),
    dt.datetime(2026, 12, 31, 15, 30, tzinfo=dt.timezone.utc),  # 2027-01-01 in Tokyo
    dt.datetime(2026, 12, 31, 23, 59, tzinfo=TOKYO),
])
def test_slash_date_writes_what_date_wrote_in_tokyo(moment):
    with timezone.override(TOKYO):
        assert _render("{{ v|slash_date }}", v=moment) == _render('{{ v|date:"Y/m/d" }}', v=moment)


@pytest.mark.parametrize("value", [None, "", "2026-03-05"])
def test_slash_date_renders_nothing_for_what_is_not_a_date(value):
    assert _render("[{{ v|slash_date }}]", v=value) == "[]"


JAPANESE_DATE_FILTERS = [("japanese_date", "Y年n月j日"), ("japanese_minute", "Y年n月j日 H:i"), ("month_day", "n月j日")]


@pytest.mark.parametrize("name, date_format", JAPANESE_DATE_FILTERS)
@pytest.mark.parametrize("value", [
    dt.date(2026, 3, 5), dt.date(2026, 12, 31), dt.date(987, 1, 1),
    dt.datetime(2026, 3, 5, 0, 0, tzinfo=TOKYO),
    dt.datetime(2026, 3, 5, 9, 5, tzinfo=TOKYO),
    dt.datetime(2026, 12, 31, 15, 30, tzinfo=dt.timezone.utc),  # 2027-01-01 00:30 in Tokyo
    dt.datetime(2026, 11, 10, 23, 59, 59, tzinfo=TOKYO),
    None, "", "2026-03-05", 20260305,
])
def test_japanese_dates_write_what_date_wrote_in_tokyo(name, date_format, value):
    """ACCT-1/2, issue 14: 残高照会's, the statement's and the layout's dates."""
    if name == "japanese_minute" and type(value) is dt.date:
        # ``date`` raises TypeError (a time format on a date) and fails the page
        assert _render("[{{ v|japanese_minute }}]", v=value) == "[]"
        return
    with timezone.override(TOKYO):
        assert (_render(f"[{{{{ v|{name} }}}}]", v=value)
                == _render(f'[{{{{ v|date:"{date_format}" }}}}]', v=value))


def test_no_code_writes_a_zero_padded_japanese_date():
    """UI-1: mails, messages and 取引履歴 wrote 「2026年12月07日」 (``%m月%d日``) while every
    page writes 「2026年12月7日」; Python code writes a Japanese date with ``japanese_date``
    or ``month_day`` (and ``%-m`` is glibc's only)."""
    root = Path(__file__).resolve().parents[2]
    padded = re.compile(r"%-?[md][月日]")
    packages = ("accounts", "cosei_ib", "notifications", "payeasy", "security", "transfers")
    found = [f"{path.relative_to(root)}:{number}"
             for package in packages
             for path in sorted((root / package).rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if padded.search(line)]
    assert found == []


@pytest.mark.parametrize("value, rendered", [
    ("50,000円 → 2,000,000円（2026年12月07日 0:00より）",
     '50,000円 → 2,000,000円<span class="keep-together">（2026年12月7日 0:00より）</span>'),
    ("<b>振込日 2027年2月5日</b>",
     '&lt;b&gt;振込日 <span class="keep-together">2027年2月5日</span>&lt;/b&gt;'),
    ("#3 ｻﾄｳ ﾊﾅｺ 12,345円 振込日2026-12-08",
     '#3 ｻﾄｳ ﾊﾅｺ 12,345円 振込日<span class="keep-together">2026年12月8日</span>'),
    ("確認ID dd9d1216-1b3b-4918-abc8-9c38e2ea8505", "確認ID dd9d1216-1b3b-4918-abc8-9c38e2ea8505"),
    ("ログイン", "ログイン"), ("", ""), (None, ""),
])
def test_dates_kept_whole_escapes_the_text_and_writes_dates_as_japanese_date(value, rendered):
    """UI-1: 取引履歴's 内容 keeps a date on one line and unpads the rows written before."""
    assert _render("{{ v|dates_kept_whole }}", v=value) == rendered


# The loop statements.html wrote its rows with until issue 14's statement_rows: the filter
# must write the same bytes, every cell escaped as Jinja2's autoescaping escapes it.
_ROWS_LOOP = """{% for row in rows %}
      <tr>
        <td data-label="日付">{{ row.date_text }}</td>
        <td data-label="摘要" class="description">{{ row.description }}</td>
        <td data-label="お引出し" class="num">{{ row.withdrawal_text }}</td>
        <td data-label="お預入れ" class="num">{{ row.deposit_text }}</td>
        <td data-label="残高" class="num">{{ row.balance_text }}</td>
      </tr>
    {% endfor %}"""


@pytest.mark.parametrize("descriptions", [
    [],
    ["給与 コウセイシヨウジ"],
    ['<script>alert("x")</script>', "A&B 'q' \"dq\"", "", "&amp; <b>", "摘要\u3000全角", "</td></tr><tr>"],
    ["NUL\0inside", "<i>", "two\0\0NULs"],  # no PostgreSQL text holds one: each cell escaped alone then
])
def test_statement_rows_writes_what_the_template_loop_wrote(descriptions):
    """ACCT-2 (issue 14): the rows as the Jinja2 loop wrote them, byte for byte; the 摘要
    (anything a payer wrote) escaped, never markup."""
    from django.template import engines
    from markupsafe import Markup, escape

    from accounts.selectors import StatementRow
    from accounts.templatetags.accounts_format import statement_rows

    rows = [StatementRow(index, 1_765_000_000_000_000 + index, text, amount, 10_000 + index,
                         -amount if amount < 0 else None, amount if amount > 0 else None, "2026/12/07",
                         f"{-amount:,}円" if amount < 0 else "", f"{amount:,}円" if amount > 0 else "",
                         f"{10_000 + index:,}円")
            for index, (text, amount) in enumerate(zip(descriptions, [3_000, -1_500, 20_000] * 3))]
    written = statement_rows(rows)
    assert isinstance(written, Markup)
    assert written == engines["jinja2"].from_string(_ROWS_LOOP).render({"rows": rows})
    assert written.count("<tr>") == len(rows) and written.count("<td ") == 5 * len(rows)
    for text in descriptions:
        assert f'class="description">{escape(text)}</td>' in written
