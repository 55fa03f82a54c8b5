"""SEC-4/5/6/7 in a real browser, on a desktop and on an iPhone: OTP activation from the
login page (with the image-card challenge), login with the OTP, an OTP step-up on the
settings change, and the software keyboard (PC only)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.layout import lines_of_phrase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def frozen_clock():
    """OTP codes change every 30 seconds; a flow that crossed a step boundary would see
    another code than it computed. Freeze the clock of this process (the test and the
    live server thread alike) at the start of a step; the browser does not need it."""
    import datetime as dt

    import time_machine

    start = dt.datetime.now(dt.timezone.utc).replace(second=1, microsecond=0)
    with time_machine.travel(start, tick=False):
        yield


def _customer():
    from tests.security.secondfactor import customer_with_card

    return customer_with_card(password="Pass1234")


def _answer_card_challenge(page, customer):
    """Pick, in each named cell, the pictogram the customer's card shows there."""
    from security import cards, pictograms
    from security.models import ImageCardChallenge

    challenge = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
    for cell in challenge.cells:
        label = cards.cell_label(cell)
        group = page.locator(f'fieldset.card-cell[data-cell="{label}"]')
        assert label in group.locator("legend").inner_text()
        assert group.locator("img").count() == 8
        name = pictograms.pictogram_name(challenge.card.layout[cell])
        # as a customer does: tap the picture (the radio under it is visually hidden, and
        # checking it directly lost to the picture on top under load)
        group.get_by_role("img", name=name, exact=True).click()
        expect(group.get_by_role("radio", name=name, exact=True)).to_be_checked()


def _login(page, customer, password="Pass1234"):
    page.goto("/login/")
    page.get_by_label("契約者ID").fill(customer.contract_id)
    page.get_by_label("ログインパスワード").fill(password)
    page.get_by_role("button", name="ログイン", exact=True).click()


_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def test_otp_activation_then_login_and_step_up_with_otp(page, device):
    from security.models import AuditEvent, OtpToken

    customer = _customer()
    page.goto("/login/")
    page.get_by_role("link", name="ワンタイムパスワード 利用開始").click()
    page.wait_for_url("**/otp/activate/")
    page.get_by_label("契約者ID").fill(customer.contract_id)
    page.get_by_label("ログインパスワード").fill("Pass1234")
    page.get_by_role("button", name="次へ").click()

    page.wait_for_url("**/otp/activate/token/")
    serial = page.locator("#otp-serial").inner_text().strip()
    assert re.fullmatch(r"CS[0-9]{10}", serial)
    assert page.locator(".otp-qr svg").is_visible()
    manual = page.locator("details.otp-manual")
    if device == "iphone":
        # on a phone the key is shown at once, with a link that opens the authenticator app
        assert manual.get_attribute("open") is not None
        assert page.get_by_role("link", name="認証アプリに登録する").get_attribute("href").startswith("otpauth://totp/")
        # UI-1: the title and the key's summary break before their 「（…）」, not inside
        # 「（トークンの設 / 定）」 or 「（手入力用のキ / ー）」
        assert lines_of_phrase(page, "（トークンの設定）") == [1]
        assert lines_of_phrase(page, "（手入力用のキー）") == [1]
    else:
        assert page.get_by_role("link", name="認証アプリに登録する").count() == 0
        page.get_by_text("QRコードを読み取れない場合").click()
    secret = page.locator("#otp-secret").inner_text().replace(" ", "").strip()
    totp = pyotp.TOTP(secret)
    page.screenshot(path=f"test-artifacts/otp-token-{device}.png", full_page=True)
    page.get_by_role("link", name="次へ").click()

    page.wait_for_url("**/otp/activate/register/")
    page.get_by_label("シリアル番号").fill(serial)
    activation_code = totp.now()
    page.get_by_label("ワンタイムパスワード", exact=True).fill(activation_code)
    page.get_by_label("認証する（ログイン時も利用）").check()
    _answer_card_challenge(page, customer)
    page.screenshot(path=f"test-artifacts/otp-register-{device}.png", full_page=True)
    page.get_by_role("button", name="登録").click()

    page.wait_for_url("**/otp/activate/done/")
    page.get_by_text("ワンタイムパスワードの利用開始が完了しました").first.wait_for()
    token = OtpToken.objects.get(customer=customer)
    assert token.is_active and token.required_at_login and token.serial == serial
    page.get_by_role("link", name="ログイン画面に戻る").click()

    # Login now asks for the OTP. The activation's code is used: wait for the next one
    # by computing the code of the next step (accepted within the one-step tolerance).
    page.wait_for_url("**/login/")
    _login(page, customer)
    page.wait_for_url("**/login/otp/")
    # the activation's own code, not totp.now(): a 30-second step may have begun since
    page.get_by_label("ワンタイムパスワード").fill(activation_code)
    page.get_by_role("button", name="確認").click()
    assert "使用済み" in page.locator(".field-error").inner_text()
    code = totp.at(time.time() + 30)
    page.get_by_label("ワンタイムパスワード").fill(f"{code[:3]} {code[3:]}")  # as the app shows it (probe35 F4)
    page.get_by_role("button", name="確認").click()
    page.wait_for_url(re.compile(r".*/$"))
    assert f"{customer.name_kanji} 様" in page.locator(".who-name").inner_text()

    # Step-up with the OTP on a real settings change.
    page.goto("/settings/")
    page.get_by_role("link", name="ワンタイムパスワードのログイン時認証設定").click()
    page.get_by_label("認証しない（ログイン時は不要）").check()
    page.get_by_role("button", name="確認画面へ").click()
    page.wait_for_url("**/settings/otp-login/confirm/")
    assert "認証しない" in page.locator("#pending-choice").inner_text()
    recent = {totp.at(time.time() + 30 * offset) for offset in range(-3, 5)}
    page.get_by_label("ワンタイムパスワード").fill(next(
        code for code in (f"{n:06d}" for n in range(1000)) if code not in recent))
    page.get_by_role("button", name="実行").click()
    page.get_by_text("ワンタイムパスワードが正しくありません").first.wait_for()
    # The login accepted the next step's code and django-otp synchronised its drift (+1),
    # so the step after that is the next code the server accepts.
    code = totp.at(time.time() + 60)  # full-width, with the ideographic blank (the IME on)
    page.get_by_label("ワンタイムパスワード").fill(f"{code[:3]}　{code[3:]}".translate(_FULL_WIDTH))
    page.get_by_role("button", name="実行").click()
    page.wait_for_url("**/settings/")
    assert "設定を変更しました" in page.locator(".messages").inner_text()
    token.refresh_from_db()
    assert not token.required_at_login
    assert AuditEvent.objects.filter(customer=customer, action="otp_login_setting").count() == 1


def test_image_card_challenge_in_the_browser_is_sticky_and_counts(page, device):
    """The card challenge as customers see it (activation step): images served, the same
    cells after a reload, a wrong serial refused without counting, a wrong pick counted in
    the database and the same cells asked again."""
    from security.models import Credential, ImageCardChallenge, OtpToken

    customer = _customer()
    page.goto("/otp/activate/")
    page.get_by_label("契約者ID").fill(customer.contract_id)
    page.get_by_label("ログインパスワード").fill("Pass1234")
    page.get_by_role("button", name="次へ").click()
    page.wait_for_url("**/otp/activate/token/")
    page.goto("/otp/activate/register/")
    cells = page.locator("fieldset.card-cell legend .cell-label").all_inner_texts()
    images = [img.evaluate("i => i.naturalWidth") for img in page.locator(".card-candidate img").all()]
    assert len(images) == 16 and all(width > 0 for width in images)  # served, not broken
    page.reload()
    assert page.locator("fieldset.card-cell legend .cell-label").all_inner_texts() == cells
    challenge = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
    right = challenge.candidates[0].index(challenge.card.layout[challenge.cells[0]])

    def fill(serial):
        page.locator("fieldset.card-cell").first.locator(f'input[value="{(right + 1) % 8}"]').check(force=True)
        _pick_right(page, challenge, 1)
        page.get_by_label("シリアル番号").fill(serial)
        page.get_by_label("ワンタイムパスワード", exact=True).fill("123456")
        page.get_by_label("認証しない（ログイン時は不要）").check()
        page.get_by_role("button", name="登録").click()

    fill("CS0000000000")
    page.get_by_text("シリアル番号が正しくありません").first.wait_for()
    assert not Credential.objects.filter(customer=customer, kind="image_card", failures__gt=0).exists()
    fill(OtpToken.objects.get(customer=customer).serial)
    assert "選択された認証用画像が正しくありません" in page.locator(".form-errors").inner_text()
    assert Credential.objects.get(customer=customer, kind="image_card").failures == 1
    assert page.locator("fieldset.card-cell legend .cell-label").all_inner_texts() == cells  # sticky
    page.screenshot(path=f"test-artifacts/card-challenge-{device}.png", full_page=True)


def _pick_right(page, challenge, position):
    from security import cards

    label = cards.cell_label(challenge.cells[position])
    right = challenge.candidates[position].index(challenge.card.layout[challenge.cells[position]])
    page.locator(f'fieldset.card-cell[data-cell="{label}"] input[value="{right}"]').check(force=True)


def test_software_keyboard_on_pc_only(page, device):
    customer = _customer()
    page.goto("/login/")
    toggle = page.locator("button.softkb-toggle")
    if device == "iphone":
        assert toggle.count() == 0
        assert page.locator('script[src*="softkeyboard"]').count() == 0
        return
    expect(toggle).to_be_visible()  # shown by JS after load
    page.get_by_label("契約者ID").fill(customer.contract_id)
    toggle.click()
    keyboard = page.get_by_role("group", name="ソフトウェアキーボード")
    expect(keyboard).to_be_visible()
    keys = keyboard.locator("button.softkb-key")
    assert keys.count() == 36
    first_layout = keys.all_inner_texts()
    assert sorted(first_layout) == sorted("abcdefghijklmnopqrstuvwxyz0123456789")
    keyboard.get_by_role("button", name="大文字入力の切り替え").click()
    keyboard.get_by_role("button", name="大文字 P").click()
    keyboard.get_by_role("button", name="大文字入力の切り替え").click()
    for character in "as":
        keyboard.get_by_role("button", name=f"小文字 {character}", exact=True).click()
    keyboard.get_by_role("button", name="数字 9", exact=True).click()
    keyboard.get_by_role("button", name="1文字削除").click()
    # Keyboard use: focus a key and press Enter / Space.
    keyboard.get_by_role("button", name="小文字 s", exact=True).focus()
    page.keyboard.press("Enter")
    for digit in "123":
        keyboard.get_by_role("button", name=f"数字 {digit}", exact=True).click()
    keyboard.get_by_role("button", name="数字 4", exact=True).focus()
    page.keyboard.press("Space")
    assert page.get_by_label("ログインパスワード").input_value() == "Pass1234"
    page.keyboard.press("Escape")
    assert keyboard.count() == 0 and toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    reopened = page.get_by_role("group", name="ソフトウェアキーボード").locator("button.softkb-key")
    assert sorted(reopened.all_inner_texts()) == sorted(first_layout)
    page.screenshot(path=f"test-artifacts/soft-keyboard-{device}.png", full_page=True)
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_url(re.compile(r".*/$"))
    assert f"{customer.name_kanji} 様" in page.locator(".who-name").inner_text()
