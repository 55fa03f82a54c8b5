"""SEC-1, SEC-6, SEC-8 in a real browser, on a desktop and an iPhone 13 (probe35 F7, F10):
the 契約者ID typed in groups logs in and a malformed one gets the format message; with the
OTP locked, the login's OTP step says so at once instead of showing a form."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, contract_id, password="Pass1234"):
    page.goto("/login/")
    page.get_by_label("契約者ID").fill(contract_id)
    page.get_by_label("ログインパスワード").fill(password)
    page.get_by_role("button", name="ログイン", exact=True).click()


def test_the_contract_id_in_groups_logs_in_and_a_malformed_one_is_told_its_form(page, device):
    from security.forms import CONTRACT_ID_FORMAT
    from tests import factories

    customer = factories.customer(password="Pass1234", password_is_initial=False)
    cid = customer.contract_id
    _login(page, f"{cid[:1]}{'0' * 20}")  # 21 digits and 20 get the one format message
    assert CONTRACT_ID_FORMAT in page.locator(".form-errors, .field-error").first.inner_text()
    _login(page, "9" * 20)
    assert CONTRACT_ID_FORMAT in page.locator(".form-errors, .field-error").first.inner_text()
    page.screenshot(path=f"test-artifacts/login-contract-id-format-{device}.png", full_page=True)
    wide = f"{cid[:4]}　{cid[4:7]}　{cid[7:]}".translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    _login(page, wide)
    page.wait_for_url("**/")
    assert f"{customer.name_kanji} 様" in page.locator(".who-name").inner_text()


def test_a_locked_otp_is_told_at_the_otp_step_with_what_to_do(page, device):
    from security.otp import OTP_LOCKED
    from tests import factories
    from tests.security.secondfactor import activate_otp, customer_with_card

    customer = customer_with_card()
    activate_otp(customer, required_at_login=True)
    factories.credential_locked(customer, "otp")
    _login(page, customer.contract_id)
    page.wait_for_url("**/login/")
    notice = page.get_by_role("alert").or_(page.get_by_role("status")).filter(has_text="ワンタイムパスワードが所定の回数")
    notice.first.wait_for()
    assert OTP_LOCKED in notice.first.inner_text()
    assert page.get_by_label("ワンタイムパスワード").count() == 0  # no form that cannot be used
    page.screenshot(path=f"test-artifacts/login-otp-locked-{device}.png", full_page=True)


def test_an_otp_typed_with_a_hyphen_is_valid_in_the_page_and_logs_in(page, device):
    """SEC-6, UI-1: the field's pattern ([0-9０-９\\s]*) marked 「123-456」 invalid in the
    browser though the server reads it; the field has no pattern now, and keeps the numeric
    keyboard (inputmode)."""
    from tests.security.secondfactor import activate_otp, code_at_next_step, customer_with_card

    customer = customer_with_card()
    token = activate_otp(customer, required_at_login=True)
    _login(page, customer.contract_id)
    page.wait_for_url("**/login/otp/")
    field = page.get_by_label("ワンタイムパスワード")
    assert field.get_attribute("inputmode") == "numeric"
    code = code_at_next_step(token)
    field.fill(f"{code[:3]}-{code[3:]}")
    assert field.evaluate("input => input.validity.valid")
    page.screenshot(path=f"test-artifacts/login-otp-hyphen-{device}.png", full_page=True)
    page.get_by_role("button", name="確認", exact=True).click()
    page.wait_for_url("**/")
    assert f"{customer.name_kanji} 様" in page.locator(".who-name").inner_text()
