"""LEDGER-3 hot path: journal_post against an equivalent hand-written raw-SQL transfer,
measured in the same run with 2 concurrent clients. Prints both rates and the ratio
(goal: journal_post ≥ 60 % of raw SQL)."""

from __future__ import annotations

import threading
import time

from _setup import django_setup

django_setup()

import psycopg  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, connections  # noqa: E402

from accounts.models import Account, Branch, Customer, Journal  # noqa: E402
from accounts.services import PostingLine, journal_post  # noqa: E402

CLIENTS = 2
SECONDS = 5.0
RUN = str(time.time_ns())


def make_pair(index: int) -> tuple[int, int]:
    branch = Branch.objects.get(code="001")
    user = get_user_model().objects.create_user(username=f"bench{RUN}{index}")
    customer = Customer.objects.create(user=user, contract_id=f"{(time.time_ns() + index) % 10**10:010d}",
                                       name_kanji="ベンチ", name_kana="ﾍﾞﾝﾁ")
    accounts = []
    for leg in range(2):
        number = f"{(time.time_ns() // 1000 + index * 2 + leg) % 10**7:07d}"
        accounts.append(Account.objects.create(branch=branch, customer=customer, number=number,
                                               holder_kana="ﾍﾞﾝﾁ"))
    cash = Account.objects.get(purpose="cash")
    for account in accounts:
        journal_post(lines=[PostingLine(cash, -10**12), PostingLine(account, 10**12)],
                     kind=Journal.Kind.DEPOSIT, description="bench", idempotency_key=f"bench-seed-{RUN}-{account.id}")
    return accounts[0].id, accounts[1].id


def service_client(pair, stop, counter, index):
    source, target = pair
    n = 0
    while not stop.is_set():
        journal_post(
            lines=[PostingLine(source, -100, "振込"), PostingLine(target, 100, "振込")],
            kind=Journal.Kind.TRANSFER, description="振込",
            idempotency_key=f"bench-svc-{RUN}-{index}-{n}",
        )
        n += 1
    counter[index] = n
    connections.close_all()


def raw_client(pair, stop, counter, index, dsn):
    """What a careful engineer writes by hand: lock in id order, check funds, insert the
    journal and its entries with balance_after, commit."""
    source, target = pair
    n = 0
    with psycopg.connect(**dsn) as conn:
        while not stop.is_set():
            with conn.transaction():
                rows = dict(conn.execute(
                    "SELECT id, balance FROM accounts_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                    [[source, target]]).fetchall())
                if rows[source] < 100:
                    raise RuntimeError("insufficient funds")
                journal_id, posted_at = conn.execute(
                    "INSERT INTO accounts_journal (kind, description, idempotency_key, request_hash,"
                    " posted_at, created_at) VALUES ('transfer', '振込', %s, '', clock_timestamp(),"
                    " clock_timestamp()) RETURNING id, posted_at",
                    [f"bench-raw-{RUN}-{index}-{n}"]).fetchone()
                # every entry carries its journal's time (LEDGER-7, CI014)
                conn.execute(
                    "INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after,"
                    " description, posted_at) VALUES (%s, %s, -100, %s, '振込', %s),"
                    " (%s, %s, 100, %s, '振込', %s)",
                    [journal_id, source, rows[source] - 100, posted_at,
                     journal_id, target, rows[target] + 100, posted_at])
            n += 1
    counter[index] = n


def measure(target, pairs, *extra) -> float:
    stop = threading.Event()
    counter = [0] * CLIENTS
    threads = [threading.Thread(target=target, args=(pairs[i], stop, counter, i, *extra))
               for i in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counter) / (time.perf_counter() - started)


def main() -> None:
    # The hand-written transfer inserts into the ledger tables, which only the owner may
    # do (LEDGER-7); the ledger's triggers still check every row it writes.
    params = connections["owner"].get_connection_params()
    dsn = {key: value for key, value in params.items() if key in {"host", "port", "dbname", "user", "password"}}
    pairs = [make_pair(i) for i in range(CLIENTS * 2)]
    measure(service_client, pairs[:CLIENTS])  # warm-up
    service_rate = measure(service_client, pairs[:CLIENTS])
    raw_rate = measure(raw_client, pairs[CLIENTS:], dsn)
    print(f"ledger_post: {CLIENTS} clients, {SECONDS:.0f} s each")
    print(f"  journal_post (service)   {service_rate:8.0f} postings/s")
    print(f"  raw SQL transfer         {raw_rate:8.0f} postings/s")
    print(f"  ratio service/raw        {service_rate / raw_rate:8.0%}   (goal >= 60%)")


if __name__ == "__main__":
    main()
