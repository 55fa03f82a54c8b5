"""ACCT-1/ACCT-2: the cost of 残高照会 and of a statement's first page must not grow with
an account's history. Times both pages (full request through the middleware, and the
selector alone) for an account with 1,000 entries and one with 1,000,000, and prints the
ratio big/small (goal ≤ 1.2). Prints figures only; nothing is asserted.

History is written set-based (one INSERT … SELECT generate_series per table) in ONE
transaction with ``SET LOCAL session_replication_role = replica``, which switches the
ledger triggers off for that transaction only — allowed here because this script refuses
to run on any database whose name does not end in ``_bench``. The rows it writes obey every
ledger rule the triggers would have checked, and the script proves it afterwards with the
triggers back on: each journal has two legs summing to zero (the customer account against
a bench-only internal counter-account), ``balance_after`` chains, times never go back, and
the cached ``balance``/``last_entry_at`` (set in the same transaction, since the trigger that
normally maintains them was off) equal the last entry. Built once, reused by later runs
and by ``statement_csv.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from urllib.parse import urlsplit, urlunsplit


def _bench_database_only() -> None:
    """dev.py hands a DATABASE_URL through when one is set: never write the 1,000,000-row
    history (or switch triggers off) anywhere but a database named *_bench."""
    url = os.environ.get("DATABASE_URL")
    if url and not urlsplit(url).path.rstrip("/").endswith("_bench"):
        parts = urlsplit(url)
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/cosei_ib_bench"))
        import psycopg

        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'cosei_ib_bench'").fetchone():
                conn.execute('CREATE DATABASE "cosei_ib_bench"')


_bench_database_only()

from _setup import counter_account_open, django_setup  # noqa: E402

django_setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from accounts import selectors  # noqa: E402
from accounts.models import Account, Branch, Customer  # noqa: E402
from security import session as customer_session  # noqa: E402

SIZES = (1_000, 1_000_000)
SPAN_DAYS = 360  # the whole history lies inside the 13-month statement retention
ROUNDS = 200


def _require_bench_database() -> None:
    name = connection.settings_dict["NAME"]
    if not name.endswith("_bench"):
        sys.exit(f"refusing to build bench history in database {name!r} (not *_bench)")


def history_account(size: int) -> Account:
    """The bench customer's account with exactly ``size`` entries, built if missing."""
    _require_bench_database()
    contract_id = f"8{size:09d}"
    customer = Customer.objects.filter(contract_id=contract_id).first()
    if customer is not None:
        account = customer.accounts.get()
        if account.entries.count() == size:
            return account
        sys.exit(f"bench account of {contract_id} is incomplete: drop database cosei_ib_bench and rerun")
    started = time.perf_counter()
    branch = Branch.objects.get(code="001")
    user = get_user_model().objects.create_user(username=contract_id)
    customer = Customer.objects.create(user=user, contract_id=contract_id, name_kanji="ベンチ",
                                       name_kana="ﾍﾞﾝﾁ", password_is_initial=False)
    number = f"{size % 10_000_000:07d}" if size < 10_000_000 else "0000000"
    account = Account.objects.create(branch=branch, customer=customer, number=number, holder_kana="ﾍﾞﾝﾁ")
    counter = counter_account_open(number=f"89{size % 100_000:05d}", name=f"ベンチ相手勘定 {size}")
    # Switching the triggers off takes the superuser (BENCH_ADMIN_URL, given by dev.py for
    # the bench database only): neither the app's role nor the owner can (LEDGER-7).
    import psycopg

    with psycopg.connect(os.environ["BENCH_ADMIN_URL"]) as admin, admin.transaction(), \
            admin.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        # Two deposits of 1,000 then a withdrawal of 1,500: the balance only ever rises
        # by 500 a cycle, never below 0; one posting every SPAN_DAYS/size, ending now.
        cursor.execute(
            """
            CREATE TEMP TABLE bench_history ON COMMIT DROP AS
            SELECT i,
                   nextval(pg_get_serial_sequence('accounts_journal', 'id')) AS journal_id,
                   amount,
                   sum(amount) OVER (ORDER BY i) AS balance_after,
                   now() - make_interval(secs => %(span)s * (%(n)s - i)::float8 / %(n)s) AS posted_at,
                   (ARRAY['振込 ヤマダ タロウ', 'カード', '公共料金 デンキ', 'ATM', '給与 コウセイシヨウジ'])[1 + i %% 5]
                       AS description
              FROM generate_series(1, %(n)s) AS i,
                   LATERAL (SELECT CASE WHEN i %% 3 = 0 THEN -1500 ELSE 1000 END::bigint AS amount) AS a
            """,
            {"n": size, "span": SPAN_DAYS * 86400},
        )
        cursor.execute(
            """
            INSERT INTO accounts_journal (id, kind, description, idempotency_key, request_hash,
                                          posted_at, created_at)
            SELECT journal_id, CASE WHEN amount > 0 THEN 'deposit' ELSE 'withdrawal' END, description,
                   'bench-history-' || %(account)s || '-' || i, '', posted_at, now()
              FROM bench_history ORDER BY i
            """,
            {"account": account.pk},
        )
        cursor.execute(
            """
            INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after, description, posted_at)
            SELECT journal_id, leg.account_id, leg.amount, leg.balance_after, description, posted_at
              FROM bench_history,
                   LATERAL (VALUES (1, %(account)s, amount, balance_after),
                                   (2, %(counter)s, -amount, -balance_after))
                       AS leg(ord, account_id, amount, balance_after)
             ORDER BY i, leg.ord
            """,
            {"account": account.pk, "counter": counter.pk},
        )
        # The entry trigger was off: set the cached balance the way it would have.
        cursor.execute(
            """
            UPDATE accounts_account a
               SET balance = last.balance_after, last_entry_at = last.posted_at
              FROM (SELECT DISTINCT ON (account_id) account_id, balance_after, posted_at
                      FROM accounts_entry WHERE account_id IN (%(account)s, %(counter)s)
                     ORDER BY account_id, posted_at DESC, id DESC) AS last
             WHERE a.id = last.account_id
            """,
            {"account": account.pk, "counter": counter.pk},
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_entry")
        cursor.execute("ANALYZE accounts_journal")
    _verify(account, counter)
    print(f"  built {size:,} entries (+ counter legs) in {time.perf_counter() - started:.1f} s")
    return account


def _verify(account: Account, counter: Account) -> None:
    """The ledger invariants the switched-off triggers would have enforced."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM (SELECT journal_id FROM accounts_entry
                                      WHERE account_id IN (%(a)s, %(c)s)
                                      GROUP BY journal_id HAVING sum(amount) <> 0 OR count(*) <> 2) j),
              (SELECT count(*) FROM (SELECT account_id, balance_after, posted_at,
                                            lag(balance_after) OVER w AS previous, amount,
                                            lag(posted_at) OVER w AS previous_at
                                       FROM accounts_entry WHERE account_id IN (%(a)s, %(c)s)
                                     WINDOW w AS (PARTITION BY account_id ORDER BY posted_at, id)) e
                 WHERE balance_after <> coalesce(previous, 0) + amount OR posted_at < previous_at),
              (SELECT count(*) FROM accounts_account a
                WHERE a.id IN (%(a)s, %(c)s)
                  AND a.balance <> (SELECT sum(amount) FROM accounts_entry WHERE account_id = a.id))
            """,
            {"a": account.pk, "c": counter.pk},
        )
        unbalanced, broken_chain, wrong_cache = cursor.fetchone()
    if unbalanced or broken_chain or wrong_cache:
        sys.exit(f"bench history violates the ledger: {unbalanced} unbalanced journals, "
                 f"{broken_chain} broken balance_after links, {wrong_cache} wrong cached balances")


def logged_in_client(customer: Customer) -> Client:
    client = Client()
    client.force_login(customer.user)
    session = client.session
    now = int(time.time())
    session[customer_session.STAGE] = customer_session.STAGE_COMPLETE
    session[customer_session.AUTH_AT] = now
    session[customer_session.SEEN_AT] = now
    session.save()
    return client


def workloads(account: Account) -> dict:
    """The four things timed for one account: both pages through the full request cycle
    (middleware, session, template) and the two selectors alone."""
    client = logged_in_client(account.customer)
    today = selectors.local_now().date()
    start = today - dt.timedelta(days=30)
    statement_url = (f"/accounts/statements/?account={account.pk}&mode=period"
                     f"&date_from={start:%Y-%m-%d}&date_to={today:%Y-%m-%d}")
    query = selectors.StatementQuery(account=account, mode="period", start=start, end=today)

    def balances_page():
        assert client.get("/accounts/balances/").status_code == 200

    def statement_page():
        response = client.get(statement_url)
        assert response.status_code == 200 and response.content.count(b"<tr>") == 21

    return {
        "balances page": balances_page,
        "statement page 1": statement_page,
        "balance query": lambda: selectors.balance_summary_for_customer(customer=account.customer),
        "statement query": lambda: selectors.statement_page(query=query, today=today),
    }


def measure(small: Account, big: Account) -> dict[str, tuple[float, float]]:
    """Median milliseconds per workload for (small, big), the two interleaved call by call
    so that load from anything else on the machine hits both alike."""
    results = {}
    for (name, run_small), run_big in zip(workloads(small).items(), workloads(big).values()):
        samples: tuple[list, list] = ([], [])
        for index in range(ROUNDS + 10):
            for run, bucket in ((run_small, samples[0]), (run_big, samples[1])):
                started = time.perf_counter()
                run()
                if index >= 10:  # the first ten are warm-up
                    bucket.append((time.perf_counter() - started) * 1000)
        results[name] = (statistics.median(samples[0]), statistics.median(samples[1]))
    return results


def main() -> None:
    print(f"balances: median of {ROUNDS} interleaved calls, account with {SIZES[0]:,} vs {SIZES[1]:,} entries")
    small, big = (history_account(size) for size in SIZES)
    print(f"  {'':18} {SIZES[0]:>10,} {SIZES[1]:>12,}   ratio (goal <= 1.2)")
    for name, (a, b) in measure(small, big).items():
        print(f"  {name:18} {a:8.2f}ms {b:10.2f}ms   {b / a:5.2f}")


if __name__ == "__main__":
    main()
