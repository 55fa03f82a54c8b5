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
from django.db import connections  # noqa: E402

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


def raw_client(pair, stop, counter, index, fee_stripes, dsn):
    """By hand: lock the three accounts in id order, check funds, insert the journal and
    its legs with balance_after, commit. Each client credits its own fee stripe."""
    source, target = pair
    fee_account = fee_stripes[index % len(fee_stripes)]
    n = 0
    with psycopg.connect(**dsn) as conn:
        while not stop.is_set():
            with conn.transaction():
                rows = dict(conn.execute(
                    "SELECT id, balance FROM accounts_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                    [[source, target, fee_account]]).fetchall())
                if rows[source] < AMOUNT + FEE:
                    raise RuntimeError("insufficient funds")
                # an entry carries its journal's time exactly (LEDGER-7, CI014)
                journal_id, posted_at = conn.execute(
                    "INSERT INTO accounts_journal (kind, description, idempotency_key, request_hash,"
                    " posted_at, created_at) VALUES ('transfer', '振込', %s, '', clock_timestamp(),"
                    " clock_timestamp()) RETURNING id, posted_at", [f"bench-xfer-raw-{RUN}-{index}-{n}"]).fetchone()
                conn.execute(
                    "INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after, description,"
                    " posted_at) VALUES (%s, %s, %s, %s, '振込', %s),"
                    " (%s, %s, %s, %s, '振込手数料', %s),"
                    " (%s, %s, %s, %s, '振込', %s),"
                    " (%s, %s, %s, %s, '振込手数料', %s)",
                    [journal_id, source, -AMOUNT, rows[source] - AMOUNT, posted_at,
                     journal_id, source, -FEE, rows[source] - AMOUNT - FEE, posted_at,
                     journal_id, target, AMOUNT, rows[target] + AMOUNT, posted_at,
                     journal_id, fee_account, FEE, rows[fee_account] + FEE, posted_at])
            n += 1
    counter[index] = n


def main() -> None:
    # The hand-written transfer inserts into the ledger tables, which only the owner may
    # (LEDGER-7); it credits the fee to one of the fee income's stripes, as ledger_post()
    # does (issue 14), so neither side queues on one fee row.
    params = connections["owner"].get_connection_params()
    dsn = {key: value for key, value in params.items() if key in {"host", "port", "dbname", "user", "password"}}
    fee_account = Account.objects.get(purpose=Account.Purpose.FEE_INCOME).pk
    fee_stripes = list(Account.objects.filter(stripe_of_id=fee_account).order_by("id").values_list("id", flat=True))
    pairs = [make_pair(100 + i) for i in range(CLIENTS * 2)]
    measure(service_client, pairs[:CLIENTS], fee_account)  # warm-up
    service_rate = measure(service_client, pairs[:CLIENTS], fee_account)
    raw_rate = measure(raw_client, pairs[CLIENTS:], fee_stripes, dsn)
    print(f"transfer_post: three-leg transfer with fee (4 entries), {CLIENTS} clients, {SECONDS:.0f} s each")
    print(f"  journal_post (service)   {service_rate:8.0f} transfers/s")
    print(f"  raw SQL transfer         {raw_rate:8.0f} transfers/s")
    print(f"  ratio service/raw        {service_rate / raw_rate:8.0%}   (goal >= 60%)")


if __name__ == "__main__":
    main()
