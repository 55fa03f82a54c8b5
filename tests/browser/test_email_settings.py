"""NOTE-2 / NOTE-4 in a real browser (desktop and iPhone 13): change the address with the
image-card step-up, read the code from the signed .eml written for the new address, enter
it; the change is then in effect and both addresses are told."""

from __future__ import annotations

import email
import re
import threading

import pytest

from tests.browser.layout import choices_sit_beside_their_labels

from tests.browser.test_security_flows import _answer_card_challenge, _login
from tests.security.secondfactor import customer_with_card

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _run_worker() -> None:
    """The outbox worker, on its own thread (Playwright's loop owns the main one)."""
    from django.db import connection

    from notifications.tasks import outbox_send

    def work() -> None:
        try:
            outbox_send()
        finally:
            connection.close()  # this thread's own connection, or the test DB cannot be dropped

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=30)


def _code_from_eml(folder, address: str) -> str:
    files = [path for path in folder.glob("*.eml") if address in path.name]
    assert len(files) == 1, files
    message = email.message_from_bytes(files[0].read_bytes())
    assert message.get_content_type() == "multipart/signed"
    assert message["To"] == address
    text = message.get_payload()[0].get_payload(decode=True).decode("utf-8")
    return re.search(r"確認コード：(\d{6})", text).group(1)


def test_change_the_address_with_step_up_and_the_mailed_code(page, device, settings, tmp_path):
    settings.EMAIL_BACKEND = "notifications.backends.EmlFileBackend"
    settings.NOTIFICATIONS_EML_DIR = str(tmp_path)
    customer = customer_with_card(password="Pass1234", email="old@example.jp")
    new_address = f"new-{device}@example.jp"

    _login(page, customer)
    page.wait_for_url("**/")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="各種設定").click()
    page.get_by_role("link", name="Ｅメール設定").click()
    page.wait_for_url("**/settings/email/")
    page.get_by_text("必ずお送りするお知らせ").wait_for()
    assert choices_sit_beside_their_labels(page)
    page.get_by_role("link", name="アドレスを変更する").click()
    page.get_by_label("新しいＥメールアドレス", exact=True).fill(new_address)
    page.get_by_label("新しいＥメールアドレス（確認用）").fill("other@example.jp")
    page.get_by_role("button", name="確認画面へ").click()
    page.get_by_text("確認用のＥメールアドレスが一致しません。").wait_for()
    # walk25 F14: the current address in full-width capitals is no change ...
    page.get_by_label("新しいＥメールアドレス", exact=True).fill("ＯＬＤ＠ＥＸＡＭＰＬＥ．ＪＰ")
    page.get_by_label("新しいＥメールアドレス（確認用）").fill("old@example.jp")
    page.get_by_role("button", name="確認画面へ").click()
    page.get_by_text("現在ご登録のアドレスと同じです。").wait_for()
    # ... and a confirmation differing only in case is no mismatch
    page.get_by_label("新しいＥメールアドレス", exact=True).fill(new_address)
    page.get_by_label("新しいＥメールアドレス（確認用）").fill(new_address.upper())
    page.get_by_role("button", name="確認画面へ").click()
    page.wait_for_url("**/settings/email/confirm/")
    assert new_address in page.locator("#pending-change").inner_text()
    _answer_card_challenge(page, customer)
    page.screenshot(path=f"test-artifacts/email-settings-stepup-{device}.png", full_page=True)
    page.get_by_role("button", name="実行").click()
    page.wait_for_url("**/settings/email/verify/")

    _run_worker()
    code = _code_from_eml(tmp_path, new_address)
    wrong = "000000" if code != "000000" else "111111"
    page.get_by_label("確認コード（6桁）").fill(wrong)
    page.get_by_role("button", name="変更を完了する").click()
    page.get_by_text("確認コードが正しくありません").first.wait_for()
    page.get_by_label("確認コード（6桁）").fill(code)
    page.get_by_role("button", name="変更を完了する").click()
    page.wait_for_url("**/settings/email/")
    page.get_by_text("Ｅメールアドレスを変更しました。").wait_for()
    assert page.locator("#current-email").inner_text() == new_address
    page.screenshot(path=f"test-artifacts/email-settings-done-{device}.png", full_page=True)
    customer.refresh_from_db()
    assert customer.email == new_address

    _run_worker()
    told = {path.name.split("-", 2)[2].rsplit("-", 1)[0] for path in tmp_path.glob("*.eml")}
    assert {"old@example.jp", new_address} <= told
    page.get_by_role("link", name="セキュアメール（電子署名付きメール）について").click()
    page.get_by_text("電子証明書を利用した電子署名").wait_for()
