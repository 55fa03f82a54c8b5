"""PAY-1/PAY-4 in a real browser, on a desktop and on an iPhone 13 (UI-1): a utility bill
paid with the image card and seen in the statement; a tax paid through a 情報リンク from
the biller simulator's demo page, across the login, with the OTP."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.layout import lines_of_phrase, no_horizontal_overflow
from tests.browser.test_ib_suspend import _pick_pictures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def frozen_clock():
    """OTP codes change every 30 seconds: freeze this process's clock at a step start."""
    import time_machine

    start = dt.datetime.now(dt.timezone.utc).replace(second=1, microsecond=0)
    with time_machine.travel(start, tick=False):
        yield



def _payer(balance=100_000):
    from payeasy.demo import payeasy_demo_seed
    from tests import factories
    from tests.security.secondfactor import customer_with_card

    payeasy_demo_seed()
    customer = customer_with_card(password="Pass1234", email="payer@example.jp")
    account = factories.account(owner=customer, balance=balance)
    return customer, account


def _login(page, customer):
    page.get_by_label("契約者ID").fill(customer.contract_id)
    page.get_by_label("ログインパスワード").fill("Pass1234")
    page.get_by_role("button", name="ログイン", exact=True).click()


def _to_the_bill(page, biller: str, customer_number: str) -> None:
    """From the first page (口座 as offered) to the bill of a private biller's お客様番号."""
    page.get_by_label("収納機関番号").fill(biller)
    page.get_by_role("button", name="次へ").click()
    page.wait_for_url("**/payeasy/numbers/")
    page.get_by_label("お客様番号").fill(customer_number)
    page.get_by_role("button", name="請求内容を表示").click()
    page.wait_for_url("**/payeasy/bill/")


def test_pay_a_utility_bill_with_the_image_card_and_see_it_in_the_statement(page, device):
    from payeasy.models import Payment

    customer, account = _payer()
    page.goto("/login/")
    _login(page, customer)
    page.wait_for_url("**/")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="税金・各種料金の払込み").click()
    page.wait_for_url("**/payeasy/")
    assert "取り消すことができません" in page.locator("main").inner_text()
    _to_the_bill(page, "５８００１", "0012-345-678")  # full-width, as a phone keyboard may type
    assert "厚生電力株式会社" in page.locator('[data-field="biller"]').inner_text()
    assert page.locator('[data-field="amount"]').inner_text() == "8,432円"
    # the back button keeps what was typed
    page.go_back()
    page.wait_for_url("**/payeasy/numbers/")
    assert page.get_by_label("お客様番号").input_value() == "0012345678"
    page.get_by_label("お客様番号").fill("0012-345-679")  # an expired bill: its own message
    page.get_by_role("button", name="請求内容を表示").click()
    assert "払込期限" in page.locator(".form-errors").inner_text()
    page.get_by_label("お客様番号").fill("0012345678")
    page.get_by_role("button", name="請求内容を表示").click()
    page.wait_for_url("**/payeasy/bill/")
    page.get_by_role("button", name="確認画面へ").click()
    page.wait_for_url("**/payeasy/confirm/")
    assert "取り消すことができません" in page.locator("main").inner_text()
    assert no_horizontal_overflow(page)
    _pick_pictures(page, customer)
    page.screenshot(path=f"test-artifacts/payeasy-confirm-{device}.png", full_page=True)
    page.get_by_role("button", name="払込みを実行する").click()
    page.wait_for_url("**/payeasy/done/")
    payment = Payment.objects.get(customer=customer)
    assert page.locator('[data-field="reference"]').inner_text() == payment.reference
    assert no_horizontal_overflow(page)
    assert lines_of_phrase(page, "（受付完了）") == [1]  # UI-1: 「（受付完 / 了）」 on a phone
    page.screenshot(path=f"test-artifacts/payeasy-done-{device}.png", full_page=True)
    if device == "desktop":
        assert page.get_by_role("button", name="印刷").is_visible()
    else:
        assert page.locator('[data-action="print"]').count() == 0

    page.goto(f"/accounts/statements/?account={account.pk}&mode=count&count=10&order=desc")
    rows = page.locator("table.statement-table tbody tr")
    assert "ペイジー 厚生電力株式会社" in rows.nth(0).inner_text()
    assert "8,432" in rows.nth(0).inner_text()
    account.refresh_from_db()
    assert account.balance == 100_000 - 8_432


def test_pay_a_tax_through_a_link_from_the_biller_page_with_the_otp(page, device):
    from payeasy.models import Payment
    from tests.security.secondfactor import activate_otp, code_at_next_step

    customer, account = _payer()
    token = activate_otp(customer, required_at_login=False)
    page.goto("/payeasy/simulator/00100/")
    assert "国税（大阪北税務署）" in page.locator("h1").inner_text()
    # UI-1: on a phone the bill's table squeezed 内容 to one character per line and the
    # button sat off-screen, in the table's sideways scroll; each bill is a block now
    button = page.locator('a[data-bill="1234567890123456"]').bounding_box()
    assert button["x"] >= 0 and button["x"] + button["width"] <= page.viewport_size["width"]
    assert lines_of_phrase(page, "申告所得税") == [1]
    page.locator('a[data-bill="1234567890123456"]').click()
    page.wait_for_url("**/login/")
    assert "ログインしてください" in page.locator(".messages").inner_text()
    _login(page, customer)
    page.wait_for_url("**/payeasy/link/bill/")
    assert "48,000円" in page.locator('[data-field="amount"]').inner_text()
    page.get_by_role("button", name="確認画面へ").click()
    page.wait_for_url("**/payeasy/confirm/")
    page.get_by_label("ワンタイムパスワード").fill(code_at_next_step(token))
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/payeasy-link-confirm-{device}.png", full_page=True)
    page.get_by_role("button", name="払込みを実行する").click()
    page.wait_for_url("**/payeasy/done/")
    payment = Payment.objects.get(customer=customer)
    assert payment.via_link and payment.amount == 48_000
    page.get_by_role("link", name="収納機関のページに戻る").click()
    page.wait_for_url("**/payeasy/simulator/00100/")
    assert page.locator('a[data-bill="1234567890123456"]').count() == 0  # paid: no longer offered
    account.refresh_from_db()
    assert account.balance == 100_000 - 48_000


def test_a_bill_changed_while_the_confirm_page_is_open_is_shown_again_and_paid_anew(page, device):
    """probe34 F1: staff correct the bill (6,980円 → 69,800円) while the customer is on the
    confirm page. The submit pays nothing and says the 請求内容 changed, the bill page shows
    the new amount (「戻る」 too), and the customer pays it."""
    from payeasy.models import Bill, Payment
    from payeasy.services import BILL_CONTENT_CHANGED

    customer, account = _payer()
    page.goto("/login/")
    _login(page, customer)
    page.wait_for_url("**/")
    page.goto("/payeasy/")
    _to_the_bill(page, "58002", "09012345678")
    page.get_by_role("button", name="確認画面へ").click()
    page.wait_for_url("**/payeasy/confirm/")
    assert "6,980円" in page.locator('[data-field="amount"]').inner_text()
    _pick_pictures(page, customer)
    Bill.objects.filter(biller__number="58002", number="09012345678").update(amount=69_800)  # staff, in admin
    page.get_by_role("button", name="払込みを実行する").click()
    page.wait_for_url("**/payeasy/bill/")
    assert BILL_CONTENT_CHANGED in page.locator(".messages").inner_text()
    assert page.locator('[data-field="amount"]').inner_text() == "69,800円"
    assert not Payment.objects.exists()
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/payeasy-bill-changed-{device}.png", full_page=True)
    page.get_by_role("link", name="戻る（番号の入力へ）").click()
    page.wait_for_url("**/payeasy/numbers/")
    page.go_back()
    page.wait_for_url("**/payeasy/bill/")
    page.reload()
    assert page.locator('[data-field="amount"]').inner_text() == "69,800円"
    page.get_by_role("button", name="確認画面へ").click()
    page.wait_for_url("**/payeasy/confirm/")
    assert "69,800円" in page.locator('[data-field="amount"]').inner_text()
    _pick_pictures(page, customer)
    page.get_by_role("button", name="払込みを実行する").click()
    page.wait_for_url("**/payeasy/done/")
    assert Payment.objects.get(customer=customer).amount == 69_800
    account.refresh_from_db()
    assert account.balance == 100_000 - 69_800
