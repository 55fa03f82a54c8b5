"""SEC-9 in a real browser: the page warns shortly before the 15-minute idle logout,
「ログインを継続する」 keeps the session, and at the limit the page logs out on the server.
Playwright's clock drives the page's timers (no sleeping)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _logged_in_with_clock(page):
    """A customer logged in on ``page``, whose timers Playwright's clock drives."""
    from tests import factories

    customer = factories.customer(password="Pass1234", password_is_initial=False)
    page.clock.install()
    page.goto("/login/")
    page.get_by_label("契約者ID").fill(customer.contract_id)
    page.get_by_label("ログインパスワード").fill("Pass1234")
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_url("**/")
    return customer


def test_idle_warning_continue_and_logout(page, device, settings):
    from django.contrib.sessions.models import Session

    customer = _logged_in_with_clock(page)
    warning = page.get_by_role("alertdialog")
    assert not warning.is_visible()

    idle, before = settings.SESSION_IDLE_SECONDS, settings.SESSION_WARNING_SECONDS
    page.clock.fast_forward((idle - before + 1) * 1000)
    warning.wait_for(state="visible")
    assert "まもなく自動的にログアウトします" in warning.inner_text()
    page.get_by_role("button", name="ログインを継続する").click()
    warning.wait_for(state="hidden")
    assert [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()] == [str(customer.user_id)]

    page.clock.fast_forward((idle + 3) * 1000)
    page.wait_for_url("**/logged-out/?reason=timeout")
    page.get_by_text("一定時間操作がなかったため").wait_for()
    logged_in = [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id")]
    assert logged_in == []  # ended on the server, not only on the screen
    page.goto("/")
    assert page.url.endswith("/login/")


def test_a_tab_left_open_does_not_log_out_a_customer_working_in_another(page, device, settings):
    """walk25 F24, SEC-9: the session ends after 15 minutes without a request — not 15
    minutes after the load of whichever tab the customer left open. Tab A shows 残高照会;
    ten minutes later the customer works in tab B; when tab A's own 15 minutes pass it
    follows tab B's deadline (shared by the tabs) instead of logging out, and the logout
    comes 15 minutes after tab B's request."""
    from django.contrib.sessions.models import Session

    _logged_in_with_clock(page)

    idle = settings.SESSION_IDLE_SECONDS
    page.clock.fast_forward(600 * 1000)
    other = page.context.new_page()
    other.goto("/accounts/balances/")  # a request: the server's idle clock starts again
    page.clock.fast_forward((idle - 600 + 5) * 1000)  # tab A's own deadline has passed
    page.wait_for_timeout(300)
    assert "/logged-out/" not in page.url and "/logged-out/" not in other.url
    assert not page.get_by_role("alertdialog").is_visible()
    logged_in = [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id")]
    assert len(logged_in) == 1

    other.close()
    page.clock.fast_forward((600 - 20) * 1000)  # tab B's deadline is near: tab A warns
    page.get_by_role("alertdialog").wait_for(state="visible")
    assert "/logged-out/" not in page.url
    page.clock.fast_forward(25 * 1000)  # 15 minutes after tab B's request
    page.wait_for_url("**/logged-out/?reason=timeout")
    logged_in = [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id")]
    assert logged_in == []


def test_a_csv_download_in_another_tab_moves_the_shared_deadline(page, device, settings):
    """walk26 F10, SEC-9: a CSV download is a request (the server's idle clock starts
    again) but loads no page, so the tabs kept the old deadline: tab A 残高照会, tab B
    入出金明細; ten minutes later a download in tab B; five and a half minutes after that both
    tabs logged out. The download moves the shared deadline; on a phone there is no
    download (UI-1) and nothing to move it."""
    from tests import factories
    from security.session import SEEN_AT_WRITE_AFTER_SECONDS

    customer = _logged_in_with_clock(page)
    account = factories.account(owner=customer, balance=50_000)
    page.goto("/accounts/balances/")
    idle = settings.SESSION_IDLE_SECONDS
    other = page.context.new_page()
    other.goto(f"/accounts/statements/?account={account.pk}&mode=count&count=10&order=desc")
    if device == "iphone":
        assert other.locator("form.download-form").count() == 0
        return
    page.clock.fast_forward(600 * 1000)
    with other.expect_download() as download:
        other.get_by_role("button", name="CSVダウンロード").click()
    assert download.value.suggested_filename.endswith(".csv")
    assert other.url.endswith("count=10&order=desc")  # no page load
    page.clock.fast_forward((idle - 600 + 5) * 1000)  # the page loads' own deadline has passed
    page.wait_for_timeout(300)
    assert "/logged-out/" not in page.url and "/logged-out/" not in other.url
    assert not page.get_by_role("alertdialog").is_visible()

    # the deadline counted from the download, as the server guarantees it at the least
    left = (idle - SEEN_AT_WRITE_AFTER_SECONDS) - (idle - 600 + 5)
    page.clock.fast_forward((left - 30) * 1000)
    page.get_by_role("alertdialog").wait_for(state="visible")
    other.get_by_role("alertdialog").wait_for(state="visible")
    page.clock.fast_forward(35 * 1000)
    page.wait_for_url("**/logged-out/?reason=timeout")
