"""XFER-4/8, STAFF-1: branch staff manage the fee table and the bank maximum in admin; the
transfer list is read-only with filters; everything audited."""

import datetime as dt
import html
import re

import pytest
import time_machine
from django.utils import timezone

from security.models import AuditEvent
from tests.security.test_staff_admin import staff, staff_client  # noqa: F401 - fixtures
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from transfers.admin import FEE_ROW_HELD
from transfers.models import FeeSchedule, TransferSettings

pytestmark = pytest.mark.django_db


def test_staff_add_a_future_fee_row_but_never_change_one_in_force(staff_client):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    in_force = FeeSchedule.objects.get(effective_from=dt.date(2000, 1, 1))
    page = staff_client.get(f"/admin/transfers/feeschedule/{in_force.pk}/change/")
    assert page.status_code == 200 and FEE_ROW_HELD in page.content.decode()  # read-only, and why
    # UI-1: named as staff read every date (it said 「2000-01-01 から」)
    assert "2000年1月1日から" in page.content.decode()
    response = staff_client.post(f"/admin/transfers/feeschedule/{in_force.pk}/change/", {
        "effective_from": "2000-01-01", "threshold": 30000, "same_branch_under": 0, "same_branch_over": 0,
        "other_branch_under": 1, "other_branch_over": 1, "other_bank_under": 1, "other_bank_over": 1},
        follow=True)
    # a form opened before it came into force: its page again, saying why (it was a bare 403)
    assert response.redirect_chain[-1][0] == f"/admin/transfers/feeschedule/{in_force.pk}/change/"
    assert response.content.decode().count(FEE_ROW_HELD) == 1
    in_force.refresh_from_db()
    assert in_force.other_bank_under == 330
    fields = {"threshold": 30000, "same_branch_under": 0, "same_branch_over": 0, "other_branch_under": 110,
              "other_branch_over": 220, "other_bank_under": 440, "other_bank_over": 660}
    page = staff_client.post("/admin/transfers/feeschedule/add/",
                             {"effective_from": "2001-01-01", **fields}).content.decode()
    assert "適用開始日は明日以降" in page
    response = staff_client.post("/admin/transfers/feeschedule/add/",
                                 {"effective_from": tomorrow.isoformat(), **fields})
    assert response.status_code == 302
    assert FeeSchedule.objects.get(effective_from=tomorrow).other_bank_under == 440
    event = AuditEvent.objects.get(action="staff_fee_change")
    assert event.actor == "staff-t" and "追加" in event.summary


FEE_FIELDS = {"threshold": 30000, "same_branch_under": 0, "same_branch_over": 0, "other_branch_under": 110,
              "other_branch_over": 220, "other_bank_under": 330, "other_bank_over": 550}


@pytest.mark.parametrize(("typed", "message"), [
    ({"other_bank_over": 9_999_999_999}, "手数料は10,000円以下で入力してください。"),
    ({"same_branch_under": 10_001}, "手数料は10,000円以下で入力してください。"),
    ({"threshold": 99_999_999_999_999_999_999}, "金額区分は100,000,000円以下で入力してください。"),
    ({"other_bank_under": "1.5"}, "金額は数字（円単位）で入力してください。"),
    ({"other_bank_under": "٣٣٠"}, "金額は数字（円単位）で入力してください。"),  # Arabic-Indic: int() took it
    ({"threshold": "1,00,0"}, "金額は数字（円単位）で入力してください。"),
])
def test_a_fee_typo_is_caught_in_words_before_it_is_saved(staff_client, typed, message):
    """XFER-4, STAFF-1 (walk24): 他行宛 9,999,999,999円 was saved for today and refused every
    transfer of 3万円 or more — a row in force never changes, so until the next day; a
    huge 金額区分 said 「この値は 9223372036854775807 以下…」. Sanity bounds, in words."""
    day = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    response = staff_client.post("/admin/transfers/feeschedule/add/", {"effective_from": day, **FEE_FIELDS, **typed})
    page = response.content.decode()
    assert response.status_code == 200 and message in page
    assert "9223372036854775807" not in page
    assert not FeeSchedule.objects.filter(effective_from=day).exists()


@pytest.mark.parametrize(("typed", "read"), [
    ({"other_bank_under": "３３０"}, {"other_bank_under": 330}),
    ({"other_bank_under": "３３０円", "threshold": "30,000円"}, {"other_bank_under": 330, "threshold": 30_000}),
    ({"threshold": "３００００"}, {"threshold": 30_000}),
])
def test_a_fee_is_read_as_the_customer_forms_read_yen(staff_client, typed, read):
    """XFER-4, STAFF-1 (probe34 F7): 「５５０」 was taken while the message for 「1.5」 asked
    for 半角数字 — the hint said less than was read. Amounts are read by the shared yen
    parser (full-width, 1,000, a trailing 円), and the message says 数字（円単位）."""
    day = timezone.localdate() + dt.timedelta(days=2)
    response = staff_client.post("/admin/transfers/feeschedule/add/",
                                 {"effective_from": day.isoformat(), **FEE_FIELDS, **typed})
    assert response.status_code == 302
    row = FeeSchedule.objects.get(effective_from=day)
    assert {name: getattr(row, name) for name in read} == read


@pytest.mark.parametrize("typed", ["2026-02-30", "２０２６／０２／３０", "2027/13/01", "2027.04.31"])
def test_a_start_date_that_does_not_exist_is_said_so(staff_client, typed):
    """XFER-4, STAFF-1 (probe34 F7): 2026-02-30 got 「適用開始日は 2026-12-09 の形で入力して
    ください。」 — it was in that form; the day does not exist. Said as the customer's pages
    say it."""
    before = FeeSchedule.objects.count()
    response = staff_client.post("/admin/transfers/feeschedule/add/", {"effective_from": typed, **FEE_FIELDS})
    page = response.content.decode()
    assert response.status_code == 200
    assert "適用開始日に存在しない日付が入力されています。" in page
    assert "の形で入力してください" not in page
    assert FeeSchedule.objects.count() == before


def test_a_fee_row_for_today_is_refused_in_words(staff_client):
    """XFER-4, STAFF-1 (walk24, dbprobe27 F4): a row dated today applied from the moment it
    was saved (walk24 asked staff to tick 「本日から適用する」); since transfers 0025 the
    database takes a new row from tomorrow only, and the form says so. The bulk delete,
    which refused a row in force with a misleading 「権限がありません: 振込手数料 / 振込」, is
    gone — a future row is deleted from its page."""
    today = timezone.localdate().isoformat()
    page = staff_client.post("/admin/transfers/feeschedule/add/",
                             {"effective_from": today, **FEE_FIELDS, "apply_today": "on"}).content.decode()
    assert "適用開始日は明日以降の日付を指定してください" in page and "本日から適用する" not in page
    # the bands follow the 金額区分 staff set: the labels said 「3万円未満／以上」 whatever it was
    assert "他行宛 金額区分以上" in page and "3万円" not in page
    assert not FeeSchedule.objects.filter(effective_from=today).exists()
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = staff_client.post("/admin/transfers/feeschedule/add/", {"effective_from": tomorrow, **FEE_FIELDS})
    assert response.status_code == 302
    assert FeeSchedule.objects.get(effective_from=tomorrow).other_bank_over == 550
    assert 'name="action"' not in staff_client.get("/admin/transfers/feeschedule/").content.decode()


def test_a_new_row_the_database_dates_in_the_past_is_a_message_not_a_500(staff_client):
    """XFER-4, STAFF-1: a row the form took for tomorrow (its clock) that the database dates
    today or earlier — saved across midnight, or an app clock behind the database's — was
    refused by the insert guard (CI203) as a 500; staff read 「適用開始日は明日以降…」."""
    today = timezone.localdate()
    with time_machine.travel(timezone.now() - dt.timedelta(days=1)):
        response = staff_client.post("/admin/transfers/feeschedule/add/",
                                     {"effective_from": today.isoformat(), **FEE_FIELDS}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/admin/transfers/feeschedule/add/"
    assert "適用開始日は明日以降の日付を指定してください" in response.content.decode()
    assert not FeeSchedule.objects.filter(effective_from=today).exists()


SETTINGS_URL = "/admin/transfers/transfersettings/1/change/"


def settings_post(staff_client, data: dict):
    """The bank maximum's form as staff send it: opened, then saved with what it showed
    (its hidden ``seen``, walk29 F2)."""
    shown = staff_client.get(SETTINGS_URL).content.decode()
    seen = re.search(r'name="seen" value="([^"]*)"', shown)[1]
    return staff_client.post(SETTINGS_URL, {"seen": html.unescape(seen), **data})


def test_staff_change_the_bank_maximum(staff_client):
    response = settings_post(staff_client, {"bank_max_daily_limit": 5_000_000, "confirm_lower": "on"})
    assert response.status_code == 302
    assert TransferSettings.objects.get(pk=1).bank_max_daily_limit == 5_000_000
    assert AuditEvent.objects.filter(action="staff_transfer_settings", actor="staff-t").exists()
    from transfers import services

    customer, _debit = payer()
    with pytest.raises(services.TransferRefused, match="5,000,000円以内"):
        services.transfer_limit_change(customer=customer, new_limit=6_000_000)


@pytest.mark.parametrize(("url", "fields", "message"), [
    ("/admin/transfers/feeschedule/add/",
     {"threshold": 30000, "same_branch_under": -1, "same_branch_over": 0, "other_branch_under": 110,
      "other_branch_over": 220, "other_bank_under": 330, "other_bank_over": 550},
     "手数料にマイナスの金額は指定できません。"),
    ("/admin/transfers/feeschedule/add/",
     {"threshold": 0, "same_branch_under": 0, "same_branch_over": 0, "other_branch_under": 110,
      "other_branch_over": 220, "other_bank_under": 330, "other_bank_over": 550},
     "金額区分は1円以上で入力してください。"),
    ("/admin/transfers/feeschedule/add/",
     {"threshold": -30000, "same_branch_under": 0, "same_branch_over": 0, "other_branch_under": 110,
      "other_branch_over": 220, "other_bank_under": 330, "other_bank_over": 550},
     "金額区分にマイナスの金額は指定できません。"),
    ("/admin/transfers/transfersettings/1/change/", {"bank_max_daily_limit": 0},
     "1日の利用限度額の上限は100,000円以上、1,000,000,000円以下の金額を数字（円単位）で入力してください。"),
])
def test_a_negative_fee_or_a_zero_maximum_is_said_in_words_not_by_constraint_name(staff_client, url, fields,
                                                                                   message):
    """STAFF-1 (review5): a fee of -1円 or a bank maximum of 0円 was refused with
    「制約 “fee_schedule_not_negative” に違反しています。」, the database constraint's name."""
    before = (FeeSchedule.objects.count(), TransferSettings.objects.get(pk=1).bank_max_daily_limit)
    fields = {"effective_from": (timezone.localdate() + dt.timedelta(days=3)).isoformat(), **fields}
    response = staff_client.post(url, fields)
    page = response.content.decode()
    assert response.status_code == 200 and message in page
    assert "に違反しています" not in page and "fee_schedule_not_negative" not in page
    assert "bank_max_limit_positive" not in page
    assert (FeeSchedule.objects.count(), TransferSettings.objects.get(pk=1).bank_max_daily_limit) == before


@pytest.mark.parametrize("field", ["same_branch_over", "other_branch_over", "other_bank_over", "other_bank_under"])
def test_a_negative_fee_is_called_negative_not_a_swapped_pair(staff_client, field):
    """XFER-4, STAFF-1 (walk27 F9): 他行宛 金額区分以上 -1 read 「…金額区分以上（-1円）の方が
    金額区分未満（330円）より低くなっています。未満と以上が入れ替わっていないか…」."""
    fields = {"effective_from": (timezone.localdate() + dt.timedelta(days=3)).isoformat(), "threshold": 30000,
              "same_branch_under": 0, "same_branch_over": 0, "other_branch_under": 110, "other_branch_over": 220,
              "other_bank_under": 330, "other_bank_over": 550, field: -1}
    before = FeeSchedule.objects.count()
    page = staff_client.post("/admin/transfers/feeschedule/add/", fields).content.decode()
    assert page.count("手数料にマイナスの金額は指定できません。") == 1
    assert "入れ替わっていないか" not in page and "手数料は0円以上" not in page
    assert FeeSchedule.objects.count() == before


@pytest.mark.parametrize("typed", ["100", "99999999999999999999", "-1", "1e7", "１０万", ""])
def test_a_bank_maximum_out_of_range_is_refused_in_words(staff_client, typed):
    """XFER-8, STAFF-1 (walk25 F27): 100 typed for 10000000 was saved and stopped every
    customer's transfers at once; 99999999999999999999 got Django's raw 「この値は
    9223372036854775807 以下…」."""
    response = staff_client.post("/admin/transfers/transfersettings/1/change/",
                                 {"bank_max_daily_limit": typed, "confirm_lower": "on"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "1日の利用限度額の上限は100,000円以上、1,000,000,000円以下の金額を数字（円単位）で入力してください。" in page
    assert "9223372036854775807" not in page
    assert TransferSettings.objects.get(pk=1).bank_max_daily_limit == 10_000_000


def test_lowering_the_bank_maximum_names_the_customers_it_lowers_and_asks_for_a_tick(staff_client):
    """XFER-8 (walk25 F27): lowering the maximum lowers every limit above it at once — staff
    are told how many customers, and it is saved only with 「上限の引き下げを確認しました」."""
    from transfers.models import TransferLimit

    above, _debit = payer()
    TransferLimit.objects.update_or_create(customer=above, defaults={"daily_limit": 3_000_000})
    below, _debit = payer()
    TransferLimit.objects.update_or_create(customer=below, defaults={"daily_limit": 500_000})
    response = settings_post(staff_client, {"bank_max_daily_limit": 2_000_000})
    page = response.content.decode()
    assert response.status_code == 200
    from transfers.selectors import customers_above_limit_count

    count = customers_above_limit_count(2_000_000)
    assert count >= 1
    assert f"この変更で、{count:,}人のお客さまの1日の利用限度額が新しい上限（2,000,000円）まで" in page
    assert "お客さまへの個別のメールは送られません" in page  # walk26 F6, docs/transfers.md
    assert TransferSettings.objects.get(pk=1).bank_max_daily_limit == 10_000_000
    response = settings_post(staff_client, {"bank_max_daily_limit": 2_000_000, "confirm_lower": "on"})
    assert response.status_code == 302
    assert TransferSettings.objects.get(pk=1).bank_max_daily_limit == 2_000_000
    # raising it again needs no tick
    response = settings_post(staff_client, {"bank_max_daily_limit": 10_000_000})
    assert response.status_code == 302
    assert TransferSettings.objects.get(pk=1).bank_max_daily_limit == 10_000_000


def test_transfer_list_is_read_only_filtered_and_audited(staff_client):
    customer, debit = payer()
    transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 1_000))
    page = staff_client.get(f"/admin/transfers/transfer/?q={customer.contract_id}&status__exact=executed")
    assert page.status_code == 200 and "ﾀﾅｶ ﾊﾅｺ" in page.content.decode()
    assert staff_client.get(f"/admin/transfers/transfer/{transfer.pk}/change/").status_code == 200
    assert staff_client.post(f"/admin/transfers/transfer/{transfer.pk}/delete/").status_code == 403
    assert staff_client.get("/admin/transfers/transfer/add/").status_code == 403
    assert AuditEvent.objects.filter(action="staff_transfer_view", actor="staff-t").count() == 2


@pytest.mark.parametrize("object_id", ["abc", "1.5", "0x10", "1e3", "%E2%80%AE", "%FF", "9" * 30])
def test_a_transfer_id_that_is_no_number_is_not_a_500(staff_client, object_id):
    """STAFF-1, SEC-11 (review, session 19): the transfer page's audit look-up ran
    ``filter(pk=object_id)`` on the raw URL segment before Django's own checks, so
    /admin/transfers/transfer/abc/change/ was a 500 (ValueError). It now answers as
    Django admin does for any missing object (back to the list with a message), and the
    look is still audited."""
    staff_client.raise_request_exception = False
    response = staff_client.get(f"/admin/transfers/transfer/{object_id}/change/")
    assert response.status_code == 302 and response.url == "/admin/"
    event = AuditEvent.objects.get(action="staff_transfer_view")
    assert event.customer is None and event.actor == "staff-t"


def test_the_transfer_page_labels_and_explains_the_confirmation_id_and_finds_it(staff_client):
    """STAFF-1: the detail page showed 確認ID as a bare UUID among the transfer's fields. It
    sits under 「取引認証（追跡用）」 with how and when the customer confirmed and what the
    ID is for, in full (a trace needs every character); typed in the list's search box it
    finds the transfer."""
    from security.models import StepUp
    from security.stepup import stepup_begin
    from transfers.admin_display import CONFIRMATION_HELP

    customer, debit = payer()
    content = content_for(customer, debit, other_bank_payee(), 1_000)
    stepup = stepup_begin(customer=customer, kind="transfer", content=content)
    confirmed = timezone.make_aware(dt.datetime(2026, 12, 4, 10, 15, 30))
    StepUp.objects.filter(pk=stepup.pk).update(verified_at=confirmed, used_at=confirmed)
    transfer = execute(customer, content, stepup_id=stepup.pk)
    other = execute(customer, content_for(customer, debit, other_bank_payee(), 2_000))

    for url in (f"/admin/transfers/transfer/{transfer.pk}/change/",):
        page = staff_client.get(url).content.decode()
        assert "取引認証（追跡用）" in page and CONFIRMATION_HELP in page
        assert f'<code class="confirmation-id">{stepup.pk}</code>' in page
        assert f"{stepup.get_method_display()}（2026/12/04 10:15:30）" in page
        assert page.count(str(stepup.pk)) == 1  # once, in its section: not also as a bare field
    # a transfer whose step-up row is gone (kept longer than step-ups) still shows its ID
    assert str(other.stepup_id) in staff_client.get(f"/admin/transfers/transfer/{other.pk}/change/").content.decode()

    listed = staff_client.get("/admin/transfers/transfer/", {"q": f" {str(stepup.pk).upper()} "}).content.decode()
    assert f"/admin/transfers/transfer/{transfer.pk}/change/" in listed
    assert f"/admin/transfers/transfer/{other.pk}/change/" not in listed
    listed = staff_client.get("/admin/transfers/transfer/", {"q": customer.contract_id}).content.decode()
    assert f"/admin/transfers/transfer/{other.pk}/change/" in listed  # the usual search as before


def test_a_future_fee_row_a_booking_was_confirmed_under_keeps_its_date_but_its_fees_are_corrected(staff_client):
    """XFER-4 (review6; dbprobe28 F4): a future fee row a 予約振込 was confirmed under keeps
    its 適用開始日 and is never deleted (the booking names it), but its fees may be corrected
    until it is in force — a planted 10,000円 row could not be repaired. The batch then charges
    the booking the lower of its confirmed fee and the row's (transfers 0033; the tests of
    tests/transfers/test_dbprobe28_guards.py)."""
    from cosei_ib import bankcalendar
    from tests.transfers.scheduled_support import book
    from transfers.admin import FEE_ROW_BOOKED

    day = bankcalendar.next_business_day(bankcalendar.next_business_day(timezone.localdate()))
    row = FeeSchedule.objects.create(effective_from=day, other_bank_under=330)
    customer, account = payer()
    content = content_for(customer, account, other_bank_payee(), 10_000, day=day, check=False)
    booked = book(customer, content)
    assert (booked.fee_schedule_id, booked.fee) == (row.pk, 330)
    page = staff_client.get(f"/admin/transfers/feeschedule/{row.pk}/change/").content.decode()
    assert FEE_ROW_BOOKED in page and 'name="effective_from"' not in page and 'name="other_bank_under"' in page
    response = staff_client.post(f"/admin/transfers/feeschedule/{row.pk}/change/", {
        "effective_from": (day + dt.timedelta(days=1)).isoformat(), "threshold": 30000, "same_branch_under": 0,
        "same_branch_over": 0, "other_branch_under": 110, "other_branch_over": 220, "other_bank_under": 220,
        "other_bank_over": 440})
    assert (response.status_code, response.url) == (302, "/admin/transfers/feeschedule/")
    row.refresh_from_db()
    assert (row.effective_from, row.other_bank_under) == (day, 220)  # the date stays: read-only
    assert AuditEvent.objects.filter(action="staff_fee_change").count() == 1
    deleted = staff_client.post(f"/admin/transfers/feeschedule/{row.pk}/delete/", {"post": "yes"}, follow=True)
    assert FEE_ROW_BOOKED in deleted.content.decode()
    assert FeeSchedule.objects.filter(pk=row.pk).exists()


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_a_fee_row_that_comes_into_force_while_its_form_is_open_is_a_message_not_a_500(staff_client):
    """XFER-4: the admin's own check passes (the row is still future to it) and the database
    refuses (transfers 0007, CI203: it is in force by the bank's day): the row's page with
    FEE_ROW_HELD, nothing changed or audited — it was an unhandled DatabaseError, a 500.
    A row of today is the owner's since transfers 0025 (the app's start tomorrow)."""
    from django.db import connections

    today = timezone.localdate()
    with connections["owner"].cursor() as cursor:
        cursor.execute("INSERT INTO transfers_feeschedule (effective_from, threshold, same_branch_under,"
                       " same_branch_over, other_branch_under, other_branch_over, other_bank_under,"
                       " other_bank_over, created_at) VALUES (%s, 30000, 0, 0, 110, 220, 330, 550, now())", [today])
    row = FeeSchedule.objects.get(effective_from=today)
    fields = {"effective_from": today.isoformat(), "threshold": 30000, "same_branch_under": 0,
              "same_branch_over": 0, "other_branch_under": 110, "other_branch_over": 220,
              "other_bank_under": 440, "other_bank_over": 660}
    with time_machine.travel(timezone.now() - dt.timedelta(days=1)):  # the admin's clock: yesterday
        changed = staff_client.post(f"/admin/transfers/feeschedule/{row.pk}/change/", fields, follow=True)
        deleted = staff_client.post(f"/admin/transfers/feeschedule/{row.pk}/delete/", {"post": "yes"},
                                    follow=True)
    for response in (changed, deleted):
        assert response.redirect_chain[-1][0] == f"/admin/transfers/feeschedule/{row.pk}/change/"
        assert FEE_ROW_HELD in response.content.decode()
    row.refresh_from_db()
    assert row.other_bank_under == 330
    assert not AuditEvent.objects.filter(action="staff_fee_change").exists()


def test_a_form_shown_before_another_change_of_the_maximum_changes_nothing(staff_client):
    """XFER-8, STAFF-1 (walk29 F2): two staff opened 振込の設定 at 10,000,000円; A lowered it to
    800,000円; B pressed 保存 on the unchanged form and silently put 10,000,000円 back. The
    form keeps when the row was last changed as it showed it; a save since is said, and B's
    form changes nothing. Opened again, it saves."""
    first = staff_client.get(SETTINGS_URL).content.decode()
    stale = html.unescape(re.search(r'name="seen" value="([^"]*)"', first)[1])
    assert settings_post(staff_client, {"bank_max_daily_limit": 800_000, "confirm_lower": "on"}).status_code == 302
    page = staff_client.post(SETTINGS_URL, {"seen": stale, "bank_max_daily_limit": 10_000_000}).content.decode()
    assert "別の画面（または別の職員）で上限が変更されています" in page and "現在 800,000円" in page
    assert TransferSettings.objects.get(pk=1).bank_max_daily_limit == 800_000
    for forged in ("", "x", "2000-01-01T00:00:00+00:00"):  # a form without (or with a made-up) one
        page = staff_client.post(SETTINGS_URL, {"seen": forged, "bank_max_daily_limit": 10_000_000}).content.decode()
        assert "変更していません" in page, forged
    assert TransferSettings.objects.get(pk=1).bank_max_daily_limit == 800_000
    assert settings_post(staff_client, {"bank_max_daily_limit": 10_000_000}).status_code == 302
    assert TransferSettings.objects.get(pk=1).bank_max_daily_limit == 10_000_000
