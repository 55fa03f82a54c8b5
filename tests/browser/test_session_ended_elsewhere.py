"""SEC-12 in a real browser, on a desktop and an iPhone 13 (walk26 F9): a password change
on another device ends this browser's session; its next page is the login page, which now
says why instead of nothing."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, customer, password="Pass1234"):
    page.goto("/login/")
    page.get_by_label("契約者ID").fill(customer.contract_id)
    page.get_by_label("ログインパスワード").fill(password)
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_url("**/")


def test_a_password_change_elsewhere_is_told_on_the_login_page(page, device, browser, live_server):
    from tests import factories

    customer = factories.customer(password="Pass1234", password_is_initial=False)
    _login(page, customer)  # device B (this test's device)

    other = browser.new_context(base_url=live_server.url, locale="ja-JP", timezone_id="Asia/Tokyo")
    device_a = other.new_page()
    _login(device_a, customer)
    device_a.goto("/settings/password/")
    device_a.get_by_label("現在のログインパスワード").fill("Pass1234")
    device_a.get_by_label("新しいログインパスワード", exact=True).fill("Next5678")
    device_a.get_by_label("新しいログインパスワード（確認用）").fill("Next5678")
    device_a.get_by_role("button", name="変更", exact=True).click()
    device_a.wait_for_load_state()
    other.close()

    page.goto("/accounts/balances/")
    page.wait_for_url("**/login/")
    notice = page.get_by_role("status").filter(has_text="ログインパスワードが変更されたため、ログアウトしました。")
    notice.wait_for()
    assert "お心当たりのない場合は、至急当金庫までご連絡ください。" in notice.inner_text()
    page.reload()  # said once
    assert page.get_by_text("ログインパスワードが変更されたため").count() == 0
    _login(page, customer, "Next5678")
    assert page.get_by_role("heading", level=1).count() == 1 and "/login/" not in page.url


def test_ib_suspend_elsewhere_is_told_on_the_confirm_page_submit(page, device):
    """walk27 F5, SEC-10: this device is on the 利用限度額 confirm page; IB取引中止 on the
    other device ends every session. 「変更する」 here lands on the login page, which says
    why and that the operation was not executed — not a bare login page."""
    from security.services import customer_ib_suspend
    from tests.browser.test_ib_suspend import _pick_pictures
    from tests.browser.test_security_flows import _customer
    from tests.browser.test_two_tabs_and_wrong_method import _limit_confirm_page
    from transfers.models import TransferLimit

    customer = _customer()
    _login(page, customer)
    _limit_confirm_page(page, "100000")
    _pick_pictures(page, customer)
    customer_ib_suspend(customer=customer, ip="192.0.2.1")  # the other device, after its step-up
    page.get_by_role("button", name="変更する").click()
    page.wait_for_url("**/login/")
    notice = page.get_by_role("status").filter(has_text="IB取引中止のお手続きによりログアウトしました。")
    notice.wait_for()
    assert "お手続き中のお取引は実行されていません。" in notice.inner_text()
    page.screenshot(path=f"test-artifacts/ended-by-ib-suspend-{device}.png", full_page=True)
    assert not TransferLimit.objects.filter(customer=customer, daily_limit=100_000).exists()
    assert not TransferLimit.objects.filter(customer=customer, pending_limit=100_000).exists()
