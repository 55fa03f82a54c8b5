"""入出金明細照会 (ACCT-2, ACCT-5, UI-1): by date, period and count, both orders, keyset
pagination, every invalid input answered in Japanese, own accounts only."""

from __future__ import annotations

import re
from html import unescape

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import selectors
from accounts.models import Account, Branch
from accounts.forms import JapaneseDateField, StatementDownloadInput, StatementQueryInput
from security.models import AuditEvent
from tests import factories
from tests.accounts.test_statements_support import IPHONE_UA, login, post, tokyo

pytestmark = pytest.mark.django_db

NOW = tokyo(2026, 3, 20, 10)
URL = "/accounts/statements/"
UNSAVED_ACCOUNTS = [Account(id=7 + index, branch=Branch(id=1, code="001", name="本店営業部"),
                            type=Account.Type.ORDINARY, number=f"123456{index}", customer_id=1)
                    for index in range(2)]


def rows_of(html: str) -> list[tuple[str, str, str, str, str]]:
    """(日付, 摘要, お引出し, お預入れ, 残高) of each table row."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [
        tuple(unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S))
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def next_link(html: str) -> str | None:
    match = re.search(r'<a class="button-secondary" href="([^"]+)" rel="next">', html)
    return unescape(match.group(1)) if match else None


@pytest.fixture
def history():
    """An account with entries on Mar 2, 3 (two), 5, 10 and 19, and one on Feb 27."""
    account = factories.account()
    post(account, 100_000, tokyo(2026, 2, 27, 9), "給与 コウセイシヨウジ")
    post(account, -3_000, tokyo(2026, 3, 2, 9), "カード")
    post(account, -1_500, tokyo(2026, 3, 3, 9), "振込 ヤマダ タロウ")
    post(account, 20_000, tokyo(2026, 3, 3, 18), "振込 サトウ ハナコ")
    post(account, -7_000, tokyo(2026, 3, 5, 11), "公共料金 デンキ")
    post(account, 500, tokyo(2026, 3, 10, 8), "利息")
    post(account, -12_345, tokyo(2026, 3, 19, 23, 59), "ATM")
    return account


@pytest.fixture
def travel():
    with time_machine.travel(NOW, tick=False):
        yield


def get(client, account, **params):
    return client.get(URL, {"account": account.pk, **params})


def test_by_one_date(client, history, travel):
    login(client, history.customer)
    response = get(client, history, mode="date", date="2026-03-03")
    assert response.status_code == 200
    assert rows_of(response.content.decode()) == [
        ("2026/03/03", "振込 サトウ ハナコ", "", "20,000円", "115,500円"),
        ("2026/03/03", "振込 ヤマダ タロウ", "1,500円", "", "95,500円"),
    ]
    assert "2026年3月3日の明細" in response.content.decode()


def test_by_period_newest_first_and_oldest_first(client, history, travel):
    login(client, history.customer)
    html = get(client, history, mode="period", date_from="2026-03-02", date_to="2026-03-10").content.decode()
    assert [row[1] for row in rows_of(html)] == [
        "利息", "公共料金 デンキ", "振込 サトウ ハナコ", "振込 ヤマダ タロウ", "カード"]
    html = get(client, history, mode="period", date_from="2026-03-02", date_to="2026-03-10",
               order="asc").content.decode()
    rows = rows_of(html)
    assert [row[1] for row in rows] == ["カード", "振込 ヤマダ タロウ", "振込 サトウ ハナコ", "公共料金 デンキ", "利息"]
    assert rows[0] == ("2026/03/02", "カード", "3,000円", "", "97,000円")
    assert "古い順" in html


def test_period_end_date_is_inclusive_to_midnight(client, history, travel):
    login(client, history.customer)
    html = get(client, history, mode="period", date_from="2026-03-19", date_to="2026-03-19").content.decode()
    assert [row[1] for row in rows_of(html)] == ["ATM"]  # posted at 23:59 local time


def test_by_count(client, history, travel):
    login(client, history.customer)
    html = get(client, history, mode="count", count="10").content.decode()
    assert len(rows_of(html)) == 7
    query = selectors.StatementQuery(account=history, mode="count", count=3)
    page = selectors.statement_page(query=query, today=NOW.date())
    assert [row.description for row in page.rows] == ["ATM", "利息", "公共料金 デンキ"]
    oldest_first = selectors.StatementQuery(account=history, mode="count", count=3, newest_first=False)
    page = selectors.statement_page(query=oldest_first, today=NOW.date())
    assert [row.description for row in page.rows] == ["公共料金 デンキ", "利息", "ATM"]
    assert page.rows[0].withdrawal == 7_000 and page.rows[0].deposit is None
    # the cells as the page writes them, formatted by the selector (issue 14)
    first = page.rows[0]
    assert (first.withdrawal_text, first.deposit_text) == ("7,000円", "")
    assert first.balance_text == f"{first.balance_after:,}円"
    assert first.date_text == f"{timezone.localtime(first.posted_at):%Y/%m/%d}"


@pytest.mark.parametrize("mode", ["date", "period", "count"])
@pytest.mark.parametrize("newest_first", [True, False])
def test_page_sql_reads_the_rows_of_the_orm_query_in_every_shape(travel, mode, newest_first):
    """ACCT-2 (issue 14): statement_page() reads with SQL of its own, written once per
    shape; page after page it returns exactly the rows of _statement_queryset() (what the
    CSV reads), in its order — ties on one instant, the day's edges in local time (00:00
    and 23:59:59.999999 JST), an entry older than the retention period — and the date
    cell is the local date |slash_date writes."""
    account = factories.account()
    post(account, 5_000, tokyo(2025, 2, 1, 9), "保存期間外")  # before retention_start
    post(account, 1_000, tokyo(2026, 3, 3, 0, 0, 0), "零時")
    for index in range(9):  # three instants, three entries each
        post(account, 10 + index, tokyo(2026, 3, 3, 12, index // 3), f"同時{index}")
    post(account, 2_000, tokyo(2026, 3, 3, 23, 59, 59).replace(microsecond=999_999), "日末")
    post(account, 3_000, tokyo(2026, 3, 4, 0, 0, 0), "翌日")
    start, end = tokyo(2026, 3, 3).date(), tokyo(2026, 3, 4).date()
    query = selectors.StatementQuery(
        account=account, mode=mode, start=start if mode != "count" else None,
        end=end if mode == "period" else None, count=10 if mode == "count" else None, newest_first=newest_first)
    expected = list(selectors._statement_queryset(query, NOW.date()).values_list("id", flat=True))
    assert len(expected) == {"date": 11, "period": 12, "count": 10}[mode]
    cursor, seen = None, []
    while True:
        page = selectors.statement_page(query=query, cursor=cursor, today=NOW.date(), page_size=4)
        seen += page.rows
        if page.next_cursor is None:
            break
        cursor = selectors.StatementCursor.decode(page.next_cursor.encode())
    assert [row.id for row in seen] == expected
    assert all(row.date_text == f"{timezone.localtime(row.posted_at):%Y/%m/%d}" for row in seen)
    assert {row.date_text for row in seen if row.description in ("零時", "日末")} <= {"2026/03/03"}


def test_keyset_pagination_over_several_pages_with_ties(client, travel):
    account = factories.account()
    # 47 entries; groups of three share one instant, so (posted_at, id) must break ties.
    for index in range(47):
        post(account, 100 + index, tokyo(2026, 3, 1 + index // 6, 9, index % 6 // 3))
    expected = list(
        account.entries.order_by("-posted_at", "-id").values_list("description", "balance_after")
    )
    login(client, account.customer)
    seen, pages = [], 0
    url = f"{URL}?account={account.pk}&mode=period&date_from=2026-03-01&date_to=2026-03-20"
    while url:
        with CaptureQueriesContext(connection) as queries:
            html = client.get(url).content.decode()
        assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)
        rows = rows_of(html)
        assert len(rows) == (20 if pages < 2 else 7)
        seen += [int(row[4].replace(",", "").rstrip("円")) for row in rows]
        pages += 1
        link = next_link(html)
        url = URL + link if link else None
    assert pages == 3
    assert seen == [balance for _, balance in expected]
    assert len(set(seen)) == 47

    # Oldest first, through the selector: the same rows reversed, none twice.
    query = selectors.StatementQuery(account=account, mode="count", count=100, newest_first=False)
    cursor, collected = None, []
    while True:
        page = selectors.statement_page(query=query, cursor=cursor, today=NOW.date(), page_size=10)
        collected += [row.id for row in page.rows]
        if page.next_cursor is None:
            break
        cursor = selectors.StatementCursor.decode(page.next_cursor.encode())
    assert collected == list(account.entries.order_by("posted_at", "id").values_list("id", flat=True))


def test_count_mode_pages_within_the_latest_n(travel):
    account = factories.account()
    for index in range(60):
        post(account, 1 + index, tokyo(2026, 3, 1, 9, index))
    query = selectors.StatementQuery(account=account, mode="count", count=50)
    sizes, cursor = [], None
    while True:
        page = selectors.statement_page(query=query, cursor=cursor, today=NOW.date())
        sizes.append(len(page.rows))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sizes == [20, 20, 10]


def test_statement_page_query_count_is_constant(client, travel, django_assert_num_queries):
    account = factories.account()
    for index in range(45):
        post(account, 10, tokyo(2026, 3, 2, 9, index))
    login(client, account.customer)
    first = get(client, account, mode="period", date_from="2026-03-01", date_to="2026-03-20")
    with CaptureQueriesContext(connection) as page_one:
        get(client, account, mode="period", date_from="2026-03-01", date_to="2026-03-20")
    link = next_link(first.content.decode())
    # Middleware (session, user, customer) + accounts list + the account + one page query.
    with django_assert_num_queries(len(page_one.captured_queries)):
        html = client.get(URL + link).content.decode()
    assert len(rows_of(html)) == 20
    assert sum("accounts_entry" in q["sql"] for q in page_one.captured_queries) == 1
    with django_assert_num_queries(1):
        selectors.statement_page(query=selectors.StatementQuery(account=account, mode="count", count=20))


@pytest.mark.parametrize(("params", "message"), [
    ({"mode": "period", "date_from": "2026-03-10", "date_to": "2026-03-02"},
     "終了日には開始日以降の日付を指定してください。"),
    ({"mode": "period", "date_from": "2026-03-01", "date_to": "2026-03-21"},
     "終了日に未来の日付は指定できません。"),
    ({"mode": "date", "date": "2026-12-01"}, "照会日に未来の日付は指定できません。"),
    ({"mode": "period", "date_from": "2025-02-19", "date_to": "2026-03-02"},
     "開始日には2025年2月20日以降の日付を指定してください（照会できるのは13か月前までです）。"),
    ({"mode": "date", "date": "2026-02-30"}, "照会日に存在しない日付が入力されています。"),
    ({"mode": "date", "date": "2026/13/01"}, "照会日に存在しない日付が入力されています。"),
    ({"mode": "date", "date": "きのう"}, "照会日は「2026/03/20」のように年・月・日を数字で入力してください。"),
    ({"mode": "period", "date_from": "abc", "date_to": "2026-03-02"},
     "開始日は「2026/03/20」のように年・月・日を数字で入力してください。"),
    ({"mode": "period", "date_to": "2026-03-02"}, "開始日を入力してください。"),
    ({"mode": "date", "date": ""}, "照会日を入力してください。"),
    ({"mode": "count", "count": "ten"}, "件数は10・20・50・100件のいずれかを選択してください。"),
    ({"mode": "count", "count": "7"}, "件数は10・20・50・100件のいずれかを選択してください。"),
    ({"mode": "weekly"}, "照会方法の指定が正しくありません。"),
    ({"mode": "count", "count": "10", "order": "random"}, "並び順の指定が正しくありません。"),
    ({"mode": "count", "count": "10", "cursor": "1' OR 1=1"},
     "ページの指定が正しくありません。最初のページから照会してください。"),
    ({"mode": "count", "count": "10", "cursor": "99999999999999999999999.1"},
     "ページの指定が正しくありません。最初のページから照会してください。"),
    # walk26 F11: a NUL got Django's 「何か文字を入力してください。」
    ({"mode": "count", "count": "10", "order": "desc", "cursor": "garbage\x00"},
     "ページの指定が正しくありません。最初のページから照会してください。"),
    ({"mode": "count", "count": "10\x00"}, "件数は10・20・50・100件のいずれかを選択してください。"),
])
def test_invalid_input_gets_a_japanese_message(client, history, travel, params, message):
    login(client, history.customer)
    response = get(client, history, **params)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in unescape(html)
    assert "<tbody>" not in html  # no statement for an invalid query
    assert "何か文字を入力してください" not in html


def test_full_width_digits_are_normalised_and_accepted(client, history, travel):
    login(client, history.customer)
    html = get(client, history, mode="period", date_from="２０２６／０３／０２",
               date_to="２０２６－０３－０３").content.decode()
    assert [row[1] for row in rows_of(html)] == ["振込 サトウ ハナコ", "振込 ヤマダ タロウ", "カード"]
    html = get(client, history, mode="count", count="１０").content.decode()
    assert len(rows_of(html)) == 7
    html = get(client, history, mode="date", date="20260305").content.decode()
    assert [row[1] for row in rows_of(html)] == ["公共料金 デンキ"]


def test_retention_is_shown_and_the_boundary_day_is_accepted(client, history, travel):
    login(client, history.customer)
    html = client.get(URL).content.decode()
    assert "明細は2026年2月20日以降（13か月前まで）を照会できます。" not in html  # not 13 months
    assert "明細は2025年2月20日以降（13か月前まで）を照会できます。" in html
    response = get(client, history, mode="period", date_from="2025-02-20", date_to="2026-02-27")
    assert [row[1] for row in rows_of(response.content.decode())] == ["給与 コウセイシヨウジ"]


def test_retention_start_clamps_to_month_end():
    assert selectors.retention_start(tokyo(2026, 3, 31).date()).isoformat() == "2025-02-28"
    assert selectors.retention_start(tokyo(2026, 1, 15).date()).isoformat() == "2024-12-15"


def test_count_mode_never_reaches_beyond_retention(travel):
    account = factories.account()
    post(account, 1_000, tokyo(2024, 12, 1))  # older than 13 months
    post(account, 2_000, tokyo(2026, 3, 1))
    page = selectors.statement_page(query=selectors.StatementQuery(account=account, mode="count", count=10),
                                    today=NOW.date())
    assert [row.deposit for row in page.rows] == [2_000]


def test_another_customers_account_is_404_and_audited(client, history, travel):
    intruder = factories.account()
    login(client, intruder.customer)
    response = get(client, history, mode="count", count="10")
    assert response.status_code == 404
    assert "コウセイシヨウジ" not in response.content.decode()
    event = AuditEvent.objects.get(action="access_refused")
    assert event.customer == intruder.customer
    assert event.outcome == "refused"
    assert str(history.pk) in event.summary
    assert event.client_ip == "127.0.0.1"
    for bad in ("abc", "-1", "999999999", str(factories.internal("cash").pk)):
        assert client.get(URL, {"account": bad}).status_code == 404
    assert AuditEvent.objects.filter(action="access_refused", customer=intruder.customer).count() == 5


def test_selector_refuses_foreign_and_internal_accounts(history):
    from django.http import Http404

    other = factories.customer()
    with pytest.raises(Http404):
        selectors.account_get_for_customer(other, history.pk)
    with pytest.raises(Http404):
        selectors.account_get_for_customer(history.customer, factories.internal("cash").pk)
    assert selectors.account_get_for_customer(history.customer, str(history.pk)) == history


def test_pages_are_no_store(client, history, travel):
    login(client, history.customer)
    response = get(client, history, mode="count", count="10")
    assert "no-store" in response["Cache-Control"]


def test_pc_gets_calendar_print_and_download(client, history, travel):
    login(client, history.customer)
    html = get(client, history, mode="count", count="10").content.decode()
    assert html.count('type="date"') == 3
    assert 'data-action="print"' in html
    assert 'data-action="download"' in html and reverse("accounts:statements_csv") in html
    assert "js/accounts.js" in html and "<script>" not in html and "onclick" not in html


def test_smartphone_gets_no_calendar_no_print_no_download(client, history, travel):
    login(client, history.customer, user_agent=IPHONE_UA)
    html = get(client, history, mode="count", count="10").content.decode()
    assert len(rows_of(html)) == 7
    assert 'type="date"' not in html
    assert 'inputmode="numeric"' in html
    # UI-1, ACCT-2: the typing example is a real date the query takes (today), the same in
    # the hint and the placeholders; it was a fixed 「2026/03/05」, soon in the past (walk22)
    assert "日付は「2026/03/20」のように入力してください。" in html
    assert html.count('placeholder="例：2026/03/20"') == 3
    assert "2026/03/05」のように" not in html and "例：2026/03/05" not in html
    assert 'data-action="print"' not in html
    assert 'data-action="download"' not in html and reverse("accounts:statements_csv") not in html


def test_the_first_view_shows_the_defaults_as_each_device_types_them():
    """UI-1: the first view (no query yet) shows the first account, 期間指定 from the 1st
    to today, 10件 and 新しい順; a date as the PC's calendar sends it (2026-03-20) or as
    the smartphone's hint asks it typed (2026/03/20)."""
    today = NOW.date()
    accounts = UNSAVED_ACCOUNTS
    pc = StatementQueryInput(accounts=accounts, today=today, smartphone=False)
    phone = StatementQueryInput(accounts=accounts, today=today, smartphone=True, account=accounts[1])
    assert not pc.is_bound and not pc.is_valid() and not pc.errors
    assert pc.values == {"account": "7", "mode": "period", "date": "2026-03-20", "date_from": "2026-03-01",
                         "date_to": "2026-03-20", "count": "10", "order": "desc", "cursor": None}
    assert phone.values["account"] == "8"
    assert (phone.values["date"], phone.values["date_from"]) == ("2026/03/20", "2026/03/01")
    assert StatementQueryInput(accounts=[], today=today, smartphone=False).values["account"] is None


def test_a_date_field_without_a_form_example_shows_today(travel):
    """UI-1: a date field no form names an example for still shows a real date — today."""
    with pytest.raises(ValidationError) as refused:
        JapaneseDateField(label="日付").clean("あした")
    assert refused.value.messages == ["日付は「2026/03/20」のように年・月・日を数字で入力してください。"]


def test_form_without_query_shows_the_form_only(client, history, travel):
    login(client, history.customer)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200 and "<tbody>" not in html
    assert f'<option value="{history.pk}" selected>' in html
    assert history.masked_number in html


COUNT_MESSAGE = "件数は10・20・50・100件のいずれかを選択してください。"
CURSOR_MESSAGE = "ページの指定が正しくありません。最初のページから照会してください。"


@pytest.mark.parametrize(("query", "errors", "cleaned"), [
    ("account=7&mode=period&date_from=2026-03-01&date_to=2026-03-20", {},
     {"account": 7, "mode": "period", "date_from": tokyo(2026, 3, 1).date(), "date_to": NOW.date(), "date": None,
      "count": None, "order": True, "cursor": None}),
    # full width, surrounding blanks, the 8-digit form, another separator; ｃount's blanks
    ("account=8&mode=date&date=%E3%80%80%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96%EF%BC%8F%EF%BC%90%EF%BC%93%EF%BC%8F"
     "%EF%BC%90%EF%BC%95&count=%20%EF%BC%95%EF%BC%90%20&order=asc&cursor=%201772000000000000.5%20", {},
     {"account": 8, "mode": "date", "date": tokyo(2026, 3, 5).date(), "count": 50, "order": False}),
    # every field is parsed whatever the mode: a bad 照会日 refuses a 件数指定 too (as the form did)
    ("account=7&mode=count&count=20&date=abc",
     {"date": "照会日は「2026/03/20」のように年・月・日を数字で入力してください。"}, {"count": 20}),
    # a parameter given twice counts with its last value
    ("account=7&mode=count&count=7&count=10&order=asc&order=x", {"order": "並び順の指定が正しくありません。"},
     {"count": 10}),
    # the account id exactly as the select box writes it (the view took 007 as 7; the form never did)
    ("account=007&mode=count&count=10", {"account": "口座の指定が正しくありません。"}, {}),
    ("account=9&mode=count&count=10", {"account": "口座の指定が正しくありません。"}, {}),
    ("account=&mode=", {"account": "口座を選択してください。", "mode": "照会方法を選択してください。"}, {}),
    ("account=7&mode=%20count&count=10", {"mode": "照会方法の指定が正しくありません。"}, {}),
    ("account=7&mode=%00", {"mode": "照会方法の指定が正しくありません。"}, {}),
    ("account=7&mode=count", {"count": COUNT_MESSAGE}, {}),
    ("account=7&mode=count&count=%E3%80%80", {"count": COUNT_MESSAGE}, {}),
    ("account=7&mode=count&count=" + "9" * 5000, {"count": COUNT_MESSAGE}, {}),
    ("account=7&mode=count&count=010", {}, {"count": 10}),
    ("account=7&mode=count&count=0100", {"count": COUNT_MESSAGE}, {}),
    ("account=7&mode=count&count=10%00", {"count": COUNT_MESSAGE}, {}),
    ("account=7&mode=count&count=10&cursor=1.1%00", {"cursor": CURSOR_MESSAGE}, {}),
    ("account=7&mode=count&count=10&cursor=" + "9" * 5000 + ".1", {"cursor": CURSOR_MESSAGE}, {}),
    ("account=7&mode=period&date_from=2026-03-21&date_to=2026-03-02",
     {"date_from": "開始日に未来の日付は指定できません。"}, {"date_to": tokyo(2026, 3, 2).date()}),
    ("account=7&mode=period&date_from=2026-03-10&date_to=2026-03-02",
     {"date_to": "終了日には開始日以降の日付を指定してください。"}, {"date_from": tokyo(2026, 3, 10).date()}),
    ("account=7&mode=period&date_from=2025-02-19&date_to=2026-02-30",
     {"date_from": "開始日には2025年2月20日以降の日付を指定してください（照会できるのは13か月前までです）。",
      "date_to": "終了日に存在しない日付が入力されています。"}, {}),
    ("account=7&mode=period", {"date_from": "開始日を入力してください。", "date_to": "終了日を入力してください。"}, {}),
    ("account=7&mode=date&date=2026-03-21&date_from=x",
     {"date": "照会日に未来の日付は指定できません。",
      "date_from": "開始日は「2026/03/20」のように年・月・日を数字で入力してください。"}, {}),
])
def test_the_query_input_rules(query, errors, cleaned):
    """ACCT-2, SEC-14: StatementQueryInput refuses exactly what StatementForm refused, with
    the same message per field (issue 14 replaced the Django form for speed)."""
    parsed = StatementQueryInput(QueryDict(query), accounts=UNSAVED_ACCOUNTS, today=NOW.date(), smartphone=False)
    assert dict(parsed.errors) == errors
    assert parsed.is_valid() is not errors
    assert {name: parsed.cleaned.get(name, "missing") for name in cleaned} == cleaned
    assert not set(parsed.errors) & set(parsed.cleaned)  # a refused field has no value


def test_the_download_refuses_an_unknown_encoding_above_the_form():
    for encoding, expected in (("", "sjis"), ("sjis", "sjis"), ("utf8", "utf8")):
        parsed = StatementDownloadInput(QueryDict(f"account=7&mode=count&count=10&encoding={encoding}"),
                                        accounts=UNSAVED_ACCOUNTS, today=NOW.date(), smartphone=False)
        assert parsed.is_valid() and parsed.cleaned["encoding"] == expected
    for encoding in ("latin-1", "%00", "%EF%BD%93jis", "%20sjis"):
        parsed = StatementDownloadInput(QueryDict(f"account=7&mode=count&count=10&encoding={encoding}"),
                                        accounts=UNSAVED_ACCOUNTS, today=NOW.date(), smartphone=False)
        assert not parsed.is_valid() and not parsed.errors
        assert parsed.top_errors == ["文字コードの指定が正しくありません。"]


def field_tags(html: str) -> dict[str, str]:
    """The opening tag of each field of the query form, by its id."""
    form = html.split('<section class="panel statement-query', 1)[1].split("</form>", 1)[0]
    return {match[1]: match[0] for match in re.finditer(r'<(?:input|select)\b[^>]*\bid="([^"]+)"[^>]*>', form)}


@pytest.mark.parametrize("user_agent", [None, IPHONE_UA])
def test_the_query_form_markup(client, history, travel, user_agent):
    """UI-1, accessibility (issue 14, the form written in the template): every field has
    its label, shows what was sent, and a refused one is aria-invalid and described by
    its message (the element aria-describedby names exists); the mode's radios share the
    mode's message in the fieldset."""
    login(client, history.customer, **({"user_agent": user_agent} if user_agent else {}))
    html = get(client, history, mode="date", date="<b>&", date_from="2026-03-21", count="7", order="asc",
               cursor="zz").content.decode()
    tags = field_tags(html)
    assert sorted(tags) == ["id_account", "id_count", "id_date", "id_date_from", "id_date_to", "id_mode_0",
                            "id_mode_1", "id_mode_2", "id_order"]
    for field_id, tag in tags.items():
        if not field_id.startswith("id_mode_"):
            assert f'<label for="{field_id}">' in html
        name = re.search(r'name="([^"]+)"', tag)[1]
        assert name == ("mode" if field_id.startswith("id_mode_") else field_id[3:])
    assert 'value="&lt;b&gt;&amp;"' in tags["id_date"] and 'value="2026-03-21"' in tags["id_date_from"]
    for field_id, message in (("id_date", "照会日は「2026/03/20」のように年・月・日を数字で入力してください。"),
                              ("id_count", COUNT_MESSAGE)):
        assert 'aria-invalid="true"' in tags[field_id]
        assert f'aria-describedby="{field_id}_error"' in tags[field_id]
        assert f'<p class="field-error" id="{field_id}_error" role="alert">{message}</p>' in html
    for field_id in ("id_account", "id_date_from", "id_date_to", "id_order", "id_mode_0"):
        assert "aria-invalid" not in tags[field_id] and "aria-describedby" not in tags[field_id]
    assert "checked" in tags["id_mode_0"] and "checked" not in tags["id_mode_1"]
    assert all(" required" in tags[f"id_mode_{index}"] for index in range(3))
    assert '<option value="asc" selected>古い順</option>' in html
    assert f'<option value="{history.pk}" selected>' in html
    assert 'selected>最新' not in html  # 7 is no choice: none is selected
    assert f'<div class="form-errors" role="alert"><p>{CURSOR_MESSAGE}</p></div>' in html
    if user_agent:
        assert 'type="text"' in tags["id_date"] and 'inputmode="numeric"' in tags["id_date"]
        assert 'placeholder="例：2026/03/20"' in tags["id_date"] and 'maxlength="10"' in tags["id_date"]
        assert 'pattern="[0-9０-９\\/／\\-－.．]{8,10}"' in tags["id_date"]
    else:
        assert 'type="date"' in tags["id_date"]
        assert 'min="2025-02-20" max="2026-03-20"' in tags["id_date"]
    html = get(client, history, mode="weekly").content.decode()
    assert '<p class="field-error" role="alert">照会方法の指定が正しくありません。</p>' in html
    assert all('aria-invalid="true"' in field_tags(html)[f"id_mode_{index}"] for index in range(3))
