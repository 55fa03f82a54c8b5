"""SEC-2, SEC-8, SEC-12 in a real browser, on a desktop and an iPhone 13 (probe35 F1): two
tabs of one browser show the password change form; the first changes the password, the
second is then sent with the password the first replaced. It is told the password was
changed already (not 「現在のログインパスワードが正しくありません」), stays logged in, and
nothing is counted toward the lock."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fill(tab, current, new, lands="**/settings/"):
    tab.get_by_label("現在のログインパスワード").fill(current)
    tab.get_by_label("新しいログインパスワード", exact=True).fill(new)
    tab.get_by_label("新しいログインパスワード（確認用）").fill(new)
    tab.get_by_role("button", name="変更", exact=True).click()
    tab.wait_for_url(lands)


def test_the_second_tab_is_told_the_password_was_changed_in_the_first(page, device):
    from security.models import AuditEvent, Credential
    from security.services import PASSWORD_CHANGED_MEANWHILE
    from tests import factories

    from tests.browser.test_session_ended_elsewhere import _login

    customer = factories.customer(password="Pass1234", password_is_initial=False)
    _login(page, customer)
    page.goto("/settings/password/")
    second = page.context.new_page()  # another tab of the same browser: the same session
    second.goto("/settings/password/")

    _fill(page, "Pass1234", "Hana2026")
    page.get_by_role("status").filter(has_text="ログインパスワードを変更しました。").wait_for()
    _fill(second, "Pass1234", "Tsuki2027")
    notice = second.get_by_role("status").filter(has_text=PASSWORD_CHANGED_MEANWHILE)
    notice.wait_for()
    assert second.get_by_text("現在のログインパスワードが正しくありません").count() == 0
    second.screenshot(path=f"test-artifacts/password-changed-in-other-tab-{device}.png", full_page=True)
    assert Credential.objects.get(customer=customer, kind="password").failures == 0
    assert not AuditEvent.objects.filter(customer=customer, action="password_change", outcome="failure").exists()
    customer.user.refresh_from_db()
    assert customer.user.check_password("Hana2026")


def test_back_to_the_first_login_change_page_after_the_change_is_not_told_a_submit(page, device):
    """UI-1, SEC-3: Back to /password/initial/ after the forced change sent nothing, yet
    said 「…この送信では変更していません。」; it now just shows the page after the login."""
    from security.services import PASSWORD_CHANGED_MEANWHILE
    from tests import factories

    from tests.browser.test_session_ended_elsewhere import _login

    customer = factories.customer(password="Pass1234", password_is_initial=True)
    _login(page, customer)
    page.wait_for_url("**/password/initial/")
    _fill(page, "Pass1234", "Hana2026", lands=lambda url: urlsplit(url).path == "/")
    page.get_by_role("status").filter(has_text="ログインパスワードを変更しました。").wait_for()
    page.go_back()
    page.wait_for_load_state()
    assert not page.url.endswith("/password/initial/")
    assert f"{customer.name_kanji} 様" in page.locator(".who-name").inner_text()
    assert PASSWORD_CHANGED_MEANWHILE not in page.content()
    page.screenshot(path=f"test-artifacts/back-after-first-change-{device}.png", full_page=True)
