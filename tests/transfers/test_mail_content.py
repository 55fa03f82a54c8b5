"""NOTE-1: a mail about a transfer names the payee's account by its last four digits, as it
names the customer's own (「***2345」): a mail travels in clear over the internet and sits
in mailboxes, so no account number is written out in full."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from notifications.models import OutboxMessage
from tests.transfers.scheduled_support import at, past_business_day, schedule
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from transfers import scheduled
from transfers.interbank import services as interbank

pytestmark = pytest.mark.django_db
JST = dt.timezone(dt.timedelta(hours=9))
FRIDAY = dt.datetime(2026, 12, 4, 12, 0, tzinfo=JST)
PAYEE = "0012345"


def _assert_masked(mail: OutboxMessage, debit) -> None:
    assert PAYEE not in mail.body
    assert debit.number not in mail.body
    assert "***2345" in mail.body  # still recognisable: the last four digits


def test_transfer_accepted_and_returned_mails_do_not_carry_the_payees_full_number():
    customer, debit = payer()
    with time_machine.travel(FRIDAY, tick=False):
        transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 5_000))
        _assert_masked(OutboxMessage.objects.get(customer=customer, event="transfer_accepted"), debit)
        interbank.outgoing_file_create(day=FRIDAY.date(), staff="madoguchi")
        interbank.outgoing_return(outgoing=transfer.outgoing, reason="no_account", staff="madoguchi")
    _assert_masked(OutboxMessage.objects.get(customer=customer, event="transfer_returned"), debit)


def test_scheduled_and_cancelled_mails_do_not_carry_the_payees_full_number():
    day = past_business_day()
    customer, debit = payer()
    transfer = schedule(customer, debit, 5_000, day=day)
    _assert_masked(OutboxMessage.objects.get(customer=customer, event="transfer_scheduled"), debit)
    scheduled.scheduled_transfer_staff_cancel(transfer_id=transfer.pk, reason="お客様のお申し出", actor="madoguchi")
    _assert_masked(OutboxMessage.objects.get(customer=customer, event="transfer_cancelled_staff"), debit)


def test_a_cancelled_reservations_mail_says_nothing_is_debited_and_lists_no_debit():
    """NOTE-1, XFER-6 (walk28 F5): the cancel mails, the customer's and the branch's, listed
    「引落金額：5,330円」 as if money had been taken; a 予約 is debited only on its day."""
    day = dt.date(2026, 12, 8)
    customer, debit = payer()
    mine, staffs = schedule(customer, debit, 5_000, day=day), schedule(customer, debit, 7_000, day=day)
    with time_machine.travel(at(day - dt.timedelta(days=1), 23, 59), tick=False):  # the day before
        scheduled.scheduled_transfer_cancel(customer=customer, transfer_id=mine.pk)
    scheduled.scheduled_transfer_staff_cancel(transfer_id=staffs.pk, reason="お客様のお申し出", actor="madoguchi")
    for event, amount in (("transfer_cancelled", "5,000円"), ("transfer_cancelled_staff", "7,000円")):
        body = OutboxMessage.objects.get(customer=customer, event=event).body
        assert scheduled.CANCEL_NOTHING_DEBITED in body and f"振込金額：{amount}" in body, event
        assert "引落金額" not in body and "振込手数料：" not in body, event
    booked = OutboxMessage.objects.filter(customer=customer, event="transfer_scheduled").first().body
    assert "引落金額" in booked  # the booking's mail still says what will be debited on the day


def test_the_batchs_mails_say_when_it_ran_as_the_processing_time_not_a_reception_time():
    """XFER-5: the 実行 / 未処理 mail of a scheduled transfer is written by the night's batch;
    its time is when the batch ran (処理日時), not when anything was received — the
    reservation was received the day before, as the 予約受付 mail said."""
    from tests.transfers.scheduled_support import at, funded_payer

    day = past_business_day()
    rich, rich_debit = funded_payer(100_000, day=day, email="rich@example.jp")
    poor, poor_debit = funded_payer(1_000, day=day, email="poor@example.jp")
    schedule(rich, rich_debit, 5_000, day=day)
    schedule(poor, poor_debit, 5_000, day=day)
    with time_machine.travel(at(day, 0, 10), tick=False):
        scheduled.transfers_execute_due(day=day)
    for customer, event in [(rich, "transfer_executed"), (poor, "transfer_unprocessed")]:
        body = OutboxMessage.objects.get(customer=customer, event=event).body
        assert f"処理日時：{day.year}年{day.month}月{day.day}日 00時10分" in body, body
        assert "受付日時" not in body


def test_one_branch_is_spelled_one_way_in_the_payers_and_the_payees_mail():
    """NOTE-1 (walk27 F11): the payer's mail read 「大阪厚生信金 大淀 普通 ***6789」, the payee's
    ご入金のお知らせ 「大淀支店 普通 ***6789」 and the balances 「大淀支店」. Every text the code
    builds spells a branch as ``branch_label`` does: 大淀支店, 貝塚支店, but 本店営業部."""
    from accounts.models import Account
    from notifications.services import posting_notices_process
    from tests import factories
    from tests.transfers.support import our_payee

    customer, debit = payer()  # 本店営業部 (001)
    receiver = factories.account(owner=factories.customer(name_kana="ｻﾄｳ ﾊﾅｺ", email="payee@example.jp"),
                                 branch_code="002")
    assert receiver.branch.name == "大淀"
    with time_machine.travel(FRIDAY, tick=False):
        execute(customer, content_for(customer, debit, our_payee(receiver), 3_000))
        execute(customer, content_for(customer, debit, other_bank_payee(), 4_000))
        factories.deposit(Account.objects.get(pk=debit.pk), 1_000)
    posting_notices_process()
    mails = [mail.body for mail in OutboxMessage.objects.filter(customer=customer, event="transfer_accepted")
             .order_by("id")]
    assert f"振込先：大阪厚生信金 大淀支店 普通 ***{receiver.number[-4:]}" in mails[0]
    assert "振込先：池田泉州銀行 貝塚支店 普通 ***2345" in mails[1]
    assert all("引落口座：本店営業部 普通" in mail for mail in mails)
    credited = OutboxMessage.objects.get(customer=receiver.customer, event="deposit").body
    assert f"大淀支店 普通 ***{receiver.number[-4:]}" in credited
    for mail in OutboxMessage.objects.filter(customer__in=[customer, receiver.customer]):
        assert "大淀 " not in mail.body and "本店営業部支店" not in mail.body, mail.body

