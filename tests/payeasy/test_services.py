"""PAY-1/2/3 services: each kind of biller, amounts, paid once, refusals, duplicate warning,
gateway failure — asserting balances, entries, payments, audit rows and mail."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from accounts.models import Account, Entry, Journal
from accounts.selectors import internal_balance
from notifications.models import OutboxMessage
from notifications.services import SUBJECTS
from payeasy import services
from payeasy.gateway import GatewayUnavailable, SimulatorGateway
from payeasy.models import Bill, Biller, Payment
from security.models import AuditEvent
from tests import factories
from tests.factories import ledger_account_id
from tests.payeasy import support
from tests.payeasy.support import (
    CITY_BILL,
    CITY_PAID_ELSEWHERE,
    MOBILE_BILL,
    POWER_BILL,
    POWER_EXPIRED,
    TAX_BILL,
    TAX_EXPIRED,
    TAX_OPEN,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_bills():
    support.seeded()


def collection() -> Account:
    return factories.internal(Account.Purpose.PAYEASY_COLLECTION)


@pytest.mark.parametrize("key, amount, kind", [
    (TAX_BILL, 48_000, Biller.Kind.NATIONAL),
    (CITY_BILL, 23_500, Biller.Kind.LOCAL),
    (POWER_BILL, 8_432, Biller.Kind.PRIVATE),
    (MOBILE_BILL, 6_980, Biller.Kind.PRIVATE),
])
def test_each_kind_of_biller_is_paid_through_one_journal(key, amount, kind):
    customer, account = support.payer(balance=100_000)
    collected_before = internal_balance(collection())
    bill = support.lookup(customer, key)
    assert support.biller(key[0]).kind == kind
    assert bill.amount == amount and not bill.paid

    payment = support.pay(customer, account, key, bill)

    account.refresh_from_db()
    assert account.balance == 100_000 - amount
    assert internal_balance(collection()) == collected_before + amount
    journal = Journal.objects.get(pk=payment.journal_id)
    assert journal.kind == Journal.Kind.PAYEASY
    legs = list(Entry.objects.filter(journal=journal).order_by("amount"))
    # the collection's leg lands on one of its stripes (issue 14)
    assert [(ledger_account_id(leg), leg.amount) for leg in legs] == [(account.pk, -amount), (collection().pk, amount)]
    biller = support.biller(key[0])
    assert legs[0].description == f"ペイジー {biller.name}"  # the statement says ペイジー and the biller
    assert Bill.objects.get(pk=int(bill.bill_id)).status == Bill.Status.PAID  # reported to the biller
    audit = AuditEvent.objects.get(customer=customer, action="payeasy")
    assert audit.outcome == "success" and f"受付番号 {payment.reference}" in audit.summary  # 取引履歴 (walk22)
    mail = OutboxMessage.objects.get(customer=customer, event="payeasy_accepted")
    assert SUBJECTS["payeasy_accepted"] in mail.subject and payment.reference in mail.body and f"{amount:,}円" in mail.body


def test_public_biller_needs_the_right_confirmation_and_category():
    customer, _ = support.payer()
    biller_number, number, confirmation, category = TAX_BILL
    for wrong in [(biller_number, number, "999999", category), (biller_number, number, confirmation, "102")]:
        with pytest.raises(services.PayeasyRefused) as refused:
            support.lookup(customer, wrong)
        # one message for both: it never says which number was wrong
        assert refused.value.message.startswith("入力された納付番号または確認番号に誤りがあります")


def test_open_amount_within_bounds_only():
    customer, account = support.payer(balance=2_000_000)
    bill = support.lookup(customer, TAX_OPEN)
    assert bill.is_open_amount and (bill.min_amount, bill.max_amount) == (1, 1_000_000)
    for amount in (0, 1_000_001):
        with pytest.raises(services.PayeasyRefused, match="1円以上1,000,000円以下"):
            support.pay(customer, account, TAX_OPEN, bill, amount=amount)
    assert not Payment.objects.exists()
    payment = support.pay(customer, account, TAX_OPEN, bill, amount=123_456)
    assert payment.amount == 123_456
    account.refresh_from_db()
    assert account.balance == 2_000_000 - 123_456


def test_fixed_amount_cannot_be_changed():
    customer, account = support.payer()
    bill = support.lookup(customer, CITY_BILL)
    with pytest.raises(services.PayeasyRefused) as refused:
        support.pay(customer, account, CITY_BILL, bill, amount=bill.amount - 1)
    assert refused.value.message == services.AMOUNT_MISMATCH
    assert not Payment.objects.exists()


def test_insufficient_funds_shows_the_balance_and_writes_nothing():
    customer, account = support.payer(balance=30_000)
    bill = support.lookup(customer, TAX_BILL)
    with pytest.raises(services.PayeasyRefused) as refused:
        support.pay(customer, account, TAX_BILL, bill)
    assert refused.value.message == services.INSUFFICIENT.format(available=30_000)
    assert "30,000円" in refused.value.message
    # named for 取引履歴 by the service (walk33 F4): the step-up flow writes it as 拒否
    assert refused.value.audit_summary == (f"{TAX_BILL[0]} {support.biller(TAX_BILL[0]).name} {bill.amount:,}円 "
                                           f"{refused.value.message}")
    assert not Payment.objects.exists()
    assert not Journal.objects.filter(kind=Journal.Kind.PAYEASY).exists()
    assert Bill.objects.get(pk=int(bill.bill_id)).status == Bill.Status.OPEN
    account.refresh_from_db()
    assert account.balance == 30_000


def test_expired_and_already_paid_bills_are_refused_and_audited():
    customer, _ = support.payer()
    for key, message in [(TAX_EXPIRED, "払込期限"), (POWER_EXPIRED, "払込期限"),
                         (CITY_PAID_ELSEWHERE, "既に払込み済み")]:
        with pytest.raises(services.PayeasyRefused, match=message):
            support.lookup(customer, key)
    assert AuditEvent.objects.filter(customer=customer, action="payeasy_lookup", outcome="refused").count() == 3
    # refusals of this kind are not wrong entries
    assert services.payeasy_blocked_until(customer=customer) is None


def test_bill_paid_elsewhere_after_the_lookup_is_refused_at_payment():
    customer, account = support.payer()
    bill = support.lookup(customer, CITY_BILL)
    Bill.objects.filter(pk=int(bill.bill_id)).update(status=Bill.Status.PAID_ELSEWHERE)
    with pytest.raises(services.PayeasyRefused, match="既に払込み済み"):
        support.pay(customer, account, CITY_BILL, bill)
    assert not Payment.objects.exists()


def test_a_bill_is_paid_once_also_when_submitted_again():
    customer, account = support.payer()
    bill = support.lookup(customer, CITY_BILL)
    support.pay(customer, account, CITY_BILL, bill)
    with pytest.raises(services.PayeasyRefused, match="既に払込み済み"):
        support.pay(customer, account, CITY_BILL, bill)
    assert Payment.objects.count() == 1
    account.refresh_from_db()
    assert account.balance == 200_000 - 23_500


def test_the_database_refuses_a_second_payment_of_a_bill(monkeypatch):
    """Even when the biller still says unpaid (a gateway that lags), the unique
    constraint refuses the second payment and nothing more is posted."""
    customer, account = support.payer()
    bill = support.lookup(customer, CITY_BILL)
    monkeypatch.setattr(SimulatorGateway, "payment_report", lambda self, **kwargs: None)
    support.pay(customer, account, CITY_BILL, bill)
    monkeypatch.setattr(services, "_paid_here", lambda biller, bill_id: False)  # no Python check
    with pytest.raises(services.PayeasyRefused, match="既に払込み済み"):
        support.pay(customer, account, CITY_BILL, bill, acknowledged=True)
    assert Journal.objects.filter(kind=Journal.Kind.PAYEASY).count() == 1


def test_duplicate_warning_within_three_months():
    customer, account = support.payer()
    november = support.lookup(customer, POWER_BILL)
    first = support.pay(customer, account, POWER_BILL, november)
    december = support.lookup(customer, POWER_BILL)  # the same お客様番号, the next bill
    assert december.bill_id != november.bill_id and december.amount == 9_120
    earlier = services.duplicate_earlier(customer=customer, biller=support.biller("58001"), number="0012345678")
    assert earlier == first
    with pytest.raises(services.PayeasyRefused, match="8,432円ありました"):
        support.pay(customer, account, POWER_BILL, december)
    assert Payment.objects.count() == 1
    support.pay(customer, account, POWER_BILL, december, acknowledged=True)
    assert Payment.objects.count() == 2


def test_duplicate_warning_ends_after_three_months(time_machine):
    import datetime as dt

    customer, account = support.payer()
    first = support.pay(customer, account, POWER_BILL, support.lookup(customer, POWER_BILL))
    time_machine.move_to(first.paid_at + dt.timedelta(days=93))
    assert services.duplicate_earlier(customer=customer, biller=first.biller, number=first.number) is None


def test_a_biller_that_does_not_answer_gives_a_message_and_posts_nothing(monkeypatch):
    customer, account = support.payer()
    support.biller_changed_by_staff("27100", simulation=Biller.Simulation.DOWN)
    with pytest.raises(services.PayeasyRefused) as refused:
        support.lookup(customer, CITY_BILL)
    assert refused.value.message == services.GATEWAY_DOWN
    assert services.payeasy_blocked_until(customer=customer) is None  # not a wrong entry

    support.biller_changed_by_staff("27100", simulation=Biller.Simulation.NORMAL)
    bill = support.lookup(customer, CITY_BILL)

    def timeout(self, **kwargs):
        raise GatewayUnavailable("read timed out")

    monkeypatch.setattr(SimulatorGateway, "payment_report", timeout)
    with pytest.raises(services.PayeasyRefused) as refused:
        support.pay(customer, account, CITY_BILL, bill)
    assert refused.value.message == services.GATEWAY_DOWN
    assert not Payment.objects.exists()
    assert not Journal.objects.filter(kind=Journal.Kind.PAYEASY).exists()
    assert not OutboxMessage.objects.filter(event="payeasy_accepted").exists()
    account.refresh_from_db()
    assert account.balance == 200_000


def test_another_customers_account_cannot_pay():
    customer, _ = support.payer()
    _, stranger_account = support.payer()
    bill = support.lookup(customer, CITY_BILL)
    with pytest.raises(services.PayeasyRefused, match="お支払口座"):
        support.pay(customer, stranger_account, CITY_BILL, bill)


def test_a_taken_reference_is_drawn_again_not_a_500(monkeypatch):
    """PAY-1: the 受付番号 is date + 8 random digits, unique in the table; of 10,000
    payments in a day two share a number with odds near 40 %. A taken number is drawn
    again (the unique index decides) instead of failing the customer's payment."""
    customer, account = support.payer(balance=200_000)
    first = support.pay(customer, account, CITY_BILL, support.lookup(customer, CITY_BILL))
    draws = iter([first.reference, first.reference, "26120600000042"])
    monkeypatch.setattr(services, "_new_reference", lambda: next(draws))

    second = support.pay(customer, account, TAX_BILL, support.lookup(customer, TAX_BILL))

    assert second.reference == "26120600000042"
    assert Payment.objects.filter(reference=first.reference).get() == first
    account.refresh_from_db()
    assert account.balance == 200_000 - 23_500 - 48_000
    assert AuditEvent.objects.filter(action="payeasy", outcome="success", summary__contains="26120600000042").exists()


def test_a_reference_taken_every_draw_fails_whole(monkeypatch):
    """The draws are bounded: a generator that never finds a free number is a bug and fails
    loudly, with nothing paid or posted."""
    customer, account = support.payer(balance=200_000)
    first = support.pay(customer, account, CITY_BILL, support.lookup(customer, CITY_BILL))
    monkeypatch.setattr(services, "_new_reference", lambda: first.reference)

    with pytest.raises(IntegrityError):
        support.pay(customer, account, TAX_BILL, support.lookup(customer, TAX_BILL))

    assert Payment.objects.count() == 1
    account.refresh_from_db()
    assert account.balance == 200_000 - 23_500
