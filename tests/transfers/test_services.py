"""Transfers through the service: fees (XFER-4), posting legs (LEDGER-3), limits (XFER-8),
payee names (XFER-3), look-up throttling (XFER-11), payees (XFER-7), records and mail."""

import datetime as dt
import uuid

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.test import override_settings

from accounts import errors
from accounts.models import Account, Entry
from accounts.selectors import internal_balance
from accounts.templatetags.accounts_format import account_label
from cosei_ib.bankcalendar import local_now, next_business_day
from notifications.models import OutboxMessage
from security.models import AuditEvent
from security.stepup import stepup_seed_used
from tests import factories
from tests.factories import ledger_account_id
from tests.transfers.support import content_for, execute, other_bank_payee, our_payee, payer, registered_payee
from transfers import services
from transfers.scheduled import scheduled_transfer_cancel, scheduled_transfer_create
from transfers.directory import ACCOUNT_CLOSED, ACCOUNT_FROZEN, ACCOUNT_UNKNOWN, PayeeAccountError
from transfers.models import FeeSchedule, OutgoingTransfer, Payee, Transfer

pytestmark = pytest.mark.django_db


def balance(account) -> int:
    """An internal account's figure includes its stripes (issue 14)."""
    if account.is_internal:
        return internal_balance(account)
    account.refresh_from_db()
    return account.balance


@pytest.mark.parametrize(("where", "amount", "fee"), [
    ("same_branch", 29_999, 0), ("same_branch", 30_000, 0),
    ("other_branch", 29_999, 110), ("other_branch", 30_000, 220),
    ("other_bank", 29_999, 330), ("other_bank", 30_000, 550),
])
def test_fee_for_each_case_and_the_journal_legs(where, amount, fee):
    customer, debit = payer()
    fee_income = factories.internal(Account.Purpose.FEE_INCOME)
    settlement = factories.internal(Account.Purpose.ZENGIN_SETTLEMENT)
    income_before, settlement_before = balance(fee_income), balance(settlement)
    if where == "other_bank":
        payee, target = other_bank_payee(), settlement
    else:
        target = factories.account(branch_code="001" if where == "same_branch" else "002")
        payee = our_payee(target)
    target_before = balance(target)
    transfer = execute(customer, content_for(customer, debit, payee, amount))
    assert transfer.route == where and transfer.fee == fee
    assert balance(debit) == 1_000_000 - amount - fee
    assert balance(target) == target_before + amount
    assert balance(fee_income) == income_before + fee
    legs = [(ledger_account_id(leg), leg.amount, leg.description)
            for leg in Entry.objects.filter(journal_id=transfer.journal_id).select_related("account").order_by("id")]
    expected = [(debit.pk, -amount, "振込 " + payee["holder_kana"])]
    if fee:
        expected.append((debit.pk, -fee, "振込手数料"))
    expected.append((target.pk, amount, "振込 ﾔﾏﾀﾞ ﾀﾛｳ"))
    if fee:
        expected.append((fee_income.pk, fee, f"振込手数料 {customer.contract_id}"))
    assert legs == expected
    if where == "other_bank":
        assert balance(settlement) == settlement_before + amount


def test_fee_borne_by_payee_deducts_it_and_refuses_fee_at_or_above_amount():
    customer, debit = payer()
    transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 10_000, borne=True))
    assert (transfer.fee, transfer.credited_amount, transfer.debited_amount) == (330, 9_670, 10_000)
    assert balance(debit) == 990_000
    assert Entry.objects.filter(journal_id=transfer.journal_id).count() == 3  # three legs
    outgoing = OutgoingTransfer.objects.get(transfer=transfer)
    assert outgoing.amount == 9_670
    for amount in (330, 100):
        with pytest.raises(services.TransferRefused) as refused:
            content_for(customer, debit, other_bank_payee(), amount, borne=True)
        assert refused.value.message == services.FEE_NOT_BELOW_AMOUNT.format(fee=330)
        # and under the lock, should a forged content get there
        with pytest.raises(services.TransferRefused):
            execute(customer, content_for(customer, debit, other_bank_payee(), amount, borne=True, check=False))
    assert content_for(customer, debit, other_bank_payee(), 331, borne=True)["fee"] == 330


def test_a_fee_change_applies_from_its_date_and_never_to_a_confirmed_transfer():
    customer, debit = payer()
    today = local_now().date()
    confirmed = content_for(customer, debit, other_bank_payee(), 10_000)
    # a new row starts tomorrow at the earliest (transfers 0025, dbprobe27 F4): today's stays
    FeeSchedule.objects.create(effective_from=today + dt.timedelta(days=1), other_bank_under=990)
    assert execute(customer, confirmed).fee == 330  # what was confirmed
    assert content_for(customer, debit, other_bank_payee(), 10_000)["fee"] == 330
    tomorrow = today + dt.timedelta(days=1)
    assert content_for(customer, debit, other_bank_payee(), 10_000, day=tomorrow, check=False)["fee"] == 990
    # a row in force is never edited in place: the database refuses it (CI203)
    with pytest.raises(DatabaseError, match="in force"), transaction.atomic():
        FeeSchedule.objects.filter(effective_from__lte=today).update(other_bank_under=500)
    # a future row still is, until a transfer refers to it: a booking confirmed before the
    # edit no longer matches its row, refused
    day = next_business_day(next_business_day(today))
    FeeSchedule.objects.create(effective_from=day, other_bank_under=660)
    booking = content_for(customer, debit, other_bank_payee(), 10_000, day=day, check=False)
    FeeSchedule.objects.filter(effective_from=day).update(other_bank_under=770)
    with pytest.raises(services.TransferRefused, match="手数料が変更"):
        scheduled_transfer_create(customer=customer, stepup_id=uuid.uuid4(), content=booking)


def test_other_bank_record_has_every_zengin_field_and_settles_next_business_day_on_a_holiday():
    customer, debit = payer()
    sunday = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    with time_machine.travel(sunday, tick=False):
        transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 12_345))
    outgoing = OutgoingTransfer.objects.get(transfer=transfer)
    assert (outgoing.bank_code, outgoing.bank_kana, outgoing.branch_code, outgoing.branch_kana,
            outgoing.account_type, outgoing.account_number, outgoing.payee_kana, outgoing.amount,
            outgoing.sender_name, outgoing.edi, outgoing.status) == (
        "0161", "ｲｹﾀﾞｾﾝｼﾕｳ", "002", "ｶｲﾂﾞｶ", "1", "0012345", "ﾀﾅｶ ﾊﾅｺ", 12_345, "ﾔﾏﾀﾞ ﾀﾛｳ", "", "pending")
    assert outgoing.settlement_date == dt.date(2026, 12, 7)
    assert transfer.transfer_date == dt.date(2026, 12, 6)


def test_transfer_writes_audit_and_mail_in_its_transaction():
    customer, debit = payer()
    friday = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    with time_machine.travel(friday, tick=False):
        transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 5_000))
    event = AuditEvent.objects.get(customer=customer, action="transfer")
    assert event.outcome == "success" and "ﾀﾅｶ ﾊﾅｺ 5,000円 手数料330円" in event.summary
    # the row names the 受付番号 the transfer was stored with (ACCT-4)
    assert event.summary.startswith(f"受付番号 {Transfer.objects.get(customer=customer).pk} ")
    mail = OutboxMessage.objects.get(customer=customer, event="transfer_accepted")
    assert "振込金額：5,000円" in mail.body and "引落金額：5,330円" in mail.body
    assert "振込日：2026年12月4日\n" in mail.body  # as every page writes it, not 12月04日
    assert mail.subject.endswith("振込受付のお知らせ")
    assert transfer.status == Transfer.Status.EXECUTED


def test_insufficient_funds_posts_nothing():
    customer, debit = payer(balance=10_000)
    with pytest.raises(services.TransferRefused, match="お支払可能額"):
        content_for(customer, debit, other_bank_payee(), 9_700)
    with pytest.raises(errors.InsufficientFunds):
        execute(customer, content_for(customer, debit, other_bank_payee(), 9_700, check=False))
    assert balance(debit) == 10_000
    assert not Transfer.objects.exists()
    execute(customer, content_for(customer, debit, other_bank_payee(), 9_670))  # 9,670 + 330: exactly all
    assert balance(debit) == 0



def test_a_refusal_at_the_confirm_is_named_by_the_service_as_at_the_input_page(monkeypatch):
    """walk33 F4 (ACCT-4): a refusal of the confirmed transfer — a rule of it or the
    ledger's — comes out of the service named for 取引履歴 (``audit_summary``: the payee,
    the amount, the message; the step-up flow writes it as 拒否), as the input page's quote
    names its own; a 予約's refusal too. A fault (LedgerIntegrityError) is named by no one:
    失敗 with the ledger's message (review33 F4)."""
    from tests.transfers.scheduled_support import schedule

    customer, debit = payer(balance=10_000)
    with pytest.raises(services.TransferRefused) as at_input:
        content_for(customer, debit, other_bank_payee(), 9_700)
    row = AuditEvent.objects.get(customer=customer, action="transfer", outcome="refused")
    assert row.summary.startswith(f"池田泉州銀行 貝塚支店 9,700円 {at_input.value.message}")
    with pytest.raises(errors.InsufficientFunds) as refused:
        execute(customer, content_for(customer, debit, other_bank_payee(), 9_700, check=False))
    assert refused.value.audit_summary == f"池田泉州銀行 貝塚支店 9,700円 {errors.InsufficientFunds.message}"
    Account.objects.filter(pk=debit.pk).update(status=Account.Status.FROZEN)
    with pytest.raises(services.TransferRefused) as refused:
        schedule(customer, debit, 1_000, day=next_business_day(next_business_day(local_now().date())))
    assert refused.value.audit_summary == f"池田泉州銀行 貝塚支店 1,000円 {services.ACCOUNT_NOT_USABLE}"
    Account.objects.filter(pk=debit.pk).update(status=Account.Status.OPEN)

    def fault(**kwargs):
        raise errors.LedgerIntegrityError("deadlock detected")
    monkeypatch.setattr(services, "journal_post", fault)
    with pytest.raises(errors.LedgerIntegrityError) as failed:
        execute(customer, content_for(customer, debit, other_bank_payee(), 1_000))
    assert getattr(failed.value, "audit_summary", "") == ""
    assert not Transfer.objects.exists()

def test_limit_at_the_boundary():
    customer, debit = payer(balance=5_000_000)
    services.transfer_limit_change(customer=customer, new_limit=100_000)
    execute(customer, content_for(customer, debit, other_bank_payee(), 60_000))
    with pytest.raises(services.TransferRefused) as refused:
        content_for(customer, debit, other_bank_payee(), 40_001)
    assert refused.value.message == services.OVER_LIMIT.format(limit=100_000, rest=40_000)
    with pytest.raises(services.TransferRefused):
        execute(customer, content_for(customer, debit, other_bank_payee(), 40_001, check=False))
    execute(customer, content_for(customer, debit, other_bank_payee(), 40_000))  # exactly the limit
    assert services.transfer_day_total(customer=customer, day=local_now().date()) == 100_000


def test_cut_at_once_raise_from_tomorrow_with_mail():
    customer, debit = payer(balance=5_000_000)
    noon = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    with time_machine.travel(noon, tick=False):
        services.transfer_limit_change(customer=customer, new_limit=50_000)  # cut: at once
        with pytest.raises(services.TransferRefused):
            content_for(customer, debit, other_bank_payee(), 50_001)
        limit = services.transfer_limit_change(customer=customer, new_limit=2_000_000)  # raise: tomorrow
        assert (limit.daily_limit, limit.pending_limit, limit.pending_from) == (50_000, 2_000_000, dt.date(2026, 12, 4))
        with pytest.raises(services.TransferRefused, match="50,000円"):
            execute(customer, content_for(customer, debit, other_bank_payee(), 60_000, check=False))
    with time_machine.travel(noon + dt.timedelta(hours=12, minutes=1), tick=False):  # 0:01 next day
        execute(customer, content_for(customer, debit, other_bank_payee(), 1_500_000))
    mails = OutboxMessage.objects.filter(customer=customer, event="limit_change").order_by("id")
    bodies = [mail.body for mail in mails]
    assert len(bodies) == 2
    assert "1日の振込利用限度額を1,000,000円から50,000円に変更しました（本日より適用）。" in bodies[0]
    assert "1日の振込利用限度額を50,000円から2,000,000円に変更しました（2026年12月4日 0:00より適用）。" in bodies[1]
    assert AuditEvent.objects.filter(customer=customer, action="limit_change").count() == 2


def test_limit_change_within_the_bank_maximum():
    customer, _debit = payer()
    with pytest.raises(services.TransferRefused, match="10,000,000円以内"):
        services.transfer_limit_change(customer=customer, new_limit=10_000_001)
    services.transfer_limit_change(customer=customer, new_limit=10_000_000)


def test_a_limit_change_applies_only_against_the_figures_shown():
    """XFER-8, SEC-14: ``shown`` is what the input page showed; a raise that came into
    force at 0:00 since (or any other difference) refuses the change, and nothing moves."""
    from transfers.models import TransferLimit

    customer, _debit = payer()
    noon = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    with time_machine.travel(noon, tick=False):
        services.transfer_limit_change(customer=customer, new_limit=2_000_000)  # waits for the 4th
        shown = services.LimitShown(current=1_000_000, pending=2_000_000, maximum=10_000_000)
        with pytest.raises(services.TransferRefused) as refused:
            services.transfer_limit_change(customer=customer, new_limit=1_500_000,
                                           shown=services.LimitShown(current=1_000_000, pending=None,
                                                                     maximum=10_000_000))
        assert refused.value.message == services.LIMIT_CHANGED
    with time_machine.travel(noon + dt.timedelta(hours=12, minutes=1), tick=False):  # the raise is in force
        with pytest.raises(services.TransferRefused, match="入力画面を表示した後に利用限度額"):
            services.transfer_limit_change(customer=customer, new_limit=1_500_000, shown=shown)
        limit = TransferLimit.objects.get(customer=customer)
        assert (limit.daily_limit, limit.pending_limit) == (1_000_000, 2_000_000)  # untouched
        services.transfer_limit_change(customer=customer, new_limit=1_500_000, shown=services.LimitShown(
            current=2_000_000, pending=None, maximum=10_000_000))
        limit.refresh_from_db()
        assert (limit.daily_limit, limit.pending_limit) == (1_500_000, None)
    assert OutboxMessage.objects.filter(customer=customer, event="limit_change").count() == 2


def test_a_lowered_bank_maximum_caps_the_limit_of_a_customer_above_it():
    """XFER-8 (review5): the bank maximum (振込の設定, 金庫所定の上限) bounded only the limit a
    customer could choose. Staff who lowered it — against a wave of fraud, say — left every
    customer who had chosen more transferring up to their old limit, and the 利用限度額変更
    page still showed that limit as in force, above the maximum beside it."""
    from transfers.models import TransferLimit, TransferSettings
    from transfers.selectors import transfer_limit_view

    customer, debit = payer(balance=5_000_000)
    TransferLimit.objects.create(customer=customer, daily_limit=3_000_000)
    TransferSettings.objects.filter(pk=1).update(bank_max_daily_limit=1_000_000)
    with pytest.raises(services.TransferRefused) as refused:
        content_for(customer, debit, other_bank_payee(), 1_000_001)
    assert refused.value.message == services.OVER_LIMIT.format(limit=1_000_000, rest=1_000_000)
    with pytest.raises(services.TransferRefused):
        execute(customer, content_for(customer, debit, other_bank_payee(), 1_000_001, check=False))
    assert not Transfer.objects.exists()
    assert transfer_limit_view(customer=customer, today=local_now().date())["current"] == 1_000_000
    # walk26 F6: the capped figure typed again lowers the customer's own choice to it (it
    # was 「現在の利用限度額と同じです。」, the 3,000,000円 kept, back in full if the maximum rose)
    services.transfer_limit_change(customer=customer, new_limit=1_000_000)
    assert TransferLimit.objects.get(customer=customer).daily_limit == 1_000_000
    assert AuditEvent.objects.get(customer=customer, action="limit_change").summary == (
        "3,000,000円（当金庫の上限により1,000,000円） → 1,000,000円（本日より）")
    with pytest.raises(services.TransferRefused, match="現在の利用限度額と同じです"):
        services.transfer_limit_change(customer=customer, new_limit=1_000_000)  # what is chosen and in force
    execute(customer, content_for(customer, debit, other_bank_payee(), 1_000_000))  # the maximum itself
    assert services.transfer_day_total(customer=customer, day=local_now().date()) == 1_000_000


def test_a_raise_awaited_above_a_lowered_bank_maximum_is_announced_up_to_the_maximum():
    """XFER-8 (walk25 F27): after staff lowered the maximum, the 利用限度額変更 page still
    announced 「変更後の利用限度額 5,000,000円（明日から）」 above the new maximum."""
    import datetime as dt

    from transfers.models import TransferLimit, TransferSettings
    from transfers.selectors import transfer_limit_view

    customer, _debit = payer()
    today = local_now().date()
    TransferLimit.objects.create(customer=customer, daily_limit=500_000, pending_limit=5_000_000,
                                 pending_from=today + dt.timedelta(days=1))
    assert transfer_limit_view(customer=customer, today=today)["pending"]["amount"] == 5_000_000
    TransferSettings.objects.filter(pk=1).update(bank_max_daily_limit=2_000_000)
    assert transfer_limit_view(customer=customer, today=today)["pending"]["amount"] == 2_000_000
    TransferSettings.objects.filter(pk=1).update(bank_max_daily_limit=500_000)
    assert transfer_limit_view(customer=customer, today=today)["pending"] is None  # no raise left


def test_our_bank_names_unknown_closed_and_frozen_accounts():
    customer, _debit = payer()
    target = factories.account()
    assert services.name_lookup(customer=customer, bank_code="1633", branch_code="001",
                                account_type=target.type, account_number=target.number).holder_kana == "ﾔﾏﾀﾞ ﾀﾛｳ"
    for number, message in (("7777777", ACCOUNT_UNKNOWN),):
        with pytest.raises(PayeeAccountError, match=message):
            services.name_lookup(customer=customer, bank_code="1633", branch_code="001", account_type="1",
                                 account_number=number)
    Account.objects.filter(pk=target.pk).update(status=Account.Status.FROZEN)
    with pytest.raises(PayeeAccountError) as refused:
        services.name_lookup(customer=customer, bank_code="1633", branch_code="001", account_type=target.type,
                             account_number=target.number)
    assert refused.value.message == ACCOUNT_FROZEN
    empty = factories.account()
    Account.objects.filter(pk=empty.pk).update(status=Account.Status.CLOSED)
    with pytest.raises(PayeeAccountError) as refused:
        services.name_lookup(customer=customer, bank_code="1633", branch_code="001", account_type=empty.type,
                             account_number=empty.number)
    assert refused.value.message == ACCOUNT_CLOSED
    assert AuditEvent.objects.filter(customer=customer, action="transfer_lookup", outcome="failure").count() == 3


def test_another_banks_holder_name_is_normalised_or_refused_before_the_transfer():
    """XFER-3, XFER-10, XFER-12: the directory's holder name goes into the 総合振込 file. A
    decomposed dakuten is normalised to ｶﾞ; a name the Zengin set cannot carry is refused
    at 口座名義確認 with a message — it was kept as-is and broke the day's file later."""
    from transfers.directory import HOLDER_NOT_ZENGIN
    from transfers.models import InterbankDemoAccount

    customer, _debit = payer()
    lookup = dict(customer=customer, bank_code="0161", branch_code="002", account_type="1")
    InterbankDemoAccount.objects.create(bank_code="0161", branch_code="002", account_type="1",
                                        account_number="0000777", holder_kana="ナカ\u3099ノ ショウコ")
    InterbankDemoAccount.objects.create(bank_code="0161", branch_code="002", account_type="1",
                                        account_number="0000778", holder_kana="髙橋 ﾊﾅｺ")
    assert services.name_lookup(account_number="0000777", **lookup).holder_kana == "ﾅｶﾞﾉ ｼﾖｳｺ"
    with pytest.raises(PayeeAccountError) as refused:
        services.name_lookup(account_number="0000778", **lookup)
    assert refused.value.message == HOLDER_NOT_ZENGIN
    assert AuditEvent.objects.filter(customer=customer, action="transfer_lookup", outcome="failure").count() == 1


def test_other_bank_names_from_the_simulated_directory():
    customer, _debit = payer()
    found = services.name_lookup(customer=customer, bank_code="0161", branch_code="002", account_type="1",
                                 account_number="0012345")
    assert found.holder_kana == "ﾀﾅｶ ﾊﾅｺ" and found.credit_account is None
    with pytest.raises(PayeeAccountError, match=ACCOUNT_UNKNOWN):
        services.name_lookup(customer=customer, bank_code="0161", branch_code="002", account_type="2",
                             account_number="0012345")
    with pytest.raises(PayeeAccountError, match=ACCOUNT_CLOSED):
        services.name_lookup(customer=customer, bank_code="0001", branch_code="001", account_type="1",
                             account_number="9999999")


@override_settings(TRANSFERS_LOOKUPS_PER_HOUR=10)
def test_lookups_are_throttled_until_an_hour_passes_or_a_transfer_completes():
    customer, debit = payer()
    start = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.timezone.utc)
    lookup = dict(customer=customer, bank_code="0161", branch_code="002", account_type="1")
    with time_machine.travel(start, tick=False):
        for attempt in range(10):
            with pytest.raises(PayeeAccountError):
                services.name_lookup(account_number=f"{attempt:07d}", **lookup)
        with pytest.raises(services.TransferRefused) as refused:
            services.name_lookup(account_number="0012345", **lookup)
        assert refused.value.message == services.LOOKUP_THROTTLED
        assert AuditEvent.objects.filter(customer=customer, action="transfer_lookup", outcome="refused").count() == 1
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        services.name_lookup(account_number="0012345", **lookup)
        for attempt in range(9):
            with pytest.raises(PayeeAccountError):
                services.name_lookup(account_number=f"{attempt:07d}", **lookup)
        with pytest.raises(services.TransferRefused):
            services.name_lookup(account_number="0012345", **lookup)
    with time_machine.travel(start + dt.timedelta(minutes=62), tick=False):
        execute(customer, content_for(customer, debit, other_bank_payee(), 1_000))
    with time_machine.travel(start + dt.timedelta(minutes=63), tick=False):
        services.name_lookup(account_number="0012345", **lookup)  # a completed transfer resets the count


@override_settings(TRANSFERS_LOOKUPS_PER_HOUR=3)
def test_a_booking_resets_the_lookup_count_and_a_registered_payee_is_never_throttled():
    """walk26 F1, XFER-11: ten 予約 in a row left every transfer blocked for an hour — a
    completed booking did not reset the count as a same-day transfer does, and the look-up
    of a registered payee was throttled (and counted) like a new account. The refusal then
    advised 「お振込を完了してから」, which no new payee could."""
    from tests.transfers.scheduled_support import at, past_business_day, schedule
    from transfers.models import NameLookup

    customer, debit = payer()
    day = past_business_day()
    before = day - dt.timedelta(days=1)
    lookup = dict(customer=customer, bank_code="0161", branch_code="002", account_type="1")
    with time_machine.travel(at(before, 9, 30), tick=False):
        for attempt in range(3):
            with pytest.raises(PayeeAccountError):
                services.name_lookup(account_number=f"{attempt:07d}", **lookup)
        with pytest.raises(services.TransferRefused) as refused:
            services.name_lookup(account_number="0012345", **lookup)
        # no registered payee: the message offers none, nor a transfer it cannot make
        assert refused.value.message == services.LOOKUP_THROTTLED
        assert "お振込を完了してから" not in refused.value.message
    booking = schedule(customer, debit, 1_000, day=day, hour=10)  # booked at 10:00, not executed
    assert booking.status == Transfer.Status.SCHEDULED
    with time_machine.travel(at(before, 10, 5), tick=False):
        services.name_lookup(account_number="0012345", **lookup)  # the booking reset the count
        # cancelled as the customer cancels (transfers 0031: with its audit row and mail)
        scheduled_transfer_cancel(customer=customer, transfer_id=booking.pk)
        services.name_lookup(account_number="0012345", **lookup)  # cancelled since: still a booking made
        with pytest.raises(PayeeAccountError):
            services.name_lookup(account_number="0000001", **lookup)
        with pytest.raises(services.TransferRefused):
            services.name_lookup(account_number="0012345", **lookup)
        services.payee_register(customer=customer, transfer=booking)
        counted = NameLookup.objects.filter(customer=customer).count()
        for _again in range(5):  # the registered payee: neither refused nor counted
            assert services.name_lookup(account_number="0012345", **lookup).holder_kana == "ﾀﾅｶ ﾊﾅｺ"
        assert NameLookup.objects.filter(customer=customer).count() == counted
        with pytest.raises(services.TransferRefused) as refused:
            services.name_lookup(account_number="0000002", **lookup)
        assert refused.value.message == services.LOOKUP_THROTTLED + services.LOOKUP_THROTTLED_PAYEES
    assert AuditEvent.objects.filter(customer=customer, action="transfer_lookup", outcome="refused").count() == 3


def test_99_payees_and_the_100th_refused():
    customer, debit = payer(balance=10_000_000)
    for number in range(99):  # each after a transfer to it (transfers 0022)
        registered_payee(customer, debit=debit, account_number=f"{number:07d}", holder_kana="ﾃｽﾄ")
    assert Payee.objects.filter(customer=customer).count() == 99
    last = execute(customer, content_for(customer, debit, other_bank_payee(), 1_000))
    with pytest.raises(services.TransferRefused) as refused:
        services.payee_register(customer=customer, transfer=last)
    assert refused.value.message == services.PAYEES_FULL
    assert Payee.objects.filter(customer=customer).count() == 99
    assert AuditEvent.objects.filter(customer=customer, action="payee_register", outcome="refused").count() == 1
    payee = Payee.objects.filter(customer=customer).first()
    services.payee_delete(customer=customer, payee=payee)
    registered = services.payee_register(customer=customer, transfer=last)
    assert Transfer.objects.get(pk=last.pk).payee_id == registered.pk
    with pytest.raises(services.TransferRefused, match="既に登録"):
        services.payee_register(customer=customer, transfer=last)
    services.payee_rename(customer=customer, payee=registered, nickname="ハナコさん")
    assert Payee.objects.get(pk=registered.pk).label == "ハナコさん"
    assert {event.action for event in AuditEvent.objects.filter(customer=customer)} >= {
        "payee_register", "payee_delete", "payee_rename"}


@override_settings(SERVICE_HOURS_ENFORCED=True)
def test_outside_hours_the_service_refuses():
    customer, debit = payer()
    content = content_for(customer, debit, other_bank_payee(), 1_000)
    late = dt.datetime(2026, 12, 3, 22, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))  # Thursday 22:00
    with time_machine.travel(late, tick=False):
        content["transfer_date"] = "2026-12-03"
        with pytest.raises(services.TransferRefused, match="7:00～22:00"):
            execute(customer, content)
    assert not Transfer.objects.exists()


def test_a_confirmation_from_yesterday_is_refused():
    customer, debit = payer()
    content = content_for(customer, debit, other_bank_payee(), 1_000)
    content["transfer_date"] = (local_now().date() - dt.timedelta(days=1)).isoformat()
    with pytest.raises(services.TransferRefused, match="日付が変わった"):
        execute(customer, content)


def test_same_stepup_posts_once():
    customer, debit = payer()
    content = content_for(customer, debit, other_bank_payee(), 1_000)
    stepup_id = stepup_seed_used(customer=customer, kind="transfer", content=content).pk
    execute(customer, content, stepup_id)
    with pytest.raises(Exception):
        execute(customer, content, stepup_id)
    assert balance(debit) == 1_000_000 - 1_330


@pytest.mark.parametrize(("status", "message"), [
    (Account.Status.CLOSED, services.PAYEE_ACCOUNT_CLOSED),
    (Account.Status.FROZEN, services.PAYEE_ACCOUNT_FROZEN),
])
def test_a_payee_account_closed_or_frozen_after_the_name_check_is_named_as_the_payee_s(status, message):
    """XFER-1, XFER-9 (review, session 19): the payee's account at our bank closed between
    口座名義確認 and 確認 — the refusal says it is the payee's account, not the customer's,
    and nothing is posted or recorded. XFER-3 (review5): the same for one frozen then (a
    fraud account, say): the name check refuses a frozen account and an incoming Zengin
    credit to one is 入金不能, but the ledger refuses only its debits, so it was credited."""
    customer, debit = payer()
    payee_account = factories.account(balance=0)
    content = content_for(customer, debit, our_payee(payee_account), 5_000)
    Account.objects.filter(pk=payee_account.pk).update(status=status)
    with pytest.raises(services.TransferRefused) as refused:
        execute(customer, content)
    assert refused.value.message == message
    assert balance(debit) == 1_000_000 and balance(payee_account) == 0
    assert not Transfer.objects.exists()


def test_the_transfer_accounts_read_what_the_orm_would():
    """Issue 14: ``_transfer_accounts`` is SQL written out; it finds the customer's own
    account with its branch (None for another customer's or an internal one), and the
    internal accounts of a transfer, with the columns the ORM's query read."""
    from django.db.models import Q

    customer, debit = payer()
    _other, foreign = payer()
    fields = ("id", "purpose", "customer_id", "status", "type", "number", "branch_id")

    def orm(account_id):
        return list(Account.objects.select_related("branch").filter(
            Q(pk=account_id, customer=customer, purpose=Account.Purpose.CUSTOMER)
            | Q(purpose__in=services.TRANSFER_INTERNAL_PURPOSES)))

    for account_id, expected_debit in ((debit.pk, debit), (foreign.pk, None),
                                       (factories.internal(Account.Purpose.CASH).pk, None), (None, None)):
        found, internal, _credit, _used, _schedule, _kana = services._transfer_accounts(
            customer=customer, debit_account_id=account_id)
        rows = orm(account_id)
        assert [row.pk for row in rows if row.purpose == Account.Purpose.CUSTOMER] == \
            ([expected_debit.pk] if expected_debit else [])
        assert {purpose: account.pk for purpose, account in internal.items()} == \
            {row.purpose: row.pk for row in rows if row.purpose != Account.Purpose.CUSTOMER}
        assert set(internal) == set(services.TRANSFER_INTERNAL_PURPOSES)
        for account in ([found] if found else []) + list(internal.values()):
            expected = next(row for row in rows if row.pk == account.pk)
            assert [getattr(account, name) for name in fields] == [getattr(expected, name) for name in fields]
            assert (account.branch.code, account.branch.name) == (expected.branch.code, expected.branch.name)
        assert (found is None) == (expected_debit is None)
        if found:
            assert account_label(found) == account_label(debit)


def test_the_transfer_accounts_read_the_days_total_as_the_orm_would():
    """Issue 14: the day's total counted against the limit is read with the transfer's
    accounts (after the customer's lock, in the same statement): what
    ``transfer_day_total`` sums — the day's executed and scheduled transfers, not a
    cancelled one nor another day's."""
    from tests.transfers.scheduled_support import schedule
    from transfers.selectors import transfer_day_total

    customer, debit = payer()
    today = local_now().date()
    later = next_business_day(next_business_day(today))
    execute(customer, content_for(customer, debit, other_bank_payee(), 1_000))
    schedule(customer, debit, 2_000, day=later)
    cancelled = schedule(customer, debit, 4_000, day=later)
    scheduled_transfer_cancel(customer=customer, transfer_id=cancelled.pk, ip=None)
    for day, expected in ((today, 1_000), (later, 2_000), (later + dt.timedelta(days=1), 0)):
        used = services._transfer_accounts(customer=customer, debit_account_id=debit.pk, day=day).used
        assert used == transfer_day_total(customer=customer, day=day) == expected


def test_the_transfer_accounts_read_the_fee_row_as_the_orm_would():
    """Issue 14: the fee row in force on the day is read with the transfer's accounts —
    the row ``fee_schedule_on`` reads (the latest 適用開始日 on or before the day), every
    column the fee is taken from; none before the first row's date."""
    customer, debit = payer()
    today = local_now().date()
    later = today + dt.timedelta(days=10)
    FeeSchedule.objects.create(effective_from=later, threshold=50_000, same_branch_under=10,
                               same_branch_over=20, other_branch_under=130, other_branch_over=240,
                               other_bank_under=350, other_bank_over=570)
    first = FeeSchedule.objects.order_by("effective_from").first().effective_from
    fields = [field.attname for field in FeeSchedule._meta.concrete_fields if field.attname != "created_at"]
    for day in (today, later - dt.timedelta(days=1), later, later + dt.timedelta(days=30)):
        schedule = services._transfer_accounts(customer=customer, debit_account_id=debit.pk, day=day).schedule
        expected = services.fee_schedule_on(day)
        assert [getattr(schedule, name) for name in fields] == [getattr(expected, name) for name in fields]
        for route in ("same_branch", "other_branch", "other_bank"):
            for amount in (1, 49_999, 50_000):
                assert services.fee_from(schedule, route=route, amount=amount) == \
                    services.fee_from(expected, route=route, amount=amount)
    assert services._transfer_accounts(customer=customer, debit_account_id=debit.pk,
                                       day=first - dt.timedelta(days=1)).schedule is None
    with pytest.raises(services.TransferRefused):
        services.fee_schedule_on(first - dt.timedelta(days=1))


def test_the_transfer_accounts_read_the_payee_kana_as_the_orm_would():
    """Issue 14: the payee's bank and branch kana of the Zengin record are read with the
    transfer's accounts — what ``_payee_kana`` reads: a known branch, a bank known without
    that branch (branch blank), a bank unknown (None, blank)."""
    customer, debit = payer()
    for codes in (("0161", "002"), ("0005", "001"), ("0161", "999"), ("9999", "001")):
        kana = services._transfer_accounts(customer=customer, debit_account_id=debit.pk,
                                           day=local_now().date(), payee_bank=codes).kana
        assert kana == services._payee_kana(*codes)
    assert services._payee_kana("0161", "002")[1]  # a branch the test data knows
    assert services._payee_kana("0161", "999") == (services._payee_kana("0161", "002")[0], "")
    assert services._payee_kana("9999", "001") == (None, "")


def test_the_limit_lock_reads_what_the_orm_would():
    """Issue 14: the customer's limit row locked FOR UPDATE is SQL written out; it reads
    the row and the bank maximum as ``transfer_limits_with_maximum`` does — from the
    settings row when staff set one, else the setting."""
    from transfers.models import TransferLimit, TransferSettings
    from transfers.selectors import transfer_limits_with_maximum

    customer, _debit = payer()
    fields = [field.attname for field in TransferLimit._meta.concrete_fields] + ["bank_maximum"]
    with transaction.atomic():
        services._customer_lock(customer)  # the row made (the ORM's path); read below by the SQL
    for maximum in (None, 2_000_000):
        if maximum is not None:
            TransferSettings.objects.update_or_create(pk=1, defaults={"bank_max_daily_limit": maximum})
        with transaction.atomic():
            locked = services._customer_lock(customer)
            expected = transfer_limits_with_maximum().get(customer=customer)
        assert [getattr(locked, name) for name in fields] == [getattr(expected, name) for name in fields]
        assert isinstance(locked, TransferLimit) and locked.pk is not None


def test_a_payee_deleted_meanwhile_is_not_deleted_or_renamed_twice():
    """XFER-7: two tabs, or a double click on 削除する — both requests read the payee
    before either deletes it. The loser deleted nothing yet wrote a second 「振込先削除
    正常」 to the customer's 取引履歴; a rename that lost to a delete renamed nothing, wrote
    「振込先登録名変更 正常」 and told the customer 「登録名を変更しました」. Now the loser
    writes no audit row, and the rename is refused in Japanese."""
    customer, _debit = payer()
    payee = registered_payee(customer, bank_code="0161", bank_name="池田泉州銀行",
                             branch_code="002", branch_name="貝塚", account_type="1",
                             account_number="0012345", holder_kana="ﾀﾅｶ ﾊﾅｺ")
    stale = Payee.objects.get(pk=payee.pk)  # what the second request read
    services.payee_delete(customer=customer, payee=payee)
    services.payee_delete(customer=customer, payee=stale)
    assert AuditEvent.objects.filter(customer=customer, action="payee_delete").count() == 1
    with pytest.raises(services.TransferRefused, match="削除されています"):
        services.payee_rename(customer=customer, payee=stale, nickname="ハナコさん")
    assert not AuditEvent.objects.filter(customer=customer, action="payee_rename").exists()
