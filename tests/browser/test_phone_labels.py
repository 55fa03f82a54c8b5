"""UI-1 on an iPhone 13 (390×844): labels and titles never break inside a word. Japanese
text may break between any two characters, so a label squeezed into a narrow column broke
mid-word — 「現在の1日の利用限 / 度額」 on 利用限度額変更, 「お支払可 / 能額」 under 振込's
引落口座, 「（受付完 / 了）」 in Pay-easy's title."""

from __future__ import annotations

import pytest

from tests.browser.layout import lines_of_elements, lines_of_phrase, no_horizontal_overflow
from tests.browser.test_security_flows import _answer_card_challenge, _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def device():
    return "iphone"


def _on_one_line(lines: dict[str, int]) -> dict[str, int]:
    """The entries that take more than one line (none, when all is well)."""
    return {text: count for text, count in lines.items() if count != 1}


def test_limit_pages_and_the_debit_account_choice_keep_their_labels_whole(page):
    from tests import factories
    from tests.security.secondfactor import customer_with_card

    customer = customer_with_card(password="Pass1234")
    factories.account(owner=customer, balance=2_000_600)
    _login(page, customer)
    page.wait_for_url("**/")

    page.goto("/settings/")
    page.get_by_role("link", name="利用限度額変更").click()
    page.wait_for_url("**/transfers/limit/")
    assert lines_of_elements(page, ".xfer-summary dt")  # the figures are there
    assert _on_one_line(lines_of_elements(page, ".xfer-summary dt")) == {}
    assert lines_of_phrase(page, "現在の1日の利用限度額") == [1]
    assert no_horizontal_overflow(page)
    page.get_by_label("変更後の1日の利用限度額（円）").fill("500000")
    page.get_by_role("button", name="次へ（認証へ）").click()
    page.wait_for_url("**/transfers/limit/confirm/")
    _answer_card_challenge(page, customer)
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url("**/transfers/limit/done/")
    assert _on_one_line(lines_of_elements(page, ".xfer-summary dt")) == {}
    assert no_horizontal_overflow(page)

    page.goto("/transfers/")
    assert lines_of_phrase(page, "お支払可能額") == [1]
    assert _on_one_line(lines_of_elements(page, ".choice .keep-together")) == {}
    assert no_horizontal_overflow(page)

    page.goto("/settings/otp-login/")
    assert lines_of_phrase(page, "ログイン時認証設定") == [1]


def test_a_limit_capped_by_the_bank_maximum_keeps_its_labels_whole(page):
    """XFER-8, UI-1 (walk26 F6): the page names the customer's choice beside the capped
    limit; on a phone the added row and note keep their labels whole and nothing overflows."""
    from tests import factories
    from tests.security.secondfactor import customer_with_card
    from transfers.models import TransferSettings

    customer = customer_with_card(password="Pass1234")
    factories.account(owner=customer, balance=100_000)
    TransferSettings.objects.update_or_create(pk=1, defaults={"bank_max_daily_limit": 800_000})
    _login(page, customer)
    page.wait_for_url("**/")
    page.goto("/transfers/limit/")
    summary = page.locator(".xfer-summary").inner_text()
    assert "800,000円（当金庫の上限額）" in summary and "お客さまのご設定" in summary and "1,000,000円" in summary
    assert _on_one_line(lines_of_elements(page, ".xfer-summary dt")) == {}
    assert no_horizontal_overflow(page)
    page.screenshot(path="test-artifacts/limit-capped-iphone.png", full_page=True)
    page.get_by_label("変更後の1日の利用限度額（円）").fill("800000")
    page.get_by_role("button", name="次へ（認証へ）").click()
    page.wait_for_url("**/transfers/limit/confirm/")
    assert "1,000,000円（当金庫の上限により800,000円）" in page.locator("main").inner_text()
    assert no_horizontal_overflow(page)


def test_the_payee_actions_are_buttons_a_finger_can_hit(page):
    """UI-1: 登録名変更 and 削除 were two words of link text side by side (about 20 pixels
    high), easy to hit the wrong one on a phone. They are buttons of at least 44 pixels,
    apart from each other."""
    from tests.security.secondfactor import customer_with_card
    from tests.transfers.support import registered_payee

    customer = customer_with_card(password="Pass1234")
    registered_payee(customer, bank_code="0161", bank_name="池田泉州銀行", branch_code="002",
                     branch_name="貝塚", account_type="1", account_number="0012345", holder_kana="ﾀﾅｶ ﾊﾅｺ")
    _login(page, customer)
    page.wait_for_url("**/")
    page.goto("/transfers/payees/")
    rename = page.get_by_role("link", name="登録名変更").bounding_box()
    delete = page.get_by_role("link", name="削除").bounding_box()
    assert rename["height"] >= 44 and delete["height"] >= 44
    assert delete["x"] >= rename["x"] + rename["width"] + 4 or delete["y"] >= rename["y"] + rename["height"]
    assert no_horizontal_overflow(page)


def test_the_history_keeps_each_date_on_one_line(page):
    """UI-1: 取引履歴照会's 内容 of a limit raise ends 「（2026年12月7日 0:00より）」; on a
    phone the stacked row broke inside the date (「2026年12 / 月7日」). A row written with
    the old zero-padded date reads as the pages write dates too."""
    from security.models import AuditEvent
    from tests.security.secondfactor import customer_with_card

    customer = customer_with_card(password="Pass1234")
    for summary in ("1,000,000円 → 2,000,000円（2026年12月7日 0:00より）",
                    "50,000円 → 3,000,000円（2026年12月08日 0:00より）"):
        AuditEvent.objects.create(customer=customer, contract_id=customer.contract_id,
                                  action="limit_change", outcome="success",
                                  client_ip="2001:db8:85a3::8a2e:370:7334", summary=summary)
    _login(page, customer)
    page.wait_for_url("**/")
    page.goto("/history/")
    assert lines_of_phrase(page, "（2026年12月7日 0:00より）") == [1]
    assert lines_of_phrase(page, "（2026年12月8日 0:00より）") == [1]
    assert "12月08日" not in page.locator("table.history").inner_text()
    stamps = lines_of_elements(page, "table.history td[data-label=日時] .keep-together")
    assert stamps and _on_one_line(stamps) == {}
    assert no_horizontal_overflow(page)
    page.screenshot(path="test-artifacts/history-dates-iphone.png", full_page=True)


@pytest.mark.parametrize("device", ["desktop", "iphone"])
def test_service_tiles_stay_whole_and_balances_keep_their_amounts_at_the_right(page, device):
    """UI-1: the home page's tile broke 「税金・各種料金の払 / 込み」 on a desktop, and on an
    iPhone 13 残高照会's 前月末残高 amount, wrapped under its long label, sat at the left
    edge under the label while every other amount sat at the right."""
    from tests import factories
    from tests.security.secondfactor import customer_with_card

    import datetime as dt

    from django.utils import timezone

    from django.db import transaction

    customer = customer_with_card(password="Pass1234")
    last_month = timezone.localtime().replace(day=1) - dt.timedelta(days=5)
    with transaction.atomic():  # a backdated posting goes only onto an account opened with it (LEDGER-7)
        account = factories.account(owner=customer)
        factories.deposit(account, 2_338_290, posted_at=last_month)  # a 前月末残高 as long as the demo's
    _login(page, customer)
    page.wait_for_url("**/")
    tiles = lines_of_elements(page, ".service-tile")
    assert "税金・各種料金の払込み" in tiles and _on_one_line(tiles) == {}
    assert no_horizontal_overflow(page)

    page.goto("/accounts/balances/")
    offsets = page.evaluate("""[...document.querySelectorAll('.figure')].map(figure =>
      Math.round(figure.getBoundingClientRect().right - figure.querySelector('dd').getBoundingClientRect().right))""")
    assert len(offsets) == 4 and set(offsets) == {0}
    assert no_horizontal_overflow(page)
