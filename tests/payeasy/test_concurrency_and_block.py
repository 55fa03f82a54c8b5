"""PAY-1 paid once and PAY-3 the daily wrong-entry block, under real concurrency (threads,
real PostgreSQL) and across midnight (time-machine)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Journal
from payeasy import services
from payeasy.models import EntryFailureCounter, Payment
from security.models import AuditEvent
from tests.payeasy import support
from tests.payeasy.support import CITY_BILL, POWER_BILL

WRONG = ("27100", "27100000000001", "999999", "")  # a wrong 確認番号


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_payments_of_one_bill_pay_it_once():
    support.seeded()
    customer, account = support.payer(balance=100_000)
    bill = support.lookup(customer, CITY_BILL)
    outcomes = support.run_concurrently(
        [lambda: support.pay(customer, account, CITY_BILL, bill, acknowledged=True)] * 4)
    paid = [value for kind, value in outcomes if kind == "ok"]
    refused = [value for kind, value in outcomes if kind == "refused"]
    assert len(paid) == 1 and len(refused) == 3
    assert all("既に払込み済み" in exc.message for exc in refused)
    assert Payment.objects.count() == 1
    assert Journal.objects.filter(kind=Journal.Kind.PAYEASY).count() == 1
    account.refresh_from_db()
    assert account.balance == 100_000 - 23_500


@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_entries_never_pass_ten():
    support.seeded()
    customer, _ = support.payer()
    outcomes = support.run_concurrently([lambda: support.lookup(customer, WRONG)] * 16)
    assert all(kind == "refused" for kind, _ in outcomes)
    assert EntryFailureCounter.objects.get(customer=customer).failures == 10
    # the biller was asked at most ten times: one audited wrong entry each
    assert AuditEvent.objects.filter(customer=customer, action="payeasy_lookup", outcome="failure").count() == 10
    assert AuditEvent.objects.filter(customer=customer, action="payeasy_block").count() == 1
    assert sum(1 for _, exc in outcomes if exc.blocked) == 7  # the tenth and the six after it


@pytest.mark.django_db
def test_ten_wrong_entries_block_until_midnight_then_reset():
    support.seeded()
    customer, _ = support.payer()
    start = timezone.make_aware(dt.datetime(2026, 3, 5, 23, 0))
    with time_machine.travel(start, tick=False) as clock:
        for attempt in range(1, 10):
            with pytest.raises(services.PayeasyRefused) as refused:
                support.lookup(customer, WRONG)
            assert not refused.value.blocked, attempt
        with pytest.raises(services.PayeasyRefused) as refused:
            support.lookup(customer, WRONG)
        assert refused.value.blocked
        assert "3月6日 00:00以降" in refused.value.message
        # now even the right numbers are refused, and the biller is not asked
        with pytest.raises(services.PayeasyRefused) as refused:
            support.lookup(customer, CITY_BILL)
        assert refused.value.blocked
        assert services.payeasy_blocked_until(customer=customer) == timezone.make_aware(dt.datetime(2026, 3, 6))
        block = AuditEvent.objects.get(customer=customer, action="payeasy_block")
        assert "誤入力10回" in block.summary

        clock.move_to(timezone.make_aware(dt.datetime(2026, 3, 5, 23, 59, 59)))
        assert services.payeasy_blocked_until(customer=customer) is not None
        clock.move_to(timezone.make_aware(dt.datetime(2026, 3, 6, 0, 0)))
        assert services.payeasy_blocked_until(customer=customer) is None
        assert support.lookup(customer, CITY_BILL).amount == 23_500


@pytest.mark.django_db
def test_the_block_page_says_until_when():
    support.seeded()
    customer, _ = support.payer()
    for _ in range(10):  # the wrong entries themselves (payeasy 0012, CI245: nothing else counts)
        with pytest.raises(services.PayeasyRefused):
            support.lookup(customer, WRONG)
    client = support.logged_in(customer)
    response = client.get("/payeasy/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "ペイジーのご利用を停止しています" in page and "00:00以降" in page
    other, _ = support.payer()
    assert support.logged_in(other).get("/payeasy/").status_code == 200  # per customer


@pytest.mark.django_db
def test_private_biller_wrong_number_counts_too():
    support.seeded()
    customer, _ = support.payer()
    with pytest.raises(services.PayeasyRefused, match="お客様番号に誤り"):
        support.lookup(customer, ("58001", "9999999999", "", ""))
    assert EntryFailureCounter.objects.get(customer=customer).failures == 1
    support.lookup(customer, POWER_BILL)
    assert EntryFailureCounter.objects.get(customer=customer).failures == 1
