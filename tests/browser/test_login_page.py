"""The browser fixture works: the login page in headless Chromium, desktop and iPhone."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_page_renders_and_logs_in(page, device):
    from tests import factories

    customer = factories.customer(password="Pass1234", password_is_initial=False)
    page.goto("/")
    assert page.url.endswith("/login/")
    assert page.locator("h1").inner_text() == "ログイン"
    page.get_by_label("契約者ID").fill(customer.contract_id)
    page.get_by_label("ログインパスワード").fill("wrong999")
    page.get_by_role("button", name="ログイン").click()
    assert "契約者IDまたはログインパスワードが正しくありません。" in page.locator(".form-errors").inner_text()
    # issue 7: the service hours are on the page; the password field was cleared
    assert "平日 7:00～22:00" in page.locator(".service-hours").inner_text()
    page.screenshot(path=f"test-artifacts/login-page-{device}.png", full_page=True)
    page.get_by_label("ログインパスワード").fill("Pass1234")
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("**/")
    assert f"{customer.name_kanji} 様" in page.locator(".who-name").inner_text()
    page.screenshot(path=f"test-artifacts/login-{device}.png", full_page=True)
