"""XFER-5/6 in a real browser on a desktop and an iPhone 13: a transfer scheduled for the
next business day (the date typed on the phone, the calendar input on the PC), shown in
振込予約取消 (menu), cancelled there with the image card, then 取消済 in 予約状況."""

from __future__ import annotations

import pytest

from tests.browser.test_security_flows import _answer_card_challenge, _login
from tests.browser.test_transfers import _menu, banks, frozen_clock, no_horizontal_overflow  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _to_details(page):
    """From 振込 to the details of a new payee (池田泉州銀行 貝塚 普通 12345)."""
    page.goto("/transfers/")
    page.get_by_role("button", name="新しい振込先に振り込む").click()
    page.goto("/transfers/new/bank/0161/002/")
    page.get_by_label("口座番号").fill("12345")
    page.get_by_role("button", name="次へ（口座名義の確認）").click()
    page.wait_for_url("**/transfers/details/")


def test_schedule_see_and_cancel_with_the_image_card(page, device):
    from cosei_ib import bankcalendar
    from tests import factories
    from tests.security.secondfactor import customer_with_card
    from transfers.models import Transfer

    customer = customer_with_card(password="Pass1234", email="s@example.jp")
    account = factories.account(owner=customer, balance=100_000)
    day = bankcalendar.next_business_day(bankcalendar.local_now().date())
    _login(page, customer)
    page.wait_for_url("**/")

    _menu(page, "振込")
    page.wait_for_url("**/transfers/")
    _to_details(page)
    page.get_by_label("振込金額（円）").fill("20000")
    date_input = page.get_by_label("振込日")
    # walk33 F2: the field starts at today; emptied (as the PC's picker sends a date it cannot
    # hold), it is asked for — it was read as 本日 and the meant 予約 executed at once
    today = bankcalendar.local_now().date()
    assert date_input.input_value() == (f"{today:%Y/%m/%d}" if device == "iphone" else today.isoformat())
    date_input.fill("")
    page.get_by_role("button", name="次へ（確認画面へ）").click()
    page.get_by_text("振込日を入力してください（本日のお振込は本日の日付を入力してください）。").first.wait_for()
    assert "/transfers/details/" in page.url
    date_input = page.get_by_label("振込日")
    if device == "iphone":
        assert date_input.get_attribute("type") != "date"  # UI-1: typed, no picker
        date_input.fill("2026/12/12")  # a Saturday first: refused with the reason
        page.get_by_role("button", name="次へ（確認画面へ）").click()
        page.get_by_text("土曜日のため、振込日に指定できません").wait_for()
        page.get_by_label("振込日").fill(f"{day:%Y/%m/%d}")
    else:
        assert date_input.get_attribute("type") == "date"
        date_input.fill(day.isoformat())
    page.get_by_role("button", name="次へ（確認画面へ）").click()
    page.wait_for_url("**/transfers/confirm/")
    page.get_by_text(f"{day.year}年{day.month}月{day.day}日").first.wait_for()
    page.get_by_text("以下の内容で振込を予約します").wait_for()  # not 「お振込します」 (walk20)
    _answer_card_challenge(page, customer)
    page.get_by_role("button", name="振込を予約する").click()
    page.wait_for_url("**/transfers/done/*/")
    page.get_by_text("振込予約を受け付けました").wait_for()
    # XFER-5: titled for what happened, with お受取金額 and 依頼人名 as on the confirm page (walk22)
    assert page.get_by_role("heading", level=1).inner_text() == "振込予約の受付完了"
    assert page.title().startswith("振込予約の受付完了")
    assert page.locator('[data-figure="credited"]').inner_text() == "20,000円"
    assert page.locator('[data-figure="sender"]').is_visible()
    transfer = Transfer.objects.get(customer=customer)
    assert transfer.status == "scheduled" and transfer.transfer_date == day
    account.refresh_from_db()
    assert account.balance == 100_000

    _menu(page, "振込予約取消")
    page.wait_for_url("**/transfers/scheduled/")
    row = page.locator(f"#scheduled-{transfer.pk}")
    assert "20,000円" in row.inner_text() and "ﾀﾅｶ ﾊﾅｺ" in row.inner_text()
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/scheduled-list-{device}.png", full_page=True)
    row.get_by_role("button", name="この予約を取り消す").click()
    page.wait_for_url("**/transfers/scheduled/cancel/")
    _answer_card_challenge(page, customer)
    page.get_by_role("button", name="予約を取り消す").click()
    page.wait_for_url("**/transfers/scheduled/")
    page.get_by_text("お振込のご予約を取り消しました").wait_for()
    transfer.refresh_from_db()
    assert transfer.status == "cancelled"
    page.get_by_role("link", name="予約状況（実行結果）").click()
    page.wait_for_url("**/transfers/scheduled/history/")
    assert "取消済" in page.locator(f"#scheduled-{transfer.pk}").inner_text()
    assert no_horizontal_overflow(page)
    # opened from the menu: no 「各種設定に戻る」 to a page the customer never saw (walk22)
    assert page.get_by_role("link", name="各種設定に戻る").count() == 0

    # opened from 各種設定: its back link returns there, also from 予約状況 (XFER-6, UI-1)
    _menu(page, "各種設定")
    page.wait_for_url("**/settings/")
    page.get_by_role("link", name="振込予約取消", exact=True).last.click()
    page.wait_for_url("**/transfers/scheduled/?from=settings")
    page.get_by_role("link", name="予約状況（実行結果）").click()
    page.wait_for_url("**/transfers/scheduled/history/?from=settings")
    page.get_by_role("link", name="各種設定に戻る").click()
    page.wait_for_url("**/settings/")


BROKEN_IMAGES = "() => [...document.images].filter(img => !img.complete || img.naturalWidth === 0).length"


def test_refused_after_the_right_answer_no_broken_images(page, device):
    """XFER-6, SEC-14 (walk25 F11), desktop and iPhone 13: the 引落口座 frozen by staff while
    the customer answers the card on the 振込 confirm page → the message, the button, 「本人
    認証は完了しています」 and no (broken) challenge images; after the unfreeze the button alone
    executes. Then the branch cancels a 予約 while the customer is on 振込予約取消（確認）→
    back on the list with 「当金庫窓口で既に取り消されています」, as after a cancel."""
    from accounts.models import Account
    from cosei_ib import bankcalendar
    from tests import factories
    from tests.security.secondfactor import customer_with_card
    from transfers import scheduled
    from transfers.models import Transfer

    customer = customer_with_card(password="Pass1234", email="s@example.jp")
    account = factories.account(owner=customer, balance=100_000)
    day = bankcalendar.next_business_day(bankcalendar.local_now().date())
    _login(page, customer)
    page.wait_for_url("**/")
    _to_details(page)
    page.get_by_label("振込金額（円）").fill("20000")
    page.get_by_role("button", name="次へ（確認画面へ）").click()
    page.wait_for_url("**/transfers/confirm/")
    Account.objects.filter(pk=account.pk).update(status=Account.Status.FROZEN)
    _answer_card_challenge(page, customer)
    page.get_by_role("button", name="振込を実行する").click()
    page.get_by_text("お支払いが停止されているため").wait_for()
    page.get_by_text("本人認証は完了しています").wait_for()
    assert page.locator("fieldset.card-cell").count() == 0
    assert page.evaluate(BROKEN_IMAGES) == 0
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/confirm-verified-refused-{device}.png", full_page=True)
    Account.objects.filter(pk=account.pk).update(status=Account.Status.OPEN)
    page.get_by_role("button", name="振込を実行する").click()
    page.wait_for_url("**/transfers/done/*/")
    assert Transfer.objects.get(customer=customer).status == Transfer.Status.EXECUTED

    _to_details(page)
    page.get_by_label("振込金額（円）").fill("10000")
    page.get_by_label("振込日").fill(day.isoformat() if device != "iphone" else f"{day:%Y/%m/%d}")
    page.get_by_role("button", name="次へ（確認画面へ）").click()
    page.wait_for_url("**/transfers/confirm/")
    _answer_card_challenge(page, customer)
    page.get_by_role("button", name="振込を予約する").click()
    page.wait_for_url("**/transfers/done/*/")
    reserved = Transfer.objects.get(customer=customer, status=Transfer.Status.SCHEDULED)
    page.goto("/transfers/scheduled/")
    page.locator(f"#scheduled-{reserved.pk}").get_by_role("button", name="この予約を取り消す").click()
    page.wait_for_url("**/transfers/scheduled/cancel/")
    scheduled.scheduled_transfer_staff_cancel(transfer_id=reserved.pk, reason="お申し出", actor="staff01")
    _answer_card_challenge(page, customer)
    page.get_by_role("button", name="予約を取り消す").click()
    page.wait_for_url("**/transfers/scheduled/")
    page.get_by_text(scheduled.CANCEL_ALREADY_BY_BANK).wait_for()  # not 「予約中ではないため」 (walk29 F5)
    assert page.evaluate(BROKEN_IMAGES) == 0


def test_a_replayed_confirmation_of_a_cancelled_booking_says_cancelled(page, device):
    """walk26 F2: the old confirmation of a 予約 since cancelled, posted again, led to
    「振込完了／振込手続きが完了しました」 with 「今回の振込先を登録」. The page now says what
    became of it and offers no registration."""
    from django.utils import timezone

    from cosei_ib import bankcalendar
    from tests import factories
    from tests.security.secondfactor import customer_with_card
    from transfers.models import Transfer

    customer = customer_with_card(password="Pass1234", email="s@example.jp")
    factories.account(owner=customer, balance=100_000)
    day = bankcalendar.next_business_day(bankcalendar.local_now().date())
    _login(page, customer)
    page.wait_for_url("**/")
    _to_details(page)
    page.get_by_label("振込金額（円）").fill("20000")
    page.get_by_label("振込日").fill(f"{day:%Y/%m/%d}" if device == "iphone" else day.isoformat())
    page.get_by_role("button", name="次へ（確認画面へ）").click()
    page.wait_for_url("**/transfers/confirm/")
    _answer_card_challenge(page, customer)
    page.get_by_role("button", name="振込を予約する").click()
    page.wait_for_url("**/transfers/done/*/")
    assert page.get_by_role("button", name="今回の振込先を登録").is_visible()
    transfer = Transfer.objects.get(customer=customer)
    # cancelled as the customer cancels (transfers 0031: with its audit row and mail)
    from transfers.scheduled import scheduled_transfer_cancel
    scheduled_transfer_cancel(customer=customer, transfer_id=transfer.pk)

    # the confirm page's POST again (a resent form, an old tab): its result is shown
    page.evaluate("""([confirmation, token]) => {
        const form = document.createElement("form");
        form.method = "post"; form.action = "/transfers/confirm/";
        for (const [name, value] of [["confirmation", confirmation], ["csrfmiddlewaretoken", token]]) {
            const input = document.createElement("input");
            input.type = "hidden"; input.name = name; input.value = value; form.appendChild(input);
        }
        document.body.appendChild(form); form.submit();
    }""", [str(transfer.stepup_id), page.locator("input[name=csrfmiddlewaretoken]").first.input_value()])
    page.wait_for_load_state()
    page.get_by_text("ご予約のお振込は取り消されています。お振込は行われていません。").wait_for()
    assert page.url.endswith(f"/transfers/done/{transfer.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "振込予約（取消済）"
    assert page.title().startswith("振込予約（取消済）")
    assert page.get_by_role("button", name="今回の振込先を登録").count() == 0
    assert "振込完了" not in page.content() and "振込手続きが完了しました" not in page.content()
    assert no_horizontal_overflow(page)


def test_the_last_date_named_is_a_business_day_and_is_taken(page, device):
    """XFER-11, UI-1 (probe34 F2), desktop and iPhone 13: on Tuesday 2026-12-08 a date far
    ahead was refused with 「振込日は2027年2月6日（60日後）までの営業日を…」, a Saturday that
    the next try was refused as 土曜日. The page names 2027年2月5日, and takes it."""
    import datetime as dt

    import time_machine

    from tests import factories
    from tests.security.secondfactor import customer_with_card
    from tests.transfers.scheduled_support import at

    def typed(day: dt.date) -> str:
        return f"{day:%Y/%m/%d}" if device == "iphone" else day.isoformat()

    with time_machine.travel(at(dt.date(2026, 12, 8)), tick=False):
        customer = customer_with_card(password="Pass1234", email="s@example.jp")
        factories.account(owner=customer, balance=100_000)
        _login(page, customer)
        page.wait_for_url("**/")
        _to_details(page)
        page.get_by_label("振込金額（円）").fill("20000")
        page.get_by_label("振込日").fill(typed(dt.date(2099, 12, 31)))
        page.get_by_role("button", name="次へ（確認画面へ）").click()
        page.get_by_text("振込日は2027年2月5日までの営業日を指定してください（ご予約は60日先までの営業日です）。"
                         ).first.wait_for()
        assert "2027年2月6日" not in page.content()
        if device != "iphone":  # the picker stops at the same day
            assert page.get_by_label("振込日").get_attribute("max") == "2027-02-05"
        assert no_horizontal_overflow(page)
        page.get_by_label("振込日").fill(typed(dt.date(2027, 2, 5)))
        page.get_by_role("button", name="次へ（確認画面へ）").click()
        page.wait_for_url("**/transfers/confirm/")
        page.get_by_text("2027年2月5日").first.wait_for()


def test_a_booking_for_tomorrow_confirmed_after_midnight_goes_back_to_the_date(page, device):
    """XFER-5, XFER-1 (sched35), desktop and iPhone 13: the confirm page of a 予約 for Tuesday
    shown at 23:58 on Monday, answered with the image card at 0:01 on Tuesday, executed a
    same-day transfer at once. Now: the input page with why, the date asked for again at the
    field and everything typed kept; nothing posted, nothing booked."""
    import datetime as dt

    import time_machine

    from accounts.models import Journal
    from tests import factories
    from tests.security.secondfactor import customer_with_card
    from tests.transfers.scheduled_support import at
    from transfers.models import Transfer

    monday, tuesday = dt.date(2026, 12, 7), dt.date(2026, 12, 8)
    with time_machine.travel(at(monday, 23, 58), tick=False) as traveller:
        customer = customer_with_card(password="Pass1234", email="s@example.jp")
        account = factories.account(owner=customer, balance=100_000)
        _login(page, customer)
        page.wait_for_url("**/")
        _to_details(page)
        page.get_by_label("振込金額（円）").fill("20000")
        page.get_by_label("振込日").fill("2026/12/08" if device == "iphone" else "2026-12-08")
        page.get_by_role("button", name="次へ（確認画面へ）").click()
        page.wait_for_url("**/transfers/confirm/")
        page.get_by_text("以下の内容で振込を予約します").wait_for()
        _answer_card_challenge(page, customer)
        traveller.move_to(at(tuesday, 0, 1))
        page.get_by_role("button", name="振込を予約する").click()
        page.wait_for_url("**/transfers/details/")
        page.get_by_text("日付が変わったため、振込日（2026年12月8日）のご予約は受け付けていません。"
                         "振込日を選び直してください。").wait_for()
        page.get_by_text("振込日（2026年12月8日）は本日になったため、ご予約できません。").wait_for()
        assert page.get_by_label("振込金額（円）").input_value() == "20000"
        assert page.get_by_label("振込日").input_value() == ("2026/12/08" if device == "iphone" else "2026-12-08")
        assert no_horizontal_overflow(page)
    assert not Transfer.objects.exists() and not Journal.objects.filter(kind=Journal.Kind.TRANSFER).exists()
    account.refresh_from_db()
    assert account.balance == 100_000
