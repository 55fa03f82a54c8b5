"""Session 19's review findings in a real browser, desktop and iPhone: a confirm page left
open in another tab does not run the other tab's operation (SEC-14, XFER-8), and an
address opened with the wrong method answers with a Japanese page (UI-1)."""

import pytest

from tests.browser.layout import no_horizontal_overflow
from tests.browser.test_ib_suspend import _pick_pictures
from tests.browser.test_security_flows import _customer, _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _limit_confirm_page(page, amount: str) -> None:
    page.goto("/transfers/limit/")
    page.get_by_label("変更後の1日の利用限度額（円）").fill(amount)
    page.get_by_role("button", name="次へ（認証へ）").click()
    page.wait_for_url("**/transfers/limit/confirm/")


def test_a_confirm_page_in_another_tab_changes_nothing(page, device):
    from transfers.models import TransferLimit

    customer = _customer()
    _login(page, customer)
    page.wait_for_url("**/")
    _limit_confirm_page(page, "100000")  # tab A shows 100,000円
    other = page.context.new_page()  # tab B, same session, starts another change
    _limit_confirm_page(other, "200000")
    _pick_pictures(page, customer)
    page.get_by_role("button", name="変更する").click()
    page.get_by_text("別の画面で新しいお手続きが始まったため").first.wait_for()
    assert page.locator('[data-figure="limit-new"]').inner_text() == "200,000円"  # what would run now
    assert not TransferLimit.objects.filter(customer=customer, daily_limit=100_000).exists()
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/two-tabs-refused-{device}.png", full_page=True)
    _pick_pictures(other, customer)  # tab B's own page still confirms
    other.get_by_role("button", name="変更する").click()
    other.wait_for_url("**/transfers/limit/done/")
    limit = TransferLimit.objects.get(customer=customer)
    assert 200_000 in (limit.daily_limit, limit.pending_limit)


def test_a_post_only_address_opened_by_a_link_says_so_in_japanese(page, device):
    customer = _customer()
    _login(page, customer)
    page.wait_for_url("**/")
    response = page.goto("/logout/")
    assert response.status == 405
    assert page.locator("h1").inner_text() == "この操作は受け付けられません"
    assert "画面のボタンからお手続きください" in page.get_by_role("alert").inner_text()
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/method-not-allowed-{device}.png", full_page=True)
    page.get_by_role("link", name="メイン画面へ").click()
    page.wait_for_url("**/")
    assert f"{customer.name_kanji} 様" in page.locator(".who-name").inner_text()  # still signed in


def test_a_form_left_open_after_logout_in_another_tab_says_logged_out(page, device):
    """SEC-9 (walk25 F12): 「ログアウト」 in tab B, then tab A's 利用限度額 input posted → not
    「…不正な操作の可能性があります。」 but why the page no longer works, with the login link;
    nothing started."""
    from security.models import StepUp

    customer = _customer()
    _login(page, customer)
    page.wait_for_url("**/")
    page.goto("/transfers/limit/")
    page.get_by_label("変更後の1日の利用限度額（円）").fill("100000")
    other = page.context.new_page()
    other.goto("/")
    other.evaluate("document.querySelector('form.logout-form').submit()")  # its ログアウト button
    other.wait_for_url("**/logged-out/**")
    page.get_by_role("button", name="次へ（認証へ）").click()
    page.get_by_text("ログアウトしたか、一定時間操作がなかったため、この画面は使えなくなりました。").wait_for()
    assert "不正な操作" not in page.content()
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/post-after-logout-{device}.png", full_page=True)
    assert not StepUp.objects.filter(customer=customer).exists()
    page.get_by_role("link", name="ログイン画面へ").click()
    page.wait_for_url("**/login/")


def test_a_confirm_page_left_open_after_ib_suspend_in_another_tab_says_nothing_ran(page, device):
    """SEC-7, SEC-9 (walk30 F2): IB取引中止 in tab B, then tab A's 利用限度額 confirm posted —
    a bare login page before, now the page that says the session ended and nothing sent
    from this screen ran, as after ログアウト; nothing changed."""
    from transfers.models import TransferLimit

    customer = _customer()
    _login(page, customer)
    page.wait_for_url("**/")
    _limit_confirm_page(page, "100000")  # tab A
    other = page.context.new_page()
    other.goto("/settings/suspend/")
    other.get_by_role("button", name="次へ（認証へ）").click()
    other.wait_for_url("**/settings/suspend/confirm/")
    _pick_pictures(other, customer)
    other.get_by_role("button", name="利用を停止する").click()
    other.wait_for_url("**/settings/suspend/done/")
    page.locator("fieldset.card-cell img").first.wait_for()
    page.get_by_role("button", name="変更する").click()
    page.get_by_text("ログアウトしたか、一定時間操作がなかったため、この画面は使えなくなりました。").wait_for()
    assert "実行されていません" in page.content()
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/post-after-ib-suspend-{device}.png", full_page=True)
    assert not TransferLimit.objects.filter(customer=customer, daily_limit=100_000).exists()
    assert not TransferLimit.objects.filter(customer=customer, pending_limit=100_000).exists()


def test_after_the_cells_changed_in_another_tab_the_right_answer_passes(page, device):
    """SEC-5, SEC-7 (walk27 F1): tab A (利用限度額) and tab B (IB取引中止) show the same
    challenge; A answers it. B's answer is refused — 「認証用画像の指定が変わりました」 —
    and B shows new cells, whose right answer then passes (it was refused again and again:
    the hidden id stayed the stale one). Nothing counted, no 「認証誤り」 in the history."""
    from security.models import AuditEvent, Credential, ImageCardChallenge

    customer = _customer()
    _login(page, customer)
    page.wait_for_url("**/")
    _limit_confirm_page(page, "100000")
    other = page.context.new_page()
    other.goto("/settings/suspend/")
    other.get_by_role("button", name="次へ（認証へ）").click()
    other.wait_for_url("**/settings/suspend/confirm/")
    first = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
    _pick_pictures(page, customer)
    _pick_pictures(other, customer)  # the same cells, picked before A sends its answer
    page.get_by_role("button", name="変更する").click()
    page.wait_for_url("**/transfers/limit/done/")
    other.get_by_role("button", name="利用を停止する").click()
    second = _told_cells_changed_and_resent(other, customer, button="利用を停止する",
                                            done="**/settings/suspend/done/", shot=f"cells-changed-{device}")
    assert second.pk != first.pk
    assert Credential.objects.get(customer=customer, kind="image_card").failures == 0
    assert not AuditEvent.objects.filter(customer=customer, summary__contains="認証誤り").exists()


def test_a_bad_challenge_id_is_told_once_and_the_resend_passes(page, device):
    """SEC-5, UI-1: a hidden challenge id that is not the page's (here: not a number) is told
    「認証用画像の指定が変わりました」; the page then holds the id of the challenge it shows,
    so the right answer sent from it passes — the bad id was rendered again and every resend
    was refused the same way until a reload. Nothing counted."""
    from security.models import Credential

    customer = _customer()
    _login(page, customer)
    page.wait_for_url("**/")
    _limit_confirm_page(page, "100000")
    hidden = page.locator('input[name="challenge"]')
    hidden.evaluate("input => { input.value = 'abc'; }")
    _pick_pictures(page, customer)
    page.get_by_role("button", name="変更する").click()
    _told_cells_changed_and_resent(page, customer, button="変更する", done="**/transfers/limit/done/",
                                   shot=f"bad-challenge-id-told-{device}")
    assert Credential.objects.get(customer=customer, kind="image_card").failures == 0


def _told_cells_changed_and_resent(page, customer, *, button: str, done: str, shot: str):
    """The page says 「認証用画像の指定が変わりました」 and holds the id of the challenge it
    shows now (returned); the right cells sent from it reach ``done``."""
    from security.models import ImageCardChallenge

    page.get_by_text("認証用画像の指定が変わりました").first.wait_for()
    challenge = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
    assert page.locator('input[name="challenge"]').input_value() == str(challenge.pk)
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/{shot}.png", full_page=True)
    _pick_pictures(page, customer)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(done)
    return challenge
