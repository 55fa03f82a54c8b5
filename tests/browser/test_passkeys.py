"""SEC-16 in a real browser (desktop and iPhone 13) with Chromium's virtual authenticator:
register a passkey (after the image-card step-up), log out, log in with it, then confirm
an operation with it."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_security_flows import _answer_card_challenge, _customer, _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _virtual_authenticator(page):
    """A platform authenticator with user verification (Face ID / fingerprint), through
    the DevTools protocol; the browser's own WebAuthn code talks to it."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
    }})
    return cdp


def test_register_a_passkey_log_in_with_it_and_confirm_with_it(page, device):
    from security.models import AuditEvent, Passkey

    customer = _customer()
    _virtual_authenticator(page)
    _login(page, customer)
    page.wait_for_url("**/")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="各種設定").click()
    page.get_by_role("link", name="パスキー").click()
    page.get_by_label("パスキーの名前（例：私のスマートフォン）").fill("テスト端末")
    page.get_by_role("button", name="確認画面へ").click()
    page.wait_for_url("**/settings/passkeys/confirm/")
    _answer_card_challenge(page, customer)
    page.get_by_role("button", name="実行").click()
    page.wait_for_url("**/settings/passkeys/register/")
    page.get_by_role("button", name="パスキーを作成").click()
    page.wait_for_url("**/settings/passkeys/")
    expect(page.get_by_role("cell", name="テスト端末")).to_be_visible()
    page.screenshot(path=f"test-artifacts/passkeys-{device}.png", full_page=True)
    assert Passkey.objects.filter(customer=customer, name="テスト端末").count() == 1

    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_url("**/logged-out/")
    _login(page, customer)
    page.wait_for_url("**/login/passkey/")
    page.get_by_role("button", name="パスキーでログイン").click()
    page.wait_for_url(lambda url: url.endswith("/") and "/login" not in url)
    assert AuditEvent.objects.filter(customer=customer, action="login_passkey", outcome="success").exists()

    # a step-up confirmed with the passkey: 「パスキーでのみログイン」 on
    page.goto("/settings/passkeys/")
    page.get_by_role("button", name="利用するに変更する").click()
    page.wait_for_url("**/settings/passkeys/confirm/")
    page.get_by_role("button", name="パスキーで認証").click()
    page.wait_for_url("**/settings/passkeys/")
    expect(page.get_by_text("「パスキーでのみログイン」の設定を変更しました。")).to_be_visible()
    customer.refresh_from_db()
    assert customer.passkey_only
    assert Passkey.objects.get(customer=customer).sign_count >= 2
