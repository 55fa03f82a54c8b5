"""UI-1/UI-2 in a real browser (desktop and iPhone 13): a button a script un-hides stays
hidden without JavaScript (walk33 F8), and a disabled button looks disabled (walk33 F1)."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_security_flows import _answer_card_challenge, _customer, _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page_without_javascript(playwright, browser, device, live_server):
    """The `page` fixture's context (tests/conftest.py) with JavaScript off. No axe check:
    it runs as a page script."""
    from tests.conftest import DEVICES

    spec = DEVICES[device]
    options = dict(playwright.devices[spec]) if isinstance(spec, str) else dict(spec)
    options.update(locale="ja-JP", timezone_id="Asia/Tokyo", base_url=live_server.url,
                   java_script_enabled=False)
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.device = device
    yield page
    context.close()


def _script_buttons_shown(page, device, *, shown: bool) -> None:
    """Walk every page with a button the scripts un-hide (softkeyboard.js, passkey.js): the
    login page's ソフトウェアキーボード (PC only), パスキーでログイン, the step-up's パスキーで認証
    and the registration's パスキーを作成. Each is visible exactly when JavaScript runs; the
    page's other way on works either way."""
    from django.db import transaction

    from tests.security.test_passkeys import registered

    def check(button):
        assert button.count() == 1
        if shown:
            expect(button).to_be_visible()
        else:
            expect(button).to_be_hidden()

    customer = _customer()
    with transaction.atomic():  # as the views call the passkey services
        registered(customer)  # a passkey (not 「パスキーでのみログイン」): the login asks for it first
    page.goto("/login/")
    if device == "desktop":
        check(page.locator("button.softkb-toggle"))
    else:
        assert page.locator("button.softkb-toggle").count() == 0
    page.get_by_label("契約者ID").fill(customer.contract_id)
    page.get_by_label("ログインパスワード").fill("Pass1234")
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_url("**/login/passkey/")
    check(page.locator("button[data-passkey]", has_text="パスキーでログイン"))
    page.get_by_role("button", name="この端末ではパスキーを使わずにログインする").click()
    page.wait_for_url(lambda url: url.endswith("/") and "/login" not in url)

    page.goto("/settings/passkeys/")
    page.get_by_label("パスキーの名前（例：私のスマートフォン）").fill("二台目")
    page.get_by_role("button", name="確認画面へ").click()
    page.wait_for_url("**/settings/passkeys/confirm/")
    check(page.locator("button[data-passkey]", has_text="パスキーで認証"))
    page.get_by_role("button", name="画像認証カード・ワンタイムパスワードで認証する").click()
    page.locator("fieldset.stepup-card").wait_for()
    _answer_card_challenge(page, customer)
    page.get_by_role("button", name="実行").click()
    page.wait_for_url("**/settings/passkeys/register/")
    check(page.locator("button[data-passkey]", has_text="パスキーを作成"))
    page.screenshot(path=f"test-artifacts/passkey-register-{'js' if shown else 'nojs'}-{page.device}.png",
                    full_page=True)


def test_buttons_a_script_unhides_stay_hidden_without_javascript(page_without_javascript, device):
    """UI-2 (walk33 F8): `display: inline-block` on the button classes beat the browser's
    [hidden] rule, so these dead buttons were shown beside 「…JavaScriptを有効にしてください」."""
    _script_buttons_shown(page_without_javascript, device, shown=False)


def test_buttons_a_script_unhides_are_shown_with_javascript(page, device):
    _script_buttons_shown(page, device, shown=True)


def test_a_disabled_button_looks_disabled_and_is_described_by_its_hint(page, device):
    """UI-1 (walk33 F1): with no passkey, 「利用するに変更する」 is disabled but had the same
    green outline, green text and pointer as an enabled button, and its hint
    「先にパスキーを登録してください。」 was not tied to it. It is grey with a dashed border and
    the not-allowed cursor, its text readable (axe's checks pass on the page), and the
    hint is its accessible description."""
    customer = _customer()
    _login(page, customer)
    page.wait_for_url(lambda url: url.endswith("/") and "/login" not in url)
    page.goto("/settings/passkeys/")
    button = page.get_by_role("button", name="利用するに変更する")
    expect(button).to_be_disabled()
    expect(button).to_have_accessible_description("先にパスキーを登録してください。")
    style = button.evaluate("""b => { const s = getComputedStyle(b);
        return [s.cursor, s.backgroundColor, s.color, s.borderTopStyle]; }""")
    assert style == ["not-allowed", "rgb(238, 241, 239)", "rgb(91, 107, 99)", "dashed"]
    # the enabled buttons keep their look: 「確認画面へ」 green, the header's ログアウト white
    enabled = page.get_by_role("button", name="確認画面へ").evaluate(
        "b => [getComputedStyle(b).cursor, getComputedStyle(b).backgroundColor]")
    assert enabled == ["pointer", "rgb(11, 93, 59)"]
    logout = page.get_by_role("button", name="ログアウト").evaluate(
        "b => [getComputedStyle(b).cursor, getComputedStyle(b).backgroundColor]")
    assert logout == ["pointer", "rgb(255, 255, 255)"]
    page.locator("section", has=button).screenshot(path=f"test-artifacts/passkey-only-disabled-{device}.png")
