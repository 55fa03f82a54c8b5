"""残高照会 → 入出金明細照会 → CSV in a real browser, on a desktop and on an iPhone (UI-1):
the desktop gets the calendar picker, the print button and the download; the iPhone gets
none of them, and the pages fit its 390px screen."""

import csv
import datetime as dt
import io

import pytest

from tests.browser.layout import no_horizontal_overflow
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def test_balances_statements_and_csv(page, device):
    from django.db import transaction

    from cosei_ib.bankcalendar import local_now, start_of_day
    from tests import factories
    from tests.accounts.test_statements_support import post

    customer = factories.customer(password="Pass1234", password_is_initial=False)
    today = local_now().date()
    first_day = today - dt.timedelta(days=6)
    with transaction.atomic():  # backdated postings only onto an account opened with them (LEDGER-7)
        account = factories.account(owner=customer)
        post(account, 300_000, start_of_day(first_day) + dt.timedelta(hours=9), "給与 コウセイシヨウジ")
        post(account, -12_345, start_of_day(first_day) + dt.timedelta(hours=15), "振込 ヤマダ タロウ")
        post(account, -678, start_of_day(first_day + dt.timedelta(days=2)) + dt.timedelta(hours=10),
             "=カード 𠮷野家")

    page.goto("/login/")
    page.get_by_label("契約者ID").fill(customer.contract_id)
    page.get_by_label("ログインパスワード").fill("Pass1234")
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_url("**/")

    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="残高照会").click()
    page.wait_for_url("**/accounts/balances/")
    assert page.locator("h1").inner_text() == "残高照会"
    card = page.locator(f"#account-{account.pk}")
    assert account.masked_number in card.inner_text()
    assert page.locator('[data-figure="balance"]').inner_text() == "286,977円"
    assert page.locator('[data-figure="available"]').inner_text() == "286,977円"
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/balances-{device}.png", full_page=True)

    page.get_by_role("link", name="入出金明細を見る").click()
    page.wait_for_url("**/accounts/statements/?account=*")
    page.get_by_label("期間指定").check()
    # ACCT-2, UI-1: 開始日 and 終了日 are the same width (on an iPhone 13 the 「～」 between
    # them used to stay on 開始日's line and narrow it)
    start_box, end_box = page.get_by_label("開始日").bounding_box(), page.get_by_label("終了日").bounding_box()
    assert abs(start_box["width"] - end_box["width"]) < 1, (start_box, end_box)
    if device == "desktop":
        assert page.locator('input[type="date"]').count() == 3
        page.get_by_label("開始日").fill(first_day.isoformat())
        page.get_by_label("終了日").fill(today.isoformat())
    else:
        # No calendar picker on a phone: a text field, typed (full-width digits allowed).
        assert page.locator('input[type="date"]').count() == 0
        assert page.get_by_label("開始日").get_attribute("type") == "text"
        page.get_by_label("開始日").fill(f"{first_day:%Y/%m/%d}")
        page.get_by_label("終了日").fill(f"{today:%Y/%m/%d}".translate(str.maketrans("0123456789/", "０１２３４５６７８９／")))
    page.get_by_label("並び順").select_option("asc")
    page.get_by_role("button", name="照会する").click()
    page.wait_for_selector("table.statement-table")
    rows = page.locator("table.statement-table tbody tr")
    assert rows.count() == 3
    assert "給与 コウセイシヨウジ" in rows.nth(0).inner_text()
    assert "286,977円" in rows.nth(2).inner_text()
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/statements-{device}.png", full_page=True)

    # ACCT-2, UI-1 (issue 14, the query form written in the template): a refused date is
    # said on its field, which a screen reader announces with its message (axe checks the page)
    page.goto(f"/accounts/statements/?account={account.pk}&mode=period&date_from={today:%Y-%m-%d}"
              f"&date_to={first_day:%Y-%m-%d}")
    end = page.get_by_label("終了日")
    expect(end).to_have_attribute("aria-invalid", "true")
    expect(end).to_have_accessible_description("終了日には開始日以降の日付を指定してください。")
    expect(page.get_by_label("開始日")).not_to_have_attribute("aria-invalid", "true")
    assert page.locator("table.statement-table").count() == 0
    page.go_back()
    page.wait_for_selector("table.statement-table")

    if device == "desktop":
        expect(page.get_by_role("button", name="印刷")).to_be_visible()  # shown by JS after load
        with page.expect_download() as info:
            page.get_by_role("button", name="CSVダウンロード").click()
        download = info.value
        assert download.suggested_filename == (
            f"入出金明細_{account.branch.code}-{account.number[-4:]}_{first_day:%Y%m%d}-{today:%Y%m%d}.csv"
        )
        with open(download.path(), "rb") as handle:
            lines = list(csv.reader(io.StringIO(handle.read().decode("cp932"), newline="")))
        assert lines[0] == ["日付", "摘要", "お引出し", "お預入れ", "残高"]
        assert lines[1] == [f"{first_day:%Y/%m/%d}", "給与 コウセイシヨウジ", "", "300000", "300000"]
        assert lines[3][1:] == ["'=カード ?野家", "678", "", "286977"]
    else:
        assert page.locator('[data-action="print"]').count() == 0
        assert page.locator('[data-action="download"]').count() == 0
        assert page.locator('form[action$="/statements/csv/"]').count() == 0


def test_frozen_account_on_balances_transfer_and_payeasy(page, device):
    """ACCT-1, LEDGER-2 (walk25 F16), desktop and iPhone 13: a 支払停止 account reads
    「お取引停止中」 with 支払可能額 0円 on 残高照会, and the 振込 and Pay-easy start pages
    say in one line that it cannot be used now (it vanished from the choice silently)."""
    from accounts.models import Account
    from tests import factories
    from tests.security.secondfactor import customer_with_card

    customer = customer_with_card(password="Pass1234")
    usable = factories.account(owner=customer, balance=10_000)
    frozen = factories.account(owner=customer, balance=2_381_030)
    Account.objects.filter(pk=frozen.pk).update(status=Account.Status.FROZEN)
    page.goto("/login/")
    page.get_by_label("契約者ID").fill(customer.contract_id)
    page.get_by_label("ログインパスワード").fill("Pass1234")
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_url("**/")
    page.goto("/accounts/balances/")
    card = page.locator("section.balance-card", has=page.locator(f"#account-{frozen.pk}"))
    expect(card.get_by_text("お取引停止中")).to_be_visible()
    expect(card.locator('[data-figure="available"]')).to_have_text("0円")
    expect(card.locator('[data-figure="balance"]')).to_have_text("2,381,030円")
    other = page.locator("section.balance-card", has=page.locator(f"#account-{usable.pk}"))
    expect(other.locator('[data-figure="available"]')).to_have_text("10,000円")
    assert other.get_by_text("お取引停止中").count() == 0
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/balances-frozen-{device}.png", full_page=True)
    line = f"***{frozen.number[-4:]}は、現在お取引を停止しているためご利用いただけません。"
    for url in ("/transfers/", "/payeasy/"):
        page.goto(url)
        expect(page.get_by_text(line)).to_be_visible()
        assert no_horizontal_overflow(page)
        page.screenshot(path=f"test-artifacts/stopped-line-{url.strip('/')}-{device}.png", full_page=True)


def test_history_names_a_refused_account_without_its_id(page, device):
    """ACCT-4 (walk25 F13), desktop and iPhone 13: after ?account=<another customer's id>
    and ?account=99999999999999999999, 取引履歴照会 says 「照会できない口座の指定（入出金明細
    照会）」 — no internal id, no echo of the value."""
    from tests import factories

    customer = factories.customer(password="Pass1234", password_is_initial=False)
    factories.account(owner=customer)
    foreign = factories.account()
    page.goto("/login/")
    page.get_by_label("契約者ID").fill(customer.contract_id)
    page.get_by_label("ログインパスワード").fill("Pass1234")
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_url("**/")
    for value in (str(foreign.pk), "99999999999999999999"):
        assert page.goto(f"/accounts/statements/?account={value}").status == 404
    page.goto("/history/")
    expect(page.get_by_text("照会できない口座の指定（入出金明細照会）")).to_have_count(2)
    text = page.locator("main").inner_text()
    assert "99999999999999999999" not in text and f"id={foreign.pk}" not in text
    assert no_horizontal_overflow(page)
