"""STAFF-1, LEDGER-6 in a real browser, on a desktop and an iPhone 13: branch staff sign in
to admin with password + OTP, are refused a past day in Japanese, add a 臨時休業日 and see it
listed; the calendar counts it at once."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.test_interbank_admin import _staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_add_a_closing_day(page, device):
    from accounts.models import BankClosingDay
    from cosei_ib import bankcalendar

    today = bankcalendar.local_now().date()
    day = bankcalendar.next_business_day(today + dt.timedelta(days=14))
    _staff_login(page)
    page.goto("/admin/accounts/bankclosingday/")
    assert "組み込みの休業日" in page.content()
    page.goto("/admin/accounts/bankclosingday/add/")
    page.get_by_label("日付").fill(today.isoformat())
    # walk26 F8: the field says customers read it
    page.get_by_label("お客さま向けの名称").fill("システム更改")
    assert "お客さまの画面にそのまま表示されます" in page.locator(".field-name").inner_text()
    page.get_by_role("button", name="保存", exact=True).click()
    assert "臨時休業日には明日以降の日付を指定してください" in page.locator(".errorlist").first.inner_text()
    page.get_by_label("日付").fill(day.isoformat())
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_url("**/admin/accounts/bankclosingday/")
    assert "システム更改" in page.locator("#result_list").inner_text()
    page.screenshot(path=f"test-artifacts/admin-closing-day-{device}.png", full_page=True)
    assert BankClosingDay.objects.get().date == day
    assert not bankcalendar.is_business_day(day)
