"""STAFF-1 in a real browser (desktop and iPhone): staff sign in with password + OTP, find a
locked customer and unlock with a reason."""

import base64

import pyotp
import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_signs_in_with_otp_and_unlocks(page, device):
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.roles import branch_staff_group_ensure
    from security.models import AuditEvent, Credential
    from tests import factories

    staff = get_user_model().objects.create_user(username="madoguchi", password="Staff-pass-1", is_staff=True)
    staff.groups.add(branch_staff_group_ensure())
    totp_device = TOTPDevice.objects.create(user=staff, name="端末", confirmed=True)
    code = pyotp.TOTP(base64.b32encode(totp_device.bin_key).decode()).now()
    customer = factories.customer(name_kanji="施錠 花子")
    Credential.objects.create(customer=customer, kind="password", failures=5,
                              locked_at="2026-01-01T00:00:00+09:00")

    page.goto("/admin/")
    page.get_by_label("ユーザー名").fill("madoguchi")
    page.get_by_label("パスワード:", exact=True).fill("Staff-pass-1")
    page.get_by_label("ワンタイムパスワード").fill(code)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("**/admin/")
    assert page.get_by_role("link", name="契約者").first.is_visible()
    page.goto("/admin/accounts/customer/?q=施錠")
    page.get_by_role("link", name=customer.contract_id).click()
    page.get_by_role("link", name="ロック解除").click()
    page.get_by_label("理由（本人確認の方法など）").fill("運転免許証で本人確認")
    page.get_by_role("button", name="ロックを解除する").click()
    # SEC-8: unlocking the login password issues a new initial password on a printable slip
    slip = page.locator(".print-slip")
    slip.wait_for()
    assert "初回ログインパスワード通知書" in slip.inner_text()
    password = slip.locator(".initial-password").inner_text()
    # admin_print.js reveals the button after load: wait for it (a bare is_visible() raced)
    expect(page.get_by_role("button", name="印刷")).to_be_visible()
    page.screenshot(path=f"test-artifacts/admin-unlock-{device}.png", full_page=True)
    credential = Credential.objects.get(customer=customer, kind="password")
    assert not credential.is_locked
    customer.user.refresh_from_db()
    assert customer.user.check_password(password)
    assert AuditEvent.objects.filter(customer=customer, action="unlock", actor="madoguchi").exists()
    page.reload()  # the browser posts the form again: nothing is issued twice
    page.wait_for_url(f"**/admin/accounts/customer/{customer.pk}/change/")
    assert "この発行は処理済みです" in page.locator("ul.messagelist").inner_text()
    customer.user.refresh_from_db()
    assert customer.user.check_password(password)
