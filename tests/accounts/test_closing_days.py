"""LEDGER-6, STAFF-1, XFER-5 (walk25 F1): the bank's own closing days (臨時休業日) — added
by branch staff in admin, consulted by the business-day calendar (cached per process, at
most a minute old, cleared on save and delete), refused as a 予約 date, and what a new
closing day meets (予約中 transfers, 未送信 仕向 records) told to staff on save."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import BankClosingDay
from accounts.roles import BRANCH_STAFF_GROUP, branch_staff_group_ensure
from accounts.services import ClosingDayRefused, bank_closing_day_add, bank_closing_day_delete
from cosei_ib import bankcalendar
from security.models import AuditEvent
from tests import factories
from tests.accounts.closing_support import closing_days_audited, staff_user
from tests.security.test_staff_admin import staff, staff_signed_in  # noqa: F401 - fixture
from tests.transfers.scheduled_support import at, schedule
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from transfers import scheduled, services
from transfers.models import OutgoingTransfer, Transfer

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 12, 7)     # "today" of these tests, a business day
THURSDAY = dt.date(2026, 12, 10)  # the closing day
FRIDAY = dt.date(2026, 12, 11)


def closed(day: dt.date = THURSDAY, name: str = "システム更改") -> BankClosingDay:
    staff_user("staff-t")  # the audit row's actor is a staff user (CI114)
    with time_machine.travel(at(MONDAY), tick=False):
        return bank_closing_day_add(day=day, name=name, actor="staff-t")


def test_a_closing_day_is_no_business_day_and_the_calendar_skips_it():
    assert bankcalendar.is_business_day(THURSDAY)
    closed()
    assert not bankcalendar.is_business_day(THURSDAY) and bankcalendar.is_bank_holiday(THURSDAY)
    assert bankcalendar.next_business_day(dt.date(2026, 12, 9)) == FRIDAY
    assert bankcalendar.previous_business_day(FRIDAY) == dt.date(2026, 12, 9)
    assert bankcalendar.settlement_day(THURSDAY) == FRIDAY
    assert bankcalendar.closed_reason(THURSDAY) == "当金庫の臨時休業日（システム更改）"


def test_a_reservation_on_a_closing_day_is_refused_by_the_form_rule_and_the_service():
    closed()
    problem = scheduled.schedule_date_problem(THURSDAY, today=MONDAY)
    assert problem == ("2026年12月10日は当金庫の臨時休業日（システム更改）のため、振込日に指定できません。"
                       "営業日を指定してください。")
    customer, account = payer()
    with time_machine.travel(at(MONDAY), tick=False):
        content = content_for(customer, account, other_bank_payee(), 10_000, day=THURSDAY, check=False)
        with pytest.raises(services.TransferRefused, match="臨時休業日"):
            scheduled.scheduled_transfer_create(customer=customer, stepup_id=uuid.uuid4(), content=content)
    assert not Transfer.objects.exists()


def test_the_calendar_reads_the_table_once_and_again_after_a_minute(django_assert_num_queries, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(bankcalendar, "_clock", lambda: now[0])
    bankcalendar.closing_days_clear()
    with django_assert_num_queries(1):
        for offset in range(200):  # next_business_day and the batch call it in loops
            bankcalendar.is_bank_holiday(MONDAY + dt.timedelta(days=offset))
    # another process adds a day: this one does not see it until its copy is a minute old
    BankClosingDay.objects.bulk_create([BankClosingDay(date=THURSDAY, name="他の処理で登録", created_by="x")])
    closing_days_audited()
    now[0] += bankcalendar.CLOSING_DAYS_REFRESH_SECONDS - 1
    with django_assert_num_queries(0):
        assert bankcalendar.is_business_day(THURSDAY)
    now[0] += 1
    with django_assert_num_queries(1):
        assert not bankcalendar.is_business_day(THURSDAY)


def test_a_save_or_delete_in_this_process_counts_at_once(monkeypatch):
    monkeypatch.setattr(bankcalendar, "_clock", lambda: 1000.0)  # the copy never gets old
    assert bankcalendar.is_business_day(THURSDAY)
    day = closed()
    assert not bankcalendar.is_business_day(THURSDAY)
    with time_machine.travel(at(MONDAY), tick=False):
        bank_closing_day_delete(closing_day=day, actor="staff-t")
    assert bankcalendar.is_business_day(THURSDAY)


def test_adding_and_deleting_are_audited():
    day = closed()
    with time_machine.travel(at(MONDAY), tick=False):
        bank_closing_day_delete(closing_day=day, actor="staff-t")
    summaries = list(AuditEvent.objects.filter(action="staff_closing_day").order_by("id")
                     .values_list("actor", "summary"))
    assert summaries == [("staff-t", "臨時休業日追加 2026/12/10 システム更改"),
                         ("staff-t", "臨時休業日削除 2026/12/10 システム更改")]


@pytest.mark.parametrize(("day", "message"), [
    (MONDAY, "明日以降の日付を指定してください"),
    (dt.date(2026, 12, 1), "明日以降の日付を指定してください"),
    (MONDAY + dt.timedelta(days=732), "2028年12月7日（約2年後）までの日付を指定してください。"),
    (dt.date(2026, 12, 12), "2026年12月12日は土曜日のため、もともと休業日です"),
    (dt.date(2027, 1, 11), "祝日のため、もともと休業日です"),
    (dt.date(2026, 12, 31), "年末年始"),
])
def test_the_service_refuses_what_cannot_be_a_closing_day(day, message):
    with pytest.raises(ClosingDayRefused, match=message):
        closed(day)
    assert not BankClosingDay.objects.exists()


def test_a_duplicate_is_refused_even_when_this_process_has_not_seen_the_first(monkeypatch):
    closed()
    bankcalendar.closing_days_prime({})  # an old copy: only the unique index knows
    with pytest.raises(ClosingDayRefused, match="2026年12月10日はすでに臨時休業日に登録されています。"):
        closed(name="二重")
    assert BankClosingDay.objects.get().name == "システム更改"


def test_a_day_that_has_begun_is_not_deleted():
    day = closed()
    with time_machine.travel(at(THURSDAY), tick=False), pytest.raises(ClosingDayRefused, match="削除できません"):
        bank_closing_day_delete(closing_day=day, actor="staff-t")
    assert BankClosingDay.objects.filter(pk=day.pk).exists()


def test_the_branch_staff_group_adds_views_and_deletes_closing_days():
    group = branch_staff_group_ensure()
    codes = set(Group.objects.get(name=BRANCH_STAFF_GROUP).permissions.filter(
        content_type__app_label="accounts", content_type__model="bankclosingday").values_list("codename", flat=True))
    assert group.name == BRANCH_STAFF_GROUP
    assert codes == {"view_bankclosingday", "add_bankclosingday", "delete_bankclosingday"}


# --- the admin ------------------------------------------------------------------------------

ADD = "/admin/accounts/bankclosingday/add/"


def signed_in(staff_user) -> Client:  # noqa: F811
    """A branch staff client signed in at the travelled-to time (a staff session ends after
    its idle time, so one signed in at the real clock is gone on the test's Monday)."""
    return staff_signed_in(*staff_user)


@pytest.fixture
def staff_client(staff):  # noqa: F811
    with time_machine.travel(at(MONDAY), tick=True):
        yield signed_in(staff)


def _add(client, date: str, name: str = "システム更改"):
    return client.post(ADD, {"date": date, "name": name})


def test_staff_add_a_closing_day_in_admin(staff_client):  # noqa: F811
    listing = staff_client.get("/admin/accounts/bankclosingday/").content.decode()
    assert "組み込みの休業日" in listing  # the built-in calendar is said, not listed
    assert "組み込みの休業日" in staff_client.get(ADD).content.decode()
    response = _add(staff_client, "２０２６／１２／１０", "  システム 更改  ")
    assert response.status_code == 302
    day = BankClosingDay.objects.get()
    assert (day.date, day.name, day.created_by) == (THURSDAY, "システム 更改", "staff-t")
    listing = staff_client.get("/admin/accounts/bankclosingday/").content.decode()
    assert "システム 更改" in listing and "staff-t" in listing and "delete_selected" not in listing
    assert not bankcalendar.is_business_day(THURSDAY)


@pytest.mark.parametrize(("date", "name", "message"), [
    ("2026-12-07", "x", "臨時休業日には明日以降の日付を指定してください"),
    ("2026-12-01", "x", "臨時休業日には明日以降の日付を指定してください"),
    ("2030-01-07", "x", "2028年12月7日（約2年後）までの日付を指定してください。"),
    ("2026-12-12", "x", "土曜日のため、もともと休業日です"),
    ("2026-02-30", "x", "存在しない日付"),
    ("99999-01-01", "x", "年・月・日を数字で入力してください"),
    ("9" * 5000, "x", "年・月・日を数字で入力してください"),
    ("", "x", "日付を入力してください。"),
    ("2026-12-10", "", "お客さま向けの名称を入力してください。"),
    ("2026-12-10", "　 ", "お客さま向けの名称を入力してください。"),
    ("2026-12-10", "あ" * 65, "64文字以内"),
    # walk26 F7: customers read it on pages, in mail and in the Shift_JIS CSV
    ("2026-12-10", "システム\x07更改", "お客さま向けの名称に使用できない文字（制御文字 U+0007）が含まれています。"),
    ("2026-12-10", "システム更改🙂", "お客さま向けの名称に使用できない文字「🙂」が含まれています。"),
])
def test_the_admin_refuses_odd_dates_and_names_in_japanese(staff_client, date, name, message):  # noqa: F811
    response = _add(staff_client, date, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BankClosingDay.objects.exists()


def test_the_admin_refuses_a_duplicate_in_japanese(staff_client):  # noqa: F811
    closed()
    response = _add(staff_client, "2026-12-10", "二重")
    assert "2026年12月10日はすでに臨時休業日に登録されています。" in response.content.decode()
    assert BankClosingDay.objects.count() == 1


def test_a_duplicate_this_process_has_not_seen_yet_is_said_not_a_500(staff_client):  # noqa: F811
    """Another process added the day less than a minute ago: the form's check reads the
    old copy, the unique index refuses, staff read the same message on the add page."""
    closed()
    bankcalendar.closing_days_prime({})
    response = _add(staff_client, "2026-12-10", "二重")
    assert response.status_code == 302 and response.url == ADD
    page = staff_client.get(ADD).content.decode()
    assert "2026年12月10日はすでに臨時休業日に登録されています。" in page
    assert list(BankClosingDay.objects.values_list("name", flat=True)) == ["システム更改"]
    assert AuditEvent.objects.filter(action="staff_closing_day").count() == 1


def test_a_future_closing_day_is_deleted_a_past_one_is_not(staff):  # noqa: F811
    day = closed()
    with time_machine.travel(at(THURSDAY), tick=True):
        client = signed_in(staff)
        assert client.post(f"/admin/accounts/bankclosingday/{day.pk}/delete/", {"post": "yes"}).status_code == 403
        page = client.get(f"/admin/accounts/bankclosingday/{day.pk}/change/").content.decode()
        assert "システム更改" in page and 'name="name"' not in page  # never changed, only read
    assert BankClosingDay.objects.filter(pk=day.pk).exists()
    with time_machine.travel(at(MONDAY), tick=True):
        response = signed_in(staff).post(f"/admin/accounts/bankclosingday/{day.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not BankClosingDay.objects.exists()
    assert bankcalendar.is_business_day(THURSDAY)


def test_staff_are_told_of_the_reservations_a_new_closing_day_meets(staff_client):  # noqa: F811
    """XFER-5: the 予約 keep their date (the batch runs every day at 0:05 and executes what
    is due, as a same-day transfer on a holiday is debited at once); staff read how many
    and what happens to them (docs/operations.md)."""
    customer, account = payer(balance=100_000)
    for amount in (10_000, 20_000):
        schedule(customer, account, amount, day=THURSDAY)
    response = _add(staff_client, "2026-12-10")
    assert response.status_code == 302
    page = staff_client.get(response.url).content.decode()
    assert "この日を振込指定日とする予約中の振込が2件あります。" in page
    assert "翌営業日2026年12月11日の仕向ファイルで決済" in page
    assert "未送信の他行宛振込" not in page


def test_staff_are_told_of_the_outgoing_records_settling_on_a_new_closing_day(staff):  # noqa: F811
    """XFER-12: a transfer to another bank made on Saturday settles on Monday; Monday made a
    closing day on Saturday leaves that record under Monday's 決済日, and staff are told."""
    saturday, monday = dt.date(2026, 12, 12), dt.date(2026, 12, 14)
    customer, account = payer()
    with time_machine.travel(at(saturday), tick=False):
        execute(customer, content_for(customer, account, other_bank_payee(), 5_000))
    assert OutgoingTransfer.objects.get().settlement_date == monday
    with time_machine.travel(at(saturday), tick=True):
        client = signed_in(staff)
        response = client.post(ADD, {"date": "2026-12-14", "name": "システム更改"})
        assert response.status_code == 302
        page = client.get(response.url).content.decode()
    assert "この日を決済日とする未送信の他行宛振込（仕向）が1件あります。" in page
    assert "予約中の振込" not in page


def test_the_name_is_said_to_be_what_customers_read(staff_client):  # noqa: F811
    """STAFF-1, LEDGER-6 (walk26 F8): customers read the name word for word (「…当金庫の臨時
    休業日（<名称>）のため…」) and the form said 「名称・理由」, inviting internal notes."""
    page = staff_client.get(ADD).content.decode()
    assert "お客さま向けの名称" in page and "名称・理由" not in page
    assert "お客さまの画面にそのまま表示されます" in page and "社内の事情やメモは書かないでください" in page
    day = closed()
    listing = staff_client.get("/admin/accounts/bankclosingday/").content.decode()
    assert "お客さま向けの名称" in listing and "名称・理由" not in listing and "システム更改" in listing
    detail = staff_client.get(f"/admin/accounts/bankclosingday/{day.pk}/change/").content.decode()
    assert "お客さま向けの名称" in detail and "システム更改" in detail


# --- dbprobe30 F6: written by staff, ahead of the day (accounts 0036, CI114) ------------------

CLOSING_DAY_RULE = "CI114"


def _sql(sql: str, params=None):
    from django.db import connection

    def write():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    return write


def _insert(day: dt.date, created_by: str = "staff-t"):
    return _sql("INSERT INTO accounts_bankclosingday (date, name, created_by, created_at) VALUES (%s, '臨時休業', %s, now())",
                [day, created_by])


def test_closing_days_written_by_sql_are_refused(staff):  # noqa: F811
    """dbprobe30 F6, as the app's role: the review's 100 weekdays from today; a future day
    with no staff audit row, or with one of no staff user or of one who may not write it
    (accounts 0040: add_bankclosingday / delete_bankclosingday, active); a DELETE with none; a
    day of today deleted; any UPDATE — each refused (CI114). The service with a staff user passes."""
    from security.audit import audit_record
    from tests.accounts.test_ledger_lockdown import refused
    from tests.conftest import clock_strict
    from tests.transfers.test_batch_row_guards import _tokyo_today
    from tests.transfers.test_interbank_guards import at_commit, refused_at_commit

    today = _tokyo_today()
    ahead = today + dt.timedelta(days=20)
    _insert(today)()  # before the strict clock: the travel slack takes it
    closing_days_audited()
    todays = BankClosingDay.objects.get(date=today)
    with clock_strict():
        assert refused("INSERT INTO accounts_bankclosingday (date, name, created_by, created_at)"
                       " SELECT d::date, '臨時休業', 'staff01', now() FROM generate_series("
                       "(clock_timestamp() AT TIME ZONE 'Asia/Tokyo')::date,"
                       " (clock_timestamp() AT TIME ZONE 'Asia/Tokyo')::date + 200, interval '1 day') d"
                       " WHERE extract(isodow FROM d) < 6 LIMIT 100") == CLOSING_DAY_RULE
        assert refused_at_commit(_insert(ahead)) == CLOSING_DAY_RULE

        def forged(actor):
            def write():
                _insert(ahead, actor)()
                audit_record(action="staff_closing_day", outcome="success", actor=actor,
                             summary=f"臨時休業日追加 {ahead:%Y/%m/%d} 臨時休業")
            return write
        assert refused_at_commit(forged("staff01")) == CLOSING_DAY_RULE  # no such staff user
        # accounts 0040: a staff user who may add a closing day — not one who may only delete
        # one, not an inactive one
        factories.staff_user_holding("staff-delete", "accounts.delete_bankclosingday")
        factories.staff_user_holding("staff-off", "accounts.add_bankclosingday", is_active=False)
        for actor in ("staff-delete", "staff-off"):
            assert refused_at_commit(forged(actor)) == CLOSING_DAY_RULE, actor
        assert refused("DELETE FROM accounts_bankclosingday WHERE id = %s", [todays.pk]) == CLOSING_DAY_RULE
        assert refused("UPDATE accounts_bankclosingday SET name = 'x' WHERE id = %s", [todays.pk]) == CLOSING_DAY_RULE
        day = bank_closing_day_add(day=_weekday_after(ahead), name="システム更改", actor="staff-t")
        at_commit()  # the service's own write, with a staff user's audit row, passes
        assert refused_at_commit(_sql("DELETE FROM accounts_bankclosingday WHERE id = %s", [day.pk])) == CLOSING_DAY_RULE
        # a DELETE by one who may add but not delete (accounts 0040), or by a ghost
        factories.staff_user_holding("staff-add", "accounts.add_bankclosingday")
        for actor in ("staff-add", "ghost-staff"):
            def removed(actor=actor):
                _sql("DELETE FROM accounts_bankclosingday WHERE id = %s", [day.pk])()
                audit_record(action="staff_closing_day", outcome="success", actor=actor,
                             summary=f"臨時休業日削除 {day.date:%Y/%m/%d} システム更改")
            assert refused_at_commit(removed) == CLOSING_DAY_RULE, actor
        bank_closing_day_delete(closing_day=day, actor="staff-t")
        at_commit()
    assert not BankClosingDay.objects.filter(pk=day.pk).exists()


def _weekday_after(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while not bankcalendar.is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def test_staff_add_and_delete_a_closing_day_in_admin_and_it_commits(staff):  # noqa: F811
    """dbprobe30 F6: the admin's add and delete (the audit row of the signed-in staff user)
    pass the database's rule at commit (CI114)."""
    from tests.conftest import clock_strict
    from tests.transfers.test_batch_row_guards import _tokyo_today
    from tests.transfers.test_interbank_guards import at_commit

    day = _weekday_after(_tokyo_today() + dt.timedelta(days=3))
    with clock_strict():
        client = signed_in(staff)
        assert _add(client, day.isoformat()).status_code == 302
        at_commit()
        added = BankClosingDay.objects.get(date=day)
        assert added.created_by == "staff-t"
        assert client.post(f"/admin/accounts/bankclosingday/{added.pk}/delete/", {"post": "yes"}).status_code == 302
        at_commit()
    assert not BankClosingDay.objects.exists()
