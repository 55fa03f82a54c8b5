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

    customer = factories.customer(password="Pass1234")
    customer.password_is_initial = False
    customer.save()
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
