"""残高照会 (ACCT-1): current, 前日 and 前月末 balances and 支払可能額, across a month
boundary, a national holiday and the year-end closing; constant query count (ACCT-1)."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import selectors
from accounts.models import Account
from security.models import AuditEvent
from tests import factories
from tests.accounts.test_statements_support import login, post, tokyo

pytestmark = pytest.mark.django_db


def figures(html: str, account_id: int) -> dict[str, int]:
    """The four figures of one account card, as integers of yen."""
    card = html.split(f'id="account-{account_id}"', 1)[1].split("</section>", 1)[0]
    return {
        name: int(value.replace(",", ""))
        for name, value in re.findall(r'data-figure="([a-z-]+)">([\d,]+)円', card)
    }


def test_month_boundary_and_previous_business_day(client):
    account = factories.account()
    post(account, 100_000, tokyo(2026, 1, 20))
    Account.objects.filter(pk=account.pk).update(hold_amount=4_000)
    post(account, 50_000, tokyo(2026, 2, 27, 15))  # Fri
    post(account, -20_000, tokyo(2026, 2, 28, 10))  # Sat, last day of February
    post(account, 5_000, tokyo(2026, 3, 1, 0, 0, 0))  # exactly 00:00 of March 1: not February
    post(account, -1_000, tokyo(2026, 3, 2, 23, 59, 59))  # Mon, the previous business day
    post(account, 7, tokyo(2026, 3, 3, 0, 0, 0))  # today, from midnight
    with time_machine.travel(tokyo(2026, 3, 3, 10), tick=False):
        summary = selectors.balance_summary_for_customer(customer=account.customer)
        login(client, account.customer)
        response = client.get(reverse("accounts:balances"))

    assert summary.cutoffs.previous_business_day.isoformat() == "2026-03-02"
    assert summary.cutoffs.previous_month_end.isoformat() == "2026-02-28"
    (item,) = summary.accounts
    assert item.balance == 134_007
    assert item.previous_day_balance == 134_000
    assert item.previous_month_end_balance == 130_000
    assert item.available_amount == 130_007
    assert response.status_code == 200
    html = response.content.decode()
    assert figures(html, account.pk) == {
        "balance": 134_007, "available": 130_007, "previous-day": 134_000, "previous-month-end": 130_000,
    }
    assert "2026年3月3日 10:00 現在" in html
    assert "3月2日終了時点" in html and "2月28日終了時点" in html
    assert account.masked_number in html and account.number not in html
    assert "本店" in html or account.branch.name in html


def test_previous_business_day_skips_weekend_and_national_holiday(client):
    # Mon 2026-02-23 is 天皇誕生日: on Tue 24th the previous business day is Fri 20th.
    account = factories.account()
    post(account, 10_000, tokyo(2026, 2, 20, 14))
    post(account, 1_000, tokyo(2026, 2, 21, 9))  # Sat
    post(account, 2_000, tokyo(2026, 2, 23, 9))  # holiday
    with time_machine.travel(tokyo(2026, 2, 24, 9), tick=False):
        (item,) = selectors.balance_summary_for_customer(customer=account.customer).accounts
        cutoffs = selectors.balance_cutoffs(tokyo(2026, 2, 24).date())
    assert cutoffs.previous_business_day.isoformat() == "2026-02-20"
    assert (item.balance, item.previous_day_balance, item.previous_month_end_balance) == (13_000, 10_000, 0)


def test_new_year_uses_december_30_and_december_31(client):
    # Dec 31 – Jan 3 is the bank's closing: on Jan 1 前日 is Dec 30, 前月末 is Dec 31.
    account = factories.account()
    post(account, 1_000, tokyo(2025, 11, 28))
    post(account, 2_000, tokyo(2025, 12, 30, 10))
    post(account, 4_000, tokyo(2025, 12, 31, 12))
    post(account, 8_000, tokyo(2026, 1, 1, 8))
    with time_machine.travel(tokyo(2026, 1, 1, 10), tick=False):
        login(client, account.customer)
        html = client.get(reverse("accounts:balances")).content.decode()
    assert figures(html, account.pk) == {
        "balance": 15_000, "available": 15_000, "previous-day": 3_000, "previous-month-end": 7_000,
    }
    assert "12月30日終了時点" in html and "12月31日終了時点" in html


def test_available_amount_is_the_balance_less_the_hold():
    # a hold never exceeds the balance (LEDGER-7: CHECK constraint, and ledger_check)
    account = factories.account(balance=1_000, hold_amount=1_000)
    (item,) = selectors.balance_summary_for_customer(customer=account.customer).accounts
    assert item.balance == 1_000 and item.available_amount == 0


def test_account_balance_at_is_the_last_balance_after_before_the_moment():
    account = factories.account()
    post(account, 300, tokyo(2026, 4, 1, 9))
    post(account, 200, tokyo(2026, 4, 1, 9))  # same instant: the later id wins
    assert selectors.account_balance_at(account=account, moment=tokyo(2026, 4, 1, 8)) == 0
    assert selectors.account_balance_at(account=account, moment=tokyo(2026, 4, 1, 9, 0, 1)) == 500


def test_one_query_for_all_accounts_whatever_their_number(django_assert_num_queries):
    owner = factories.customer()
    accounts = [factories.account(owner=owner) for _ in range(4)]
    # Chronological across accounts: the cash account on the other side is shared.
    for day in range(1, 4):
        for index, account in enumerate(accounts):
            post(account, 1_000 * (index + 1), tokyo(2026, 5, day))
    with django_assert_num_queries(1):
        summary = selectors.balance_summary_for_customer(customer=owner)
        assert [item.balance for item in summary.accounts] == [3_000, 6_000, 9_000, 12_000]


def test_page_query_count_does_not_grow_with_accounts(client, django_assert_num_queries):
    owner = factories.customer()
    factories.account(owner=owner, balance=100)
    login(client, owner)
    with CaptureQueriesContext(connection) as one_account:
        client.get(reverse("accounts:balances"))
    for _ in range(3):
        factories.account(owner=owner, balance=100)
    # Middleware (session, user, customer, session save) + exactly one balance query.
    with django_assert_num_queries(len(one_account.captured_queries)):
        response = client.get(reverse("accounts:balances"))
    assert response.content.decode().count('class="panel balance-card"') == 4
    balance_queries = [q for q in one_account.captured_queries if "accounts_entry" in q["sql"]]
    assert len(balance_queries) == 1


def test_only_own_accounts_no_store_and_login_required(client):
    mine = factories.account(balance=1_234)
    theirs = factories.account(balance=9_999)
    response = client.get(reverse("accounts:balances"))
    assert response.status_code == 302 and response.url == reverse("security:login")
    login(client, mine.customer)
    response = client.get(reverse("accounts:balances"))
    html = response.content.decode()
    assert f'id="account-{mine.pk}"' in html and f'id="account-{theirs.pk}"' not in html
    assert "1,234円" in html and "9,999円" not in html
    assert "no-store" in response["Cache-Control"]
    assert not AuditEvent.objects.filter(action="access_refused").exists()


def test_menu_links_to_balances_and_statements(client):
    account = factories.account()
    login(client, account.customer)
    html = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("accounts:balances")}"' in html
    assert f'href="{reverse("accounts:statements")}"' in html


def test_print_button_on_pc_only(client):
    account = factories.account()
    from tests.accounts.test_statements_support import IPHONE_UA

    login(client, account.customer)
    assert 'data-action="print"' in client.get(reverse("accounts:balances")).content.decode()
    login(client, account.customer, user_agent=IPHONE_UA)
    assert 'data-action="print"' not in client.get(reverse("accounts:balances")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_summary_lists_exactly_the_customers_accounts_in_passbook_order(django_assert_num_queries, owner_sql):
    """The summary's hand-written query (one statement, issue 14) answers the same rows as
    account_list_for_customer(): own customer accounts only, by branch, type and number,
    each with its branch — read in the same query. (A branch is the owner's to add.)"""
    from accounts.models import Account, Branch

    owner = factories.customer()
    owner_sql("INSERT INTO accounts_branch (code, name, name_kana) VALUES ('900', '梅田', 'ｳﾒﾀﾞ')")
    other_branch = Branch.objects.get(code="900")
    factories.account(owner=owner, branch_code="900", number="0000001")
    factories.account(owner=owner, number="0000009", type=Account.Type.SAVINGS)
    factories.account(owner=owner, number="0000005")
    factories.account()  # somebody else's
    expected = list(selectors.account_list_for_customer(customer=owner))
    with django_assert_num_queries(1):
        summary = selectors.balance_summary_for_customer(customer=owner)
        listed = [(item.account.pk, item.account.branch.code, item.account.branch.name) for item in summary.accounts]
    assert listed == [(account.pk, account.branch.code, account.branch.name) for account in expected]
    assert len(listed) == 3 and listed[-1][1:] == ("900", other_branch.name)
    assert all(item.account.customer_id == owner.pk for item in summary.accounts)
    # the statement pages' list: the same rows, the same fields, the branch in the same query
    with django_assert_num_queries(1):
        accounts = selectors.accounts_for_customer(customer=owner)
        assert [(account.pk, account.branch.name) for account in accounts] == [
            (account.pk, account.branch.name) for account in expected]
    fields = [field.attname for field in Account._meta.concrete_fields]
    assert [[getattr(account, name) for name in fields] for account in accounts] == [
        [getattr(account, name) for name in fields] for account in expected]


def test_leap_day_is_the_month_end_of_february_and_a_statement_day_of_its_own():
    """ACCT-1, ACCT-2 (review6): 前月末残高 on 1 March of a leap year is the close of 29
    February; a statement of 29 February holds exactly 00:00:00–23:59:59 JST of that day;
    the oldest statement day from 2029-03-29 is 2028-02-29. (Postings cannot be dated in
    the future: the ledger figures use 2024.)"""
    account = factories.account()
    post(account, 1_000, tokyo(2024, 2, 28, 23, 59, 59))
    post(account, 20_000, tokyo(2024, 2, 29, 0, 0, 0))
    post(account, 300_000, tokyo(2024, 2, 29, 23, 59, 59))
    post(account, 4_000_000, tokyo(2024, 3, 1, 0, 0, 0))
    with time_machine.travel(tokyo(2024, 3, 1, 10), tick=False):
        (item,) = selectors.balance_summary_for_customer(customer=account.customer).accounts
        cutoffs = selectors.balance_cutoffs(tokyo(2024, 3, 1).date())
        page = selectors.statement_page(query=selectors.StatementQuery(
            account=account, mode="period", start=tokyo(2024, 2, 29).date(), end=tokyo(2024, 2, 29).date()))
    assert cutoffs.previous_month_end.isoformat() == cutoffs.previous_business_day.isoformat() == "2024-02-29"
    assert item.previous_month_end_balance == item.previous_day_balance == 321_000
    assert sorted(row.deposit for row in page.rows) == [20_000, 300_000]
    assert selectors.retention_start(tokyo(2029, 3, 29).date()).isoformat() == "2028-02-29"
    assert selectors.retention_start(tokyo(2029, 3, 31).date()).isoformat() == "2028-02-29"
    assert selectors.retention_start(tokyo(2028, 2, 29).date()).isoformat() == "2027-01-29"


def test_frozen_account_says_so_and_pays_nothing_without_another_query(client, django_assert_num_queries):
    """ACCT-1, LEDGER-2 (walk25 F16): a 支払停止 account looked normal — 支払可能額 = the
    balance, no status. It reads 「お取引停止中」 and 支払可能額 0円 (the balance stays);
    a hold still counts on an open account; the page reads no more for it (the status is
    on the account row)."""
    owner = factories.customer()
    held = factories.account(owner=owner, balance=5_000, hold_amount=1_000)
    login(client, owner)
    with CaptureQueriesContext(connection) as open_only:
        client.get(reverse("accounts:balances"))
    frozen = factories.account(owner=owner, balance=2_381_030)
    Account.objects.filter(pk=frozen.pk).update(status=Account.Status.FROZEN)
    with django_assert_num_queries(len(open_only.captured_queries)):
        html = client.get(reverse("accounts:balances")).content.decode()
    assert figures(html, frozen.pk)["balance"] == 2_381_030 and figures(html, frozen.pk)["available"] == 0
    assert figures(html, held.pk)["available"] == 4_000
    frozen_card = html.split(f'id="account-{frozen.pk}"', 1)[1].split("</section>", 1)[0]
    held_card = html.split(f'id="account-{held.pk}"', 1)[1].split("</section>", 1)[0]
    assert "お取引停止中" in frozen_card and "お取引停止中" not in held_card
    assert "支払停止" not in html  # the internal status name is not the customer's wording
