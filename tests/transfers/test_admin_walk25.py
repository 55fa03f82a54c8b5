"""STAFF-1, XFER-4, LEDGER-1 (walk25): what staff read on the fee table, 振込の設定, the
account's 拘束額 and the 予約振込 pages — the project's one message per mistake, amounts as
「30,000円」, and a date the page will not use refused in words."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.services import HOLD_OUT_OF_RANGE
from tests import factories
from tests.security.test_staff_admin import staff, staff_client, superuser_signed_in  # noqa: F401 - fixtures
from transfers.admin import THRESHOLD_TOO_LARGE

pytestmark = pytest.mark.django_db

FEE_FIELDS = {"threshold": 30000, "same_branch_under": 0, "same_branch_over": 0, "other_branch_under": 110,
              "other_branch_over": 220, "other_bank_under": 330, "other_bank_over": 550}


def _errors(html: str) -> list[str]:
    import re

    return re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S)


@pytest.mark.parametrize("typed", ["99999999999999999999", "-1", "1000000000001"])
def test_a_hold_out_of_range_says_the_projects_message_once(typed):
    """walk25 F4: 20 digits got Django's raw 「この値は 9223372036854775807 以下…」 and the
    input carried bigint's min and max."""
    account = factories.account(balance=1_000)
    client = superuser_signed_in("root-hold")
    url = f"/admin/accounts/account/{account.pk}/change/"
    page = client.get(url).content.decode()
    assert "9223372036854775807" not in page and "-9223372036854775808" not in page
    html = client.post(url, {"status": account.status, "hold_amount": typed, "status_seen": account.status,
                             "hold_amount_seen": "0", "reason": "差押命令"}).content.decode()
    assert html.count(HOLD_OUT_OF_RANGE) == 1, _errors(html)
    assert len(_errors(html)) == 1, _errors(html)
    assert "9223372036854775807" not in html


def test_a_threshold_too_large_says_one_message(staff_client):  # noqa: F811
    day = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    html = staff_client.post("/admin/transfers/feeschedule/add/", {
        "effective_from": day, **FEE_FIELDS, "threshold": 999_999_999_999}).content.decode()
    assert html.count(THRESHOLD_TOO_LARGE) == 1
    assert len(_errors(html)) == 1, _errors(html)


@pytest.mark.parametrize(("route", "name"), [("same_branch", "同一店宛"), ("other_branch", "当金庫本支店宛"),
                                             ("other_bank", "他行宛")])
def test_an_inverted_fee_pair_is_refused_naming_the_route(staff_client, route, name):  # noqa: F811
    """XFER-4 (walk25 F5): 同一店宛 未満 500 / 以上 0 was saved."""
    from transfers.models import FeeSchedule

    day = timezone.localdate() + dt.timedelta(days=5)
    html = staff_client.post("/admin/transfers/feeschedule/add/", {
        "effective_from": day.isoformat(), **FEE_FIELDS, f"{route}_under": 500, f"{route}_over": 0}).content.decode()
    assert f"{name}の手数料が、金額区分以上（0円）の方が金額区分未満（500円）より低くなっています。" in html
    assert not FeeSchedule.objects.filter(effective_from=day).exists()
    # equal is fine (同一店宛 0 / 0 is the default)
    response = staff_client.post("/admin/transfers/feeschedule/add/", {
        "effective_from": day.isoformat(), **FEE_FIELDS, f"{route}_under": 500, f"{route}_over": 500})
    assert response.status_code == 302


def test_a_start_date_more_than_two_years_ahead_is_refused(staff_client):  # noqa: F811
    from transfers.models import FeeSchedule

    html = staff_client.post("/admin/transfers/feeschedule/add/", {
        "effective_from": "9999-12-31", **FEE_FIELDS}).content.decode()
    assert "までの日付を指定してください（2年先まで）" in html
    assert not FeeSchedule.objects.filter(effective_from=dt.date(9999, 12, 31)).exists()


@pytest.mark.parametrize("shape", ["{y}/{m}/{d}", "{y}/{m2}/{d2}", "FULL"])
def test_a_start_date_typed_with_slashes_or_full_width_is_read(staff_client, shape):  # noqa: F811
    from transfers.models import FeeSchedule

    day = timezone.localdate() + dt.timedelta(days=40)
    if shape == "FULL":
        typed = day.isoformat().translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789-"})
    else:
        typed = shape.format(y=day.year, m=day.month, d=day.day, m2=f"{day.month:02d}", d2=f"{day.day:02d}")
    response = staff_client.post("/admin/transfers/feeschedule/add/", {"effective_from": typed, **FEE_FIELDS})
    assert response.status_code == 302, typed
    assert FeeSchedule.objects.filter(effective_from=day).exists()


def test_a_start_date_in_another_form_says_the_expected_form(staff_client):  # noqa: F811
    html = staff_client.post("/admin/transfers/feeschedule/add/", {
        "effective_from": "来月1日", **FEE_FIELDS}).content.decode()
    example = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert f"適用開始日は {example} の形で入力してください。" in html


def test_the_fee_list_the_held_fee_page_and_the_settings_show_yen(staff_client):  # noqa: F811
    """STAFF-1, LEDGER-1 (walk25 F6): 30000 and 10000000 were shown raw."""
    from transfers.models import FeeSchedule, TransferSettings

    html = staff_client.get("/admin/transfers/feeschedule/").content.decode()
    assert "30,000円" in html and "550円" in html and ">30000<" not in html
    in_force = FeeSchedule.objects.get(effective_from=dt.date(2000, 1, 1))
    html = staff_client.get(f"/admin/transfers/feeschedule/{in_force.pk}/change/").content.decode()
    assert "30,000円" in html and "330円" in html
    TransferSettings.objects.update_or_create(pk=1, defaults={"bank_max_daily_limit": 10_000_000})
    html = staff_client.get("/admin/transfers/transfersettings/").content.decode()
    assert "10,000,000円" in html and ">10000000<" not in html


@pytest.mark.parametrize("typed", ["abc", "9999-12-31", "TOMORROW", "", "2026-02-30"])
def test_a_rerun_for_a_day_it_will_not_use_is_refused_and_runs_nothing(staff_client, typed):  # noqa: F811
    """STAFF-1, XFER-5 (walk25 F17): such a day was silently replaced with today, and the
    page reported 「<today> 以前を再実行: 振込済 0件…」 as a success."""
    from cosei_ib import bankcalendar
    from security.models import AuditEvent

    today = bankcalendar.local_now().date()
    if typed == "TOMORROW":
        typed = (today + dt.timedelta(days=1)).isoformat()
    response = staff_client.post("/admin/transfers/scheduledtransfer/run/", {"day": typed}, follow=True)
    html = response.content.decode()
    assert f"振込日には本日以前の日付を {today.isoformat()} の形で入力してください" in html
    assert "以前を再実行" not in html
    assert not AuditEvent.objects.filter(action="transfer_batch").exists()


def test_a_rerun_for_today_typed_in_full_width_runs_today(staff_client):  # noqa: F811
    from cosei_ib import bankcalendar

    today = bankcalendar.local_now().date()
    typed = today.isoformat().translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789-"})
    response = staff_client.post("/admin/transfers/scheduledtransfer/run/", {"day": typed})
    assert response.url.endswith(f"?summary_date={today.isoformat()}")


def test_the_scheduled_list_filters_by_tomorrow_and_the_next_seven_days(staff_client, rf):  # noqa: F811
    """STAFF-1 (walk25 F10): the 振込日 filter offered only 今日 / 過去7日間 / 今月 / 今年 for
    transfers that are by definition ahead."""
    import time_machine
    from django.contrib import admin

    from cosei_ib import bankcalendar
    from tests.transfers.scheduled_support import at, funded_payer, schedule
    from transfers.models import ScheduledTransfer
    from transfers.scheduled_admin import TransferDayFilter

    html = staff_client.get("/admin/transfers/scheduledtransfer/").content.decode()
    for label, value in (("明日", "tomorrow"), ("今後7日間", "next7"), ("今日", "today")):
        assert f"?transfer_day={value}" in html and label in html
    assert staff_client.get("/admin/transfers/scheduledtransfer/?transfer_day=zzz").status_code in (200, 302)

    near = bankcalendar.next_business_day(dt.date(2027, 3, 2))
    later = bankcalendar.next_business_day(near + dt.timedelta(days=3))
    far = bankcalendar.next_business_day(near + dt.timedelta(days=12))
    customer, account = funded_payer(0, day=near)
    booked = {day: schedule(customer, account, 1_000, day=day, hour=9 + n).pk
              for n, day in enumerate((near, later, far))}
    model_admin = admin.site._registry[ScheduledTransfer]

    def shown(value):
        chosen = TransferDayFilter(rf.get("/"), {"transfer_day": [value]}, ScheduledTransfer, model_admin)
        return set(chosen.queryset(None, ScheduledTransfer.objects.all()).values_list("pk", flat=True))

    with time_machine.travel(at(near - dt.timedelta(days=1), 15), tick=False):
        assert shown("tomorrow") == {booked[near]}
        assert shown("next7") == {booked[near], booked[later]}
        assert shown("today") == set()
    with time_machine.travel(at(far, 15), tick=False):
        assert shown("today") == {booked[far]}
        assert shown("past7") == {booked[far]} | ({booked[later]} if (far - later).days <= 7 else set())
