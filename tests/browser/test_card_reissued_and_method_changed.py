"""Session 33's step-up changes in a real browser, desktop and iPhone 13: after a card 再発行 the
card step says the old card no longer answers (SEC-5, walk33 F3), and a confirm page whose
method was changed elsewhere sends the customer back to the start once (SEC-14, walk33 F5)."""

import pytest

from tests.browser.layout import no_horizontal_overflow
from tests.browser.test_ib_suspend import _pick_pictures
from tests.browser.test_security_flows import _customer, _login
from tests.browser.test_two_tabs_and_wrong_method import _limit_confirm_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_card_step_says_the_card_was_reissued(page, device):
    from security import cards
    from transfers.models import TransferLimit

    customer = _customer()
    cards.image_card_issue(customer=customer, actor="staff01", reason="紛失のお申し出")
    _login(page, customer)
    page.wait_for_url("**/")
    _limit_confirm_page(page, "100000")
    notice = page.locator("[data-card-reissued]")
    assert notice.is_visible()
    assert "再発行しました。以前のカードはご利用いただけません。新しいカードでお答えください。" in notice.inner_text()
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/card-reissued-{device}.png", full_page=True)
    _pick_pictures(page, customer)  # the new card answers
    page.get_by_role("button", name="変更する").click()
    page.wait_for_url("**/transfers/limit/done/")
    limit = TransferLimit.objects.get(customer=customer)
    assert 100_000 in (limit.daily_limit, limit.pending_limit)


def test_a_confirm_whose_method_changed_elsewhere_goes_back_to_the_start(page, device):
    from security.stepup import STEPUP_METHOD_CHANGED
    from tests.security import secondfactor
    from transfers.models import TransferLimit

    customer = _customer()
    _login(page, customer)
    page.wait_for_url("**/")
    _limit_confirm_page(page, "100000")
    _pick_pictures(page, customer)
    secondfactor.activate_otp(customer)  # on another device, meanwhile
    page.get_by_role("button", name="変更する").click()
    page.wait_for_url("**/transfers/limit/")
    page.get_by_text(STEPUP_METHOD_CHANGED).first.wait_for()
    assert page.get_by_text(STEPUP_METHOD_CHANGED).count() == 1
    assert page.locator("fieldset.stepup-card").count() == 0  # no card grid to answer again
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/method-changed-{device}.png", full_page=True)
    assert not TransferLimit.objects.filter(customer=customer, daily_limit=100_000).exists()
    assert not TransferLimit.objects.filter(customer=customer, pending_limit=100_000).exists()
