"""予約振込 (XFER-5, XFER-6, issue 9): the date, the limit of that date, cancellation until
the day before, the previous-day funds rule, the order on one account, a missed day, and
re-running a batch."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.core.management import call_command

from accounts.models import Account, Entry
from cosei_ib import bankcalendar
from notifications.models import OutboxMessage
from security.models import AuditEvent
from tests import factories
from tests.security.test_staff_admin import staff, staff_client  # noqa: F401 - fixtures
from tests.transfers.scheduled_support import at, book, funded_payer, past_business_day, schedule
from tests.transfers.support import content_for, other_bank_payee, our_payee, payer
from transfers import scheduled, services
from transfers.models import OutgoingTransfer, Transfer

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 12, 7)  # today in the date tests (a business day)


# --- the date -------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "fragment"), [
    (dt.date(2026, 12, 12), "土曜日"),
    (dt.date(2026, 12, 13), "日曜日"),
    (dt.date(2027, 1, 11), "祝日"),  # 成人の日
    (dt.date(2026, 12, 31), "年末年始"),
    (dt.date(2027, 1, 4) - dt.timedelta(days=1), "年末年始"),  # Jan 3 (a Sunday too: 日曜日 first)
    (dt.date(2027, 2, 8), "2027年2月5日までの営業日を指定してください（ご予約は60日先まで"),
    (dt.date(2026, 12, 6), "過去の日付"),
])
def test_a_date_that_is_no_business_day_or_too_far_is_refused_with_its_reason(day, fragment):
    problem = scheduled.schedule_date_problem(day, today=MONDAY)
    if day == dt.date(2027, 1, 3):
        fragment = "日曜日"
    assert fragment in problem


def test_today_the_next_business_day_and_the_horizon_are_accepted():
    assert scheduled.schedule_date_problem(MONDAY, today=MONDAY) == ""  # today: a same-day transfer
    assert scheduled.schedule_date_problem(dt.date(2026, 12, 8), today=MONDAY) == ""
    assert scheduled.schedule_date_problem(dt.date(2027, 2, 5), today=MONDAY) == ""  # day 60, a Friday


@pytest.mark.parametrize(("today", "last"), [
    (MONDAY, dt.date(2027, 2, 5)),                 # day 60 is a Friday: itself
    (dt.date(2026, 12, 8), dt.date(2027, 2, 5)),   # day 60 a Saturday (probe34): the Friday before
    (dt.date(2026, 11, 4), dt.date(2026, 12, 30)),  # day 60 is Jan 3: before the year-end closing
])
def test_the_last_date_named_is_the_last_business_day_of_the_horizon(today, last):
    """XFER-11 (probe34 F2): 「振込日は2027年2月6日（60日後）までの営業日を…」 named a
    Saturday, and 2027-02-06 typed next was refused as 土曜日. The date named is taken."""
    assert scheduled.last_schedule_day(today) == last
    assert scheduled.schedule_date_problem(last, today=today) == ""
    problem = scheduled.schedule_date_problem(today + dt.timedelta(days=61), today=today)
    assert problem == (f"振込日は{last.year}年{last.month}月{last.day}日までの営業日を指定してください"
                       "（ご予約は60日先までの営業日です）。")
    for later in range(1, (today + dt.timedelta(days=60) - last).days + 1):  # closed to the horizon
        assert bankcalendar.is_bank_holiday(last + dt.timedelta(days=later))


def test_a_closing_day_at_the_horizon_moves_the_last_date_named_before_it():
    """XFER-11, LEDGER-6 (probe34 F2): the bank's own 臨時休業日 counts as bankcalendar does."""
    from accounts.services import bank_closing_day_add
    from tests.accounts.closing_support import staff_user

    staff_user("staff-t")
    with time_machine.travel(at(MONDAY), tick=False):
        bank_closing_day_add(day=dt.date(2027, 2, 5), name="システム更改", actor="staff-t")
    assert scheduled.last_schedule_day(MONDAY) == dt.date(2027, 2, 4)
    assert "振込日は2027年2月4日までの営業日を" in scheduled.schedule_date_problem(dt.date(2027, 2, 8), today=MONDAY)
    assert "臨時休業日" in scheduled.schedule_date_problem(dt.date(2027, 2, 5), today=MONDAY)


def test_the_service_refuses_a_weekend_date_even_when_the_form_was_bypassed():
    customer, account = payer()
    with time_machine.travel(at(MONDAY), tick=False):
        content = content_for(customer, account, other_bank_payee(), 10_000, day=dt.date(2026, 12, 12), check=False)
        with pytest.raises(services.TransferRefused, match="土曜日"):
            scheduled.scheduled_transfer_create(customer=customer, stepup_id=uuid.uuid4(), content=content)
    assert not Transfer.objects.exists()


def test_scheduling_debits_nothing_is_audited_and_mailed():
    customer, account = payer(balance=50_000)
    transfer = schedule(customer, account, 30_000, day=dt.date(2026, 12, 8))
    account.refresh_from_db()
    assert account.balance == 50_000 and transfer.journal_id is None
    assert transfer.status == Transfer.Status.SCHEDULED and transfer.fee == 550
    event = AuditEvent.objects.get(action="transfer_schedule", outcome="success")
    # UI-1: the customer reads it in 取引履歴照会, as every page writes a date (was 2026-12-08)
    assert event.summary.endswith(" 振込日2026年12月8日")
    assert OutboxMessage.objects.filter(customer=customer, event="transfer_scheduled").count() == 1


def test_a_scheduled_transfer_may_exceed_todays_balance_but_not_that_days_limit():
    customer, account = payer(balance=1_000)
    day = dt.date(2026, 12, 8)
    with time_machine.travel(at(MONDAY), tick=False):
        services.transfer_quote(customer=customer, debit_account=account, bank_code="0161", branch_code="002",
                                amount=600_000, fee_borne_by_payee=False, day=day)  # no balance refusal
    schedule(customer, account, 600_000, day=day)
    with pytest.raises(services.TransferRefused, match="12月8日の振込の合計（予約分を含む）"):
        schedule(customer, account, 400_001, day=day)  # with the first: over 1,000,000
    schedule(customer, account, 400_000, day=day)
    assert Transfer.objects.filter(status=Transfer.Status.SCHEDULED).count() == 2


def test_a_raise_not_yet_in_force_does_not_count_for_a_booking_made_today():
    """XFER-8, XFER-5 (review, session 19): a raise applies from 0:00 tomorrow — to what is
    booked, too. A stolen session that raised the limit and booked a transfer for tomorrow
    over the old limit got it executed at the morning's batch. Booked today, a transfer fits
    today's limit as well; booked tomorrow, the raise counts."""
    customer, account = payer(balance=10_000_000)
    day = dt.date(2026, 12, 9)  # a Wednesday
    with time_machine.travel(at(dt.date(2026, 12, 7), 12), tick=False):
        services.transfer_limit_change(customer=customer, new_limit=100_000)  # a cut: at once
        services.transfer_limit_change(customer=customer, new_limit=3_000_000)  # a raise: from the 8th
        content = content_for(customer, account, other_bank_payee(), 2_000_000, day=day, check=False)
        with pytest.raises(services.TransferRefused) as refused:
            scheduled.scheduled_transfer_create(customer=customer, stepup_id=uuid.uuid4(), content=content)
        assert "1日の利用限度額（100,000円）" in refused.value.message
        assert "明日0時から適用" in refused.value.message
        schedule_small = content_for(customer, account, other_bank_payee(), 90_000, day=day, check=False)
        book(customer, schedule_small)
    with time_machine.travel(at(dt.date(2026, 12, 8), 12), tick=False):  # the raise is in force
        book(customer, content)
    assert sorted(Transfer.objects.values_list("amount", flat=True)) == [90_000, 2_000_000]


# --- 振込予約取消 ------------------------------------------------------------------------------


def test_cancel_the_day_before_is_allowed_audited_and_mailed():
    customer, account = payer()
    transfer = schedule(customer, account, 10_000, day=dt.date(2026, 12, 8))
    with time_machine.travel(at(MONDAY, 23, 59), tick=False):
        scheduled.scheduled_transfer_cancel(customer=customer, transfer_id=transfer.pk)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.CANCELLED and transfer.cancelled_at is not None
    assert AuditEvent.objects.get(action="transfer_cancel", outcome="success").summary.endswith(
        " 振込日2026年12月8日")
    assert OutboxMessage.objects.filter(customer=customer, event="transfer_cancelled").count() == 1
    # cancelled: no longer counts toward that day's limit
    assert services.transfer_day_total(customer=customer, day=transfer.transfer_date) == 0


def test_cancel_on_the_day_is_refused_with_the_reason():
    customer, account = payer()
    transfer = schedule(customer, account, 10_000, day=dt.date(2026, 12, 8))
    with time_machine.travel(at(dt.date(2026, 12, 8), 0, 1), tick=False):
        with pytest.raises(services.TransferRefused) as refused:
            scheduled.scheduled_transfer_cancel(customer=customer, transfer_id=transfer.pk)
    assert refused.value.message == scheduled.CANCEL_ON_THE_DAY
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.SCHEDULED
    assert AuditEvent.objects.filter(action="transfer_cancel", outcome="refused").count() == 1


def test_another_customer_cannot_cancel_it():
    customer, account = payer()
    transfer = schedule(customer, account, 10_000, day=dt.date(2026, 12, 8))
    stranger, _ = payer(email="other@example.jp")
    with time_machine.travel(at(MONDAY), tick=False), pytest.raises(Transfer.DoesNotExist):
        scheduled.scheduled_transfer_cancel(customer=stranger, transfer_id=transfer.pk)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.SCHEDULED


# --- the previous-day rule -------------------------------------------------------------------


def test_funded_the_day_before_executes_posts_once_and_mails():
    day = past_business_day()
    customer, account = funded_payer(30_550, day=day)
    transfer = schedule(customer, account, 30_000, day=day)
    result = scheduled.transfers_execute_due(day=day)
    assert (result.executed, result.unprocessed) == (1, 0)
    transfer.refresh_from_db()
    account.refresh_from_db()
    assert transfer.status == Transfer.Status.EXECUTED and transfer.journal_id
    assert account.balance == 0
    today = dt.date.today()  # executed late (its day has passed): settles from today
    settles = today if bankcalendar.is_business_day(today) else bankcalendar.next_business_day(today)
    assert OutgoingTransfer.objects.get(transfer=transfer).settlement_date == settles
    assert OutboxMessage.objects.filter(customer=customer, event="transfer_executed").count() == 1
    assert scheduled.transfers_execute_due(day=day).executed == 0  # the job run twice
    assert Entry.objects.filter(account=account, amount__lt=0).count() == 2  # amount + fee, once


def test_unfunded_becomes_unprocessed_nothing_posted_and_mailed_with_the_reason():
    day = past_business_day()
    customer, account = funded_payer(30_549, day=day)  # one yen short of amount + fee
    transfer = schedule(customer, account, 30_000, day=day)
    result = scheduled.transfers_execute_due(day=day)
    assert (result.executed, result.unprocessed) == (0, 1)
    assert result.reasons == {Transfer.Reason.INSUFFICIENT_FUNDS: 1}
    transfer.refresh_from_db()
    account.refresh_from_db()
    assert transfer.status == Transfer.Status.UNPROCESSED and transfer.journal_id is None
    assert transfer.get_unprocessed_reason_display() == "残高不足"
    assert account.balance == 30_549
    mail = OutboxMessage.objects.get(customer=customer, event="transfer_unprocessed")
    assert "残高不足" in mail.body
    assert AuditEvent.objects.filter(action="transfer", outcome="failure", summary__contains="残高不足").exists()


def test_a_deposit_on_the_day_itself_does_not_rescue_it():
    day = past_business_day()
    customer, account = funded_payer(10_000, day=day)
    transfer = schedule(customer, account, 30_000, day=day)
    factories.deposit(account, 100_000, posted_at=at(day, 0, 1))  # before the batch, on the day
    scheduled.transfers_execute_due(day=day)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.UNPROCESSED
    assert transfer.unprocessed_reason == Transfer.Reason.INSUFFICIENT_FUNDS


def test_holds_count_against_the_previous_day_balance():
    day = past_business_day()
    customer, account = funded_payer(40_000, day=day)
    Account.objects.filter(pk=account.pk).update(hold_amount=10_000)
    transfer = schedule(customer, account, 30_000, day=day)  # 30,550 > 40,000 − 10,000
    scheduled.transfers_execute_due(day=day)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.UNPROCESSED


def test_two_transfers_that_together_overdraw_the_first_made_executes_the_second_is_unprocessed():
    day = past_business_day()
    customer, account = funded_payer(50_000, day=day)
    first = schedule(customer, account, 30_000, day=day, hour=9)
    second = schedule(customer, account, 19_500, day=day, hour=11)  # 30,550 + 19,830 > 50,000
    scheduled.transfers_execute_due(day=day)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Transfer.Status.EXECUTED
    assert (second.status, second.unprocessed_reason) == (Transfer.Status.UNPROCESSED,
                                                          Transfer.Reason.INSUFFICIENT_FUNDS)
    account.refresh_from_db()
    assert account.balance == 50_000 - 30_550


def test_a_limit_cut_after_scheduling_leaves_it_unprocessed_over_the_limit():
    day = past_business_day()
    customer, account = funded_payer(500_000, day=day)
    transfer = schedule(customer, account, 300_000, day=day)
    with time_machine.travel(at(day - dt.timedelta(days=1), 12), tick=False):
        services.transfer_limit_change(customer=customer, new_limit=100_000)
    scheduled.transfers_execute_due(day=day)
    transfer.refresh_from_db()
    assert transfer.unprocessed_reason == Transfer.Reason.OVER_LIMIT


@pytest.mark.parametrize("customers", [1, 2])  # one transfer alone, and a chunk of two
def test_a_bank_maximum_lowered_after_booking_leaves_a_transfer_above_it_unprocessed(customers):
    """XFER-8 (review6): staff who lowered the bank maximum (振込の設定) capped the limit of
    new transfers and bookings (327828d), but the batch checked a booking made before the
    cut against the customer's own limit only, and executed 3,000,000円 against a maximum
    of 1,000,000円. Now 未処理, 限度額超過, mailed; one at the maximum itself executes."""
    from transfers.models import TransferLimit, TransferSettings

    day = past_business_day()
    over, at_max = [], []
    for n in range(customers):
        customer, account = funded_payer(5_000_000, day=day, email=f"payer{n}@example.jp")
        TransferLimit.objects.create(customer=customer, daily_limit=3_000_000)
        over.append(schedule(customer, account, 3_000_000, day=day))
        other, other_account = funded_payer(5_000_000, day=day, email=f"other{n}@example.jp")
        TransferLimit.objects.create(customer=other, daily_limit=3_000_000)
        at_max.append(schedule(other, other_account, 1_000_000, day=day))
    TransferSettings.objects.filter(pk=1).update(bank_max_daily_limit=1_000_000)
    result = scheduled.transfers_execute_due(day=day)
    assert (result.executed, result.unprocessed) == (customers, customers)
    for transfer in over:
        transfer.refresh_from_db()
        assert (transfer.status, transfer.unprocessed_reason) == (Transfer.Status.UNPROCESSED,
                                                                  Transfer.Reason.OVER_LIMIT)
        assert not Entry.objects.filter(account=transfer.debit_account, amount__lt=0).exists()
        mail = OutboxMessage.objects.get(customer=transfer.customer, event="transfer_unprocessed")
        assert "理由：限度額超過" in mail.body
    for transfer in at_max:
        transfer.refresh_from_db()
        assert transfer.status == Transfer.Status.EXECUTED


def test_a_payee_account_frozen_after_scheduling_leaves_it_unprocessed():
    """XFER-5 (review5): a 予約振込 to an account at our bank that was frozen after it was
    booked (口座名義確認 refuses a frozen one) was executed and credited it: the ledger
    refuses only debits of a frozen account. Now 未処理, 振込先口座お取扱不可."""
    day = past_business_day()
    customer, account = funded_payer(50_000, day=day)
    payee_account = factories.account(balance=0)
    transfer = schedule(customer, account, 10_000, day=day, payee=our_payee(payee_account))
    Account.objects.filter(pk=payee_account.pk).update(status=Account.Status.FROZEN)
    scheduled.transfers_execute_due(day=day)
    transfer.refresh_from_db()
    assert (transfer.status, transfer.unprocessed_reason) == (Transfer.Status.UNPROCESSED,
                                                              Transfer.Reason.PAYEE_UNAVAILABLE)
    assert Account.objects.get(pk=payee_account.pk).balance == 0
    assert Account.objects.get(pk=account.pk).balance == 50_000


def test_a_reservation_to_our_account_closed_after_booking_fails_on_its_day_with_notice():
    """XFER-5, NOTE-1: booked to an account at our bank that is closed before the date —
    未処理 (振込先口座お取扱不可), nothing posted, the customer mailed the reason; booking
    it once the account is closed is refused (the confirm's check)."""
    day = past_business_day()
    customer, account = funded_payer(50_000, day=day)
    payee_account = factories.account(balance=0)
    payee = our_payee(payee_account)  # 口座名義確認 while it was open
    transfer = schedule(customer, account, 10_000, day=day, payee=payee)
    Account.objects.filter(pk=payee_account.pk).update(status=Account.Status.CLOSED)
    with pytest.raises(services.TransferRefused) as refused:
        schedule(customer, account, 10_000, day=day, payee=payee)
    assert refused.value.message == services.PAYEE_ACCOUNT_CLOSED
    scheduled.transfers_execute_due(day=day)
    transfer.refresh_from_db()
    assert (transfer.status, transfer.unprocessed_reason) == (Transfer.Status.UNPROCESSED,
                                                              Transfer.Reason.PAYEE_UNAVAILABLE)
    assert Account.objects.get(pk=account.pk).balance == 50_000
    mail = OutboxMessage.objects.get(customer=customer, event="transfer_unprocessed")
    assert "理由：振込先口座お取扱不可" in mail.body
    assert AuditEvent.objects.filter(customer=customer, action="transfer", outcome="failure", actor="batch").exists()


def test_a_closed_account_leaves_it_unprocessed():
    day = past_business_day()
    customer, account = funded_payer(50_000, day=day)
    transfer = schedule(customer, account, 10_000, day=day)
    Account.objects.filter(pk=account.pk).update(status=Account.Status.FROZEN)
    scheduled.transfers_execute_due(day=day)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.UNPROCESSED
    assert transfer.unprocessed_reason == Transfer.Reason.ACCOUNT_FROZEN


# --- a missed day, a kill, a re-run -----------------------------------------------------------


def test_missed_days_are_caught_up_each_against_the_day_before_its_own_date():
    first_day = past_business_day(20)
    second_day = past_business_day(10)
    customer, account = funded_payer(40_000, day=first_day)
    early = schedule(customer, account, 20_000, day=first_day)
    late = schedule(customer, account, 30_000, day=second_day)
    factories.deposit(account, 50_000, posted_at=at(second_day, 9))  # a deposit on the second day
    result = scheduled.transfers_execute_due()  # today: both dates have passed
    assert (result.executed, result.unprocessed) == (1, 1)
    early.refresh_from_db()
    late.refresh_from_db()
    assert early.status == Transfer.Status.EXECUTED
    # the late one: the end of the day before its date held 40,000, less the 20,330 the early
    # one took when caught up; the deposit on its own day does not count
    assert (late.status, late.unprocessed_reason) == (Transfer.Status.UNPROCESSED,
                                                      Transfer.Reason.INSUFFICIENT_FUNDS)
    assert scheduled.funds_for(late) == 40_000 - 20_330


def test_a_batch_killed_after_some_commits_and_rerun_executes_each_once():
    day = past_business_day()
    customer, account = funded_payer(100_000, day=day)
    transfers = [schedule(customer, account, 1_000, day=day, hour=8 + index) for index in range(5)]
    assert scheduled.transfers_execute_due(day=day, limit=2).executed == 2  # the worker dies here

    calls = []
    original = scheduled.journal_post

    def dying(**kwargs):
        calls.append(kwargs["idempotency_key"])
        raise SystemExit("killed mid-transfer")

    scheduled.journal_post = dying
    try:
        with pytest.raises(SystemExit):
            scheduled.transfers_execute_due(day=day)
    finally:
        scheduled.journal_post = original
    assert Transfer.objects.filter(status=Transfer.Status.SCHEDULED).count() == 3  # rolled back
    call_command("transfers_execute", "--date", day.isoformat())
    assert {t.status for t in Transfer.objects.filter(pk__in=[t.pk for t in transfers])} == {"executed"}
    assert Entry.objects.filter(account=account, amount__lt=0).count() == 10  # 5 × (amount + fee)
    assert OutboxMessage.objects.filter(customer=customer, event="transfer_executed").count() == 5
    assert AuditEvent.objects.filter(action="transfer_batch", actor="manage.py").count() == 1


def test_one_transfer_costs_a_bounded_number_of_statements(django_assert_max_num_queries):
    """Issue 14: the claim (transfer + customer lock), one read of the accounts and the
    figures of the funds rule and the limit, the posting (in its savepoint), the
    conditional UPDATE, the audit row and the mail — and the test's own savepoint pair."""
    day = past_business_day()
    customer, account = funded_payer(100_000, day=day)
    _, target = payer(balance=0, email="payee@example.jp")
    schedule(customer, account, 30_000, day=day, payee=our_payee(target))
    with django_assert_max_num_queries(10):
        assert scheduled.transfers_execute_due(day=day, limit=1).executed == 1
    target.refresh_from_db()
    assert target.balance == 30_000


def test_the_command_refuses_a_future_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("transfers_execute", "--date", "2999-01-04")
    with pytest.raises(CommandError):
        call_command("transfers_execute", "--date", "x" * 5000)


def test_a_same_day_transfer_is_not_counted_as_taken_by_the_scheduled_ones():
    day = past_business_day()
    customer, account = funded_payer(100_000, day=day)
    transfer = schedule(customer, account, 30_000, day=day)
    assert scheduled.funds_for(transfer) == 100_000
    summary = scheduled.batch_summary(day)
    assert [(row["status"], row["count"]) for row in summary] == [("scheduled", 1)]


# --- staff ----------------------------------------------------------------------------------


def test_staff_see_the_days_summary_and_rerun_a_day_safely_audited(staff_client):
    day = past_business_day()
    customer, account = funded_payer(20_000, day=day)
    funded = schedule(customer, account, 10_000, day=day, hour=9)
    short = schedule(customer, account, 10_000, day=day, hour=10)  # 10,330 × 2 > 20,000
    page = staff_client.get(f"/admin/transfers/scheduledtransfer/?summary_date={day.isoformat()}").content.decode()
    assert "予約中" in page and "20,000円" in page
    assert staff_client.get("/admin/transfers/scheduledtransfer/run/").status_code == 200
    for _ in range(2):  # re-running is safe
        response = staff_client.post("/admin/transfers/scheduledtransfer/run/", {"day": day.isoformat()})
        assert response.status_code == 302
    funded.refresh_from_db()
    short.refresh_from_db()
    assert (funded.status, short.status, short.unprocessed_reason) == ("executed", "unprocessed", "insufficient_funds")
    assert Entry.objects.filter(account=account, amount__lt=0).count() == 2
    events = AuditEvent.objects.filter(action="transfer_batch", actor="staff-t").order_by("id")
    assert [event.summary.split(" ", 2)[2] for event in events] == ["振込済 1件 未処理 1件", "振込済 0件 未処理 0件"]
    page = staff_client.get(f"/admin/transfers/scheduledtransfer/?summary_date={day.isoformat()}").content.decode()
    assert "振込済" in page and "残高不足" in page
    assert staff_client.post(f"/admin/transfers/scheduledtransfer/{funded.pk}/delete/").status_code == 403


def test_a_rerun_for_a_year_before_1000_names_that_day_and_shows_its_summary(staff_client):
    """XFER-5: a typo like 0026-12-05 in 再実行 ran the batch for that day (nothing) but the
    message read 「26-12-05 以前を再実行」 and the list then showed today's summary (the
    short year did not parse back): staff read that today's re-run found nothing to do."""
    response = staff_client.post("/admin/transfers/scheduledtransfer/run/", {"day": "0026-12-05"})
    assert response.url.endswith("?summary_date=0026-12-05")
    page = staff_client.get(response.url).content.decode()
    assert "0026-12-05 以前を再実行" in page
    assert AuditEvent.objects.filter(action="transfer_batch", summary__startswith="0026-12-05 ").exists()


@pytest.mark.parametrize("typed", ["2026-02-30", "0000-01-01", "abc", "2026-13-01"])
def test_a_summary_date_that_is_no_day_is_told_not_shown_as_today_silently(staff_client, typed):
    """XFER-5 (walk29 note): an impossible 振込日 in the list's URL showed today's summary
    with no word that the typed date was not used. Now a warning says so, names today, and
    the summary is today's (nothing is run: the list only reads)."""
    from django.utils.http import urlencode

    today = bankcalendar.local_now().date()
    page = staff_client.get("/admin/transfers/scheduledtransfer/?" + urlencode({"summary_date": typed}))
    assert page.status_code == 200
    text = page.content.decode()
    assert f"指定された振込日は日付として読み取れないため、本日（{today.isoformat()}）の実行結果を表示しています。" in text
    assert f'name="summary_date" value="{today.isoformat()}"' in text
    plain = staff_client.get(f"/admin/transfers/scheduledtransfer/?summary_date={today.isoformat()}")
    assert "日付として読み取れない" not in plain.content.decode()
    fullwidth = staff_client.get("/admin/transfers/scheduledtransfer/?" + urlencode({"summary_date": "２０２６－１２－０７"}))
    assert "日付として読み取れない" not in fullwidth.content.decode()


def test_staff_cancel_a_suspended_customers_transfer_with_a_reason_audited_and_mailed(staff_client):
    """SEC-10, XFER-6: after IB取引中止 the customer cannot log in to cancel; the page sends
    them to the branch, and the branch cancels it — also on its date while the batch has not
    taken it — with a reason, audited with the staff user, mailed; never one already done."""
    day = past_business_day()
    customer, account = funded_payer(50_000, day=day)
    waiting = schedule(customer, account, 10_000, day=day)
    done = schedule(customer, account, 20_000, day=day, hour=11)
    with time_machine.travel(at(day - dt.timedelta(days=1), 12), tick=False):  # the customer cancelled it
        scheduled.scheduled_transfer_cancel(customer=customer, transfer_id=done.pk)
    factories.suspended(customer)

    customer_page = staff_client.get(f"/admin/accounts/customer/{customer.pk}/change/").content.decode()
    listed = f"/admin/transfers/scheduledtransfer/?customer__id__exact={customer.pk}&amp;status__exact=scheduled"
    assert "予約中の振込（取消）" in customer_page and listed in customer_page
    page = staff_client.get(listed.replace("&amp;", "&")).content.decode()
    assert f"/admin/transfers/scheduledtransfer/{waiting.pk}/cancel/" in page
    assert f"/admin/transfers/scheduledtransfer/{done.pk}/cancel/" not in page
    assert "10,000円" in page  # amounts as staff read them, not 10000 (walk20)

    form = staff_client.get(f"/admin/transfers/scheduledtransfer/{waiting.pk}/cancel/").content.decode()
    assert "10,000円" in form and "予約振込を取り消す" in form
    blank = staff_client.post(f"/admin/transfers/scheduledtransfer/{waiting.pk}/cancel/", {"reason": "  "})
    assert "理由を入力してください。" in blank.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == Transfer.Status.SCHEDULED

    factories.notices_chosen(customer, receipts=False)  # 受付のお知らせ: off
    cancel = staff_client.post(f"/admin/transfers/scheduledtransfer/{waiting.pk}/cancel/",
                               {"reason": "IB取引中止の後、電話で本人確認"})
    assert cancel.status_code == 302
    detail = staff_client.get(cancel.url).content.decode()
    assert "10,000円" in detail and "取消済" in detail.split("窓口での取消")[1][:200]
    # the 確認ID in its own, explained section (STAFF-1), as on the transfer page
    assert "取引認証（追跡用）" in detail and f'<code class="confirmation-id">{waiting.stepup_id}</code>' in detail
    waiting.refresh_from_db()
    assert waiting.status == Transfer.Status.CANCELLED and waiting.cancelled_at is not None
    event = AuditEvent.objects.get(action="transfer_cancel_staff", outcome="success")
    assert event.actor == "staff-t" and event.customer_id == customer.pk and "電話で本人確認" in event.summary
    assert f"振込日{waiting.transfer_date.year}年{waiting.transfer_date.month}月{waiting.transfer_date.day}日 " in event.summary
    mail = OutboxMessage.objects.get(customer=customer, event="transfer_cancelled_staff")
    assert "お申し出により" in mail.body and "10,000円" in mail.body
    assert mail.status == OutboxMessage.Status.PENDING  # a security notice: sent even with receipts off
    # the batch finds nothing to do for it; nothing was debited
    scheduled.transfers_execute_due(day=day)
    waiting.refresh_from_db()
    assert waiting.status == Transfer.Status.CANCELLED
    assert not Entry.objects.filter(account=account, amount__lt=0).exists()

    # a second cancel (the back button, another staff member) and one already executed: refused, no mail
    for transfer in (waiting, done):
        again = staff_client.post(f"/admin/transfers/scheduledtransfer/{transfer.pk}/cancel/",
                                  {"reason": "再送"}, follow=True)
        assert "のため、取消できません。" in again.content.decode()
    assert OutboxMessage.objects.filter(customer=customer, event="transfer_cancelled_staff").count() == 1
    assert staff_client.get("/admin/transfers/scheduledtransfer/abc/cancel/").status_code == 404


def test_the_staff_cancel_loses_cleanly_to_the_batch_that_took_the_transfer():
    """XFER-5/6: a cancel after the batch executed the transfer changes nothing and says so."""
    day = past_business_day()
    customer, account = funded_payer(50_000, day=day)
    transfer = schedule(customer, account, 10_000, day=day)
    scheduled.transfers_execute_due(day=day)
    with pytest.raises(services.TransferRefused) as refused:
        scheduled.scheduled_transfer_staff_cancel(transfer_id=transfer.pk, reason="本人から電話", actor="staff-t")
    assert refused.value.message == scheduled.CANCEL_NOT_SCHEDULED
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.EXECUTED
    assert AuditEvent.objects.get(action="transfer_cancel_staff").outcome == "refused"
    assert not OutboxMessage.objects.filter(event__startswith="transfer_cancelled").exists()


def test_staff_without_the_permission_cannot_cancel(staff_client, staff):
    from django.contrib.auth.models import Permission

    customer, account = payer()
    transfer = schedule(customer, account, 10_000, day=dt.date(2026, 12, 8))
    user, _ = staff
    user.groups.clear()
    user.user_permissions.add(Permission.objects.get(codename="view_scheduledtransfer"))
    response = staff_client.post(f"/admin/transfers/scheduledtransfer/{transfer.pk}/cancel/", {"reason": "x"},
                                 follow=True)
    assert "予約振込の取消の権限がありません。" in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.SCHEDULED


def test_health_counts_scheduled_transfers_the_batch_left_behind(client):
    """XFER-5, dbprobe26 F12: a 予約中 transfer dated before today was not paid on its
    date — the batch did not run or skipped it; /health/ says how many, for the alert."""
    assert client.get("/health/").json()["scheduled_transfers_overdue"] == 0
    day = past_business_day()
    payer_and_account = funded_payer(100_000, day=day, email="overdue@example.jp")
    schedule(*payer_and_account, 1_000, day=day)
    assert client.get("/health/").json()["scheduled_transfers_overdue"] == 1
    scheduled.transfers_execute_due()
    assert client.get("/health/").json()["scheduled_transfers_overdue"] == 0
