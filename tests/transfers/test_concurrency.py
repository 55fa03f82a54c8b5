"""XFER-8, LEDGER-3, SEC-14 under real concurrency (threads, real PostgreSQL): two transfers
racing for the last yen of the limit or of the balance, and one confirmation submitted
twice at the same moment."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from accounts import errors
from accounts.models import Journal
from security import cards
from tests.security.secondfactor import card_post, right_answers
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from transfers import services
from transfers.models import Transfer

pytestmark = pytest.mark.django_db(transaction=True)


def run_concurrently(jobs):
    barrier = threading.Barrier(len(jobs))

    def call(job):
        try:
            barrier.wait()
            return ("ok", job())
        except (errors.LedgerError, services.TransferRefused) as refused:
            return ("refused", refused)
        except Exception as exc:  # noqa: BLE001 - a deadlock or a bug fails the test
            return ("error", exc)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        outcomes = list(pool.map(call, jobs))
    assert not [outcome for outcome in outcomes if outcome[0] == "error"], outcomes
    return outcomes


def test_two_transfers_race_for_the_last_yen_of_the_limit():
    customer, debit = payer(balance=5_000_000)
    services.transfer_limit_change(customer=customer, new_limit=100_000)
    execute(customer, content_for(customer, debit, other_bank_payee(), 40_000))
    contents = [content_for(customer, debit, other_bank_payee(), 60_000) for _ in range(2)]  # each fits alone
    outcomes = run_concurrently([lambda content=content: execute(customer, content) for content in contents])
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    refused = next(value for kind, value in outcomes if kind == "refused")
    assert refused.message == services.OVER_LIMIT.format(limit=100_000, rest=0)
    assert services.transfer_day_total(customer=customer, day=Transfer.objects.first().transfer_date) == 100_000


def test_two_transfers_race_for_the_last_yen_of_the_balance():
    customer, debit = payer(balance=20_660)
    contents = [content_for(customer, debit, other_bank_payee(), 10_000) for _ in range(3)]  # 10,330 each
    outcomes = run_concurrently([lambda content=content: execute(customer, content) for content in contents])
    assert sorted(kind for kind, _ in outcomes) == ["ok", "ok", "refused"]
    assert isinstance(next(value for kind, value in outcomes if kind == "refused"), errors.InsufficientFunds)
    debit.refresh_from_db()
    assert debit.balance == 0
    assert Transfer.objects.count() == 2


def test_one_confirmation_submitted_twice_at_once_posts_once_and_both_see_the_result():
    customer, debit = payer()
    client = Client()
    client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    client.post(reverse("transfers:start"), {"debit_account": debit.pk, "mode": "new"})
    client.post(reverse("transfers:account", args=["0161", "002"]), {"account_type": "1", "account_number": "12345"})
    client.post(reverse("transfers:details"), {"amount": "10000", "sender_name": "ﾔﾏﾀﾞ ﾀﾛｳ"})
    page = client.get(reverse("transfers:confirm")).content.decode()
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
    challenge = cards.image_card_challenge_current(customer=customer)
    data = {"confirmation": confirmation, **card_post(challenge, right_answers(challenge))}
    clients = []
    for _ in range(2):  # two requests of the same browser session (a double click)
        twin = Client()
        twin.cookies = client.cookies
        clients.append(twin)
    outcomes = run_concurrently([lambda twin=twin: twin.post(reverse("transfers:confirm"), data)
                                 for twin in clients])
    transfer = Transfer.objects.get()
    assert [response.status_code for _, response in outcomes] == [302, 302]
    assert {response.url for _, response in outcomes} == {reverse("transfers:done", args=[transfer.pk])}
    assert Journal.objects.filter(idempotency_key=f"transfer:{confirmation}").count() == 1
    debit.refresh_from_db()
    assert debit.balance == 1_000_000 - 10_330
