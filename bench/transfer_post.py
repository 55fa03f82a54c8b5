"""XFER-4, LEDGER-3: ``journal_post`` for a three-leg transfer with a fee (customer −(amount
+ fee), payee + amount, fee income + fee) against the same transfer in hand-written raw
SQL, 2 concurrent clients, measured in one run. Prints both rates and the ratio (goal:
journal_post ≥ 60 % of raw SQL). The fee income account is shared by both clients, as in
production."""

from __future__ import annotations

import psycopg
from ledger_post import CLIENTS, RUN, SECONDS, make_pair, measure  # sets Django up

from accounts.models import Account, Journal  # noqa: E402
from accounts.services import PostingLine, journal_post  # noqa: E402
from django.db import connection, connections  # noqa: E402

AMOUNT, FEE = 100, 3


def service_client(pair, stop, counter, index, fee_account):
    source, target = pair
    n = 0
    while not stop.is_set():
        journal_post(
            lines=[PostingLine(source, -AMOUNT, "振込"), PostingLine(source, -FEE, "振込手数料"),
                   PostingLine(target, AMOUNT, "振込"), PostingLine(fee_account, FEE, "振込手数料")],
            kind=Journal.Kind.TRANSFER, description="振込", idempotency_key=f"bench-xfer-{RUN}-{index}-{n}",
        )
        n += 1
    counter[index] = n
    connections.close_all()


def raw_client(pair, stop, counter, index, fee_account, dsn):
    """By hand: lock the three accounts in id order, check funds, insert the journal and
    its legs with balance_after, commit."""
    source, target = pair
    n = 0
    with psycopg.connect(**dsn) as conn:
        while not stop.is_set():
            with conn.transaction():
                rows = dict(conn.execute(
                    "SELECT id, balance FROM accounts_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                    [[source, target, fee_account]]).fetchall())
                if rows[source] < AMOUNT + FEE:
                    raise RuntimeError("insufficient funds")
                journal_id = conn.execute(
                    "INSERT INTO accounts_journal (kind, description, idempotency_key, request_hash,"
                    " posted_at, created_at) VALUES ('transfer', '振込', %s, '', clock_timestamp(),"
                    " clock_timestamp()) RETURNING id", [f"bench-xfer-raw-{RUN}-{index}-{n}"]).fetchone()[0]
                conn.execute(
                    "INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after, description,"
                    " posted_at) VALUES (%s, %s, %s, %s, '振込', clock_timestamp()),"
                    " (%s, %s, %s, %s, '振込手数料', clock_timestamp()),"
                    " (%s, %s, %s, %s, '振込', clock_timestamp()),"
                    " (%s, %s, %s, %s, '振込手数料', clock_timestamp())",
                    [journal_id, source, -AMOUNT, rows[source] - AMOUNT,
                     journal_id, source, -FEE, rows[source] - AMOUNT - FEE,
                     journal_id, target, AMOUNT, rows[target] + AMOUNT,
                     journal_id, fee_account, FEE, rows[fee_account] + FEE])
            n += 1
    counter[index] = n


def main() -> None:
    params = connection.get_connection_params()
    dsn = {key: value for key, value in params.items() if key in {"host", "port", "dbname", "user", "password"}}
    fee_account = Account.objects.get(purpose=Account.Purpose.FEE_INCOME).pk
    pairs = [make_pair(100 + i) for i in range(CLIENTS * 2)]
    measure(service_client, pairs[:CLIENTS], fee_account)  # warm-up
    service_rate = measure(service_client, pairs[:CLIENTS], fee_account)
    raw_rate = measure(raw_client, pairs[CLIENTS:], fee_account, dsn)
    print(f"transfer_post: three-leg transfer with fee (4 entries), {CLIENTS} clients, {SECONDS:.0f} s each")
    print(f"  journal_post (service)   {service_rate:8.0f} transfers/s")
    print(f"  raw SQL transfer         {raw_rate:8.0f} transfers/s")
    print(f"  ratio service/raw        {service_rate / raw_rate:8.0%}   (goal >= 60%)")


if __name__ == "__main__":
    main()
