"""NOTE-1 / NOTE-3 under concurrency: postings committed from several threads each leave
their notice, and workers running at the same time turn each into exactly one message."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from notifications.models import OutboxMessage, PostingNotice
from notifications.services import posting_notices_process
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(function):
    def run(*args):
        try:
            return function(*args)
        finally:
            connection.close()
    return run


def test_parallel_postings_and_parallel_workers_give_one_message_per_entry():
    accounts = [factories.account(owner=factories.customer(email=f"c{i}@example.jp")) for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(_in_thread(lambda account: [factories.deposit(account, 100) for _ in range(5)]),
                      accounts))
    assert PostingNotice.objects.count() == 20

    def drain(_):
        done = 0
        while True:
            processed = posting_notices_process(limit=3)
            if not processed:
                return done
            done += processed

    with ThreadPoolExecutor(max_workers=3) as pool:
        totals = list(pool.map(_in_thread(drain), range(3)))
    assert sum(totals) == 20
    assert OutboxMessage.objects.filter(event="deposit").count() == 20
    assert not PostingNotice.objects.filter(processed_at__isnull=True).exists()
    assert PostingNotice.objects.filter(message__isnull=True).count() == 0
