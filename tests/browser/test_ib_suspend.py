"""SEC-7/10 in a real browser (desktop and iPhone): IB取引中止 with the image-card step-up."""

import pytest

from tests.browser.test_security_flows import _customer, _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _pick_pictures(page, customer):
    """As a customer does: click, in each named cell, the picture the card shows there."""
    from security import cards, pictograms
    from security.models import ImageCardChallenge

    challenge = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
    for cell in challenge.cells:
        group = page.locator(f'fieldset.card-cell[data-cell="{cards.cell_label(cell)}"]')
        name = pictograms.pictogram_name(challenge.card.layout[cell])
        group.get_by_role("img", name=name, exact=True).click()
        assert group.get_by_role("radio", name=name, exact=True).is_checked()


def test_suspend_ib_with_image_card(page, device):
    customer = _customer()
    _login(page, customer)
    page.wait_for_url("**/")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="各種設定").click()
    page.get_by_role("link", name="IB取引中止").click()
    page.get_by_role("button", name="次へ（認証へ）").click()
    page.wait_for_url("**/settings/suspend/confirm/")
    assert page.locator("fieldset.card-cell img").first.is_visible()
    _pick_pictures(page, customer)
    page.screenshot(path=f"test-artifacts/ib-suspend-stepup-{device}.png", full_page=True)
    page.get_by_role("button", name="利用を停止する").click()
    page.wait_for_url("**/settings/suspend/done/")
    page.get_by_text("ご利用を停止しました").first.wait_for()
    customer.refresh_from_db()
    assert customer.status == "suspended"
    page.goto("/")
    assert page.url.endswith("/login/")
