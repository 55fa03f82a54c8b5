"""LEDGER-7: the attacks of the outside review, repeated as the app's own database role
(the role the web and the worker connect as; the tests connect as it too). Each must be
refused, and the ledger must be unchanged afterwards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from accounts import errors
from accounts.ledger_check import ledger_check
from accounts.models import Account, Entry, Journal
from accounts.services import PostingLine, journal_post
from tests import factories

pytestmark = pytest.mark.django_db

INSUFFICIENT_PRIVILEGE = "42501"


def refused(sql: str, params=None) -> str | None:
    """Run ``sql`` as the app's role in a savepoint; return the SQLSTATE it failed with."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return getattr(caught.value.__cause__, "sqlstate", None)


@pytest.fixture
def funded():
    account = factories.account(balance=10_000)
    before = list(Entry.objects.order_by("id").values_list("id", "amount", "balance_after"))
    yield account
    account.refresh_from_db()
    assert account.balance == 10_000, "an attack moved money"
    assert list(Entry.objects.order_by("id").values_list("id", "amount", "balance_after")) == before
    assert all(result.ok for result in ledger_check())


def test_the_app_role_is_not_privileged():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,"
            " has_database_privilege(current_database(), 'TEMP'),"
            " has_database_privilege(current_database(), 'CREATE'),"
            " has_schema_privilege('public', 'CREATE'),"
            " (SELECT count(*) FROM pg_class c WHERE c.relname IN ('accounts_entry', 'accounts_journal',"
            "  'accounts_account') AND pg_get_userbyid(c.relowner) = current_user)"
            " FROM pg_roles r WHERE r.rolname = current_user"
        )
        assert cursor.fetchone() == (False, False, False, False, False, False, False, 0)


def test_session_replication_role_cannot_be_switched(funded):
    assert refused("SET session_replication_role = replica") == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize("statement", [
    "ALTER TABLE accounts_entry DISABLE TRIGGER USER",
    "ALTER TABLE accounts_account DISABLE TRIGGER ledger_account_guard",
    "ALTER TABLE accounts_account DROP CONSTRAINT account_customer_balance_not_negative",
    "DROP FUNCTION ledger_post(text, text, text, bigint[], bigint[], text[], timestamptz)",
])
def test_triggers_and_constraints_cannot_be_switched_off(funded, statement):
    assert refused(statement) == INSUFFICIENT_PRIVILEGE


def test_the_balance_cannot_be_written(funded):
    for column, value in (("balance", "1000000"), ("last_entry_at", "now()"),
                          ("status_changed_at", "now()")):
        assert refused(f"UPDATE accounts_account SET {column} = {value} WHERE id = %s",
                       [funded.id]) == INSUFFICIENT_PRIVILEGE
    # forging the entry trigger's handshake changes nothing: the column is not the app's
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('cosei.ledger_applying', %s, true)", [f"{funded.id}:1:x"])
        cursor.execute("UPDATE accounts_account SET balance = balance + 1 WHERE id = %s", [funded.id])


def test_the_temp_table_trigger_is_refused(funded):
    """The review's way around the old pg_trigger_depth() exemption: a trigger function in
    pg_temp on a temp table. The app's role has no TEMP, and no CREATE anywhere."""
    assert refused("CREATE TEMP TABLE attack (x int)") == INSUFFICIENT_PRIVILEGE
    assert refused(
        "CREATE FUNCTION pg_temp.attack() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " UPDATE accounts_account SET balance = balance + 1000000; RETURN NEW; END $$"
    ) == INSUFFICIENT_PRIVILEGE
    assert refused(
        "CREATE FUNCTION public.attack() RETURNS int LANGUAGE sql AS 'SELECT 1'"
    ) == INSUFFICIENT_PRIVILEGE
    assert refused("CREATE TABLE public.attack (x int)") == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize("statement", [
    "INSERT INTO accounts_journal (kind, description, idempotency_key, request_hash, posted_at,"
    " created_at) VALUES ('adjustment', 'x', 'attack', '', now(), now())",
    "INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after, description,"
    " posted_at) SELECT id, {account}, 1, 10001, 'x', posted_at FROM accounts_journal LIMIT 1",
    "UPDATE accounts_entry SET amount = amount WHERE account_id = {account}",
    "DELETE FROM accounts_entry WHERE account_id = {account}",
    "DELETE FROM accounts_journal",
    "TRUNCATE accounts_entry, accounts_journal CASCADE",
    "DELETE FROM accounts_account WHERE id = {account}",
])
def test_journals_and_entries_cannot_be_written_directly(funded, statement):
    assert refused(statement.format(account=funded.id)) == INSUFFICIENT_PRIVILEGE


def test_ledger_helpers_cannot_be_called(funded):
    assert refused("SELECT ledger_journal_for_key('x', 'y')") == INSUFFICIENT_PRIVILEGE
    assert refused("SELECT ledger_assert_journal_balanced(1)") == INSUFFICIENT_PRIVILEGE


def post(account, amount: int, *, key: str, description: str = "振込", line_description: str = "",
         posted_at=None, other=None):
    other = other or factories.internal(Account.Purpose.CASH)
    return journal_post(
        lines=[PostingLine(account, -amount, line_description), PostingLine(other, amount)],
        kind=Journal.Kind.WITHDRAWAL, description=description, idempotency_key=key,
        posted_at=posted_at,
    )


def test_future_dated_postings_are_refused_through_ledger_post(funded):
    with pytest.raises(errors.InvalidPosting):
        post(funded, 100, key="future", posted_at=timezone.now() + dt.timedelta(days=1))
    cash = factories.internal(Account.Purpose.CASH)
    assert refused(
        "SELECT * FROM ledger_post('withdrawal', 'x', 'future-raw', %s, %s, %s, %s)",
        [[funded.id, cash.id], [-100, 100], ["x", "x"], timezone.now() + dt.timedelta(days=1)],
    ) == "CI013"


def test_the_hold_cannot_be_spent(funded):
    Account.objects.filter(pk=funded.pk).update(hold_amount=9_000)
    with pytest.raises(errors.InsufficientFunds):
        post(funded, 1_001, key="spend-hold")
    Account.objects.filter(pk=funded.pk).update(hold_amount=0)


def test_a_frozen_account_cannot_be_debited(funded):
    Account.objects.filter(pk=funded.pk).update(status=Account.Status.FROZEN)
    with pytest.raises(errors.AccountFrozen):
        post(funded, 100, key="frozen")
    Account.objects.filter(pk=funded.pk).update(status=Account.Status.OPEN)


def test_a_hold_above_the_balance_is_refused_by_the_database(funded):
    assert refused("UPDATE accounts_account SET hold_amount = 10001 WHERE id = %s",
                   [funded.id]) == "23514"


@pytest.mark.parametrize("change", [
    {"description": "別の摘要"},
    {"line_description": "別の明細"},
    {"posted_at": "explicit"},
    {"amount": 101},
])
def test_an_idempotency_key_reused_with_any_difference_is_a_conflict(change):
    account = factories.account(balance=1_000)
    first = post(account, 100, key="reused")
    same = post(account, 100, key="reused")
    assert same.id == first.id and same.created is False
    arguments = {"amount": 100, "key": "reused", **change}
    if arguments.get("posted_at") == "explicit":
        arguments["posted_at"] = first.posted_at
    with pytest.raises(errors.IdempotencyConflict):
        post(account, **arguments)
    account.refresh_from_db()
    assert account.balance == 900


def test_a_posting_line_with_a_wrong_account_is_an_invalid_posting():
    with pytest.raises(errors.InvalidPosting):
        journal_post(lines=[PostingLine("5", -1), PostingLine(1, 1)], kind=Journal.Kind.TRANSFER,
                     description="x", idempotency_key="bad-account")


@pytest.mark.parametrize("posted_at", ["-infinity", "0100-01-01 00:00:00+00 BC", "1899-12-31 23:59:59+09"])
def test_a_posting_cannot_be_dated_before_the_bank_existed(funded, posted_at):
    """LEDGER-7: ledger_post() refused only a future time. At -infinity or before year 1,
    on two accounts without entries (the app's role opens accounts), the entries could not
    be read back by psycopg (DataError: no Python datetime): the customer's statement
    failed, and the 入出金 notice queued for the entry made every posting_notices_process()
    batch fail and roll back, so no customer got a notice any more."""
    with pytest.raises(errors.InvalidPosting):
        post(funded, 100, key="ancient-service",
             posted_at=dt.datetime(1899, 12, 31, tzinfo=dt.UTC))
    # the fee income and a new account: neither side has an earlier entry
    fee_income = factories.internal(Account.Purpose.FEE_INCOME)
    target = factories.account()
    assert refused(
        "SELECT * FROM ledger_post('deposit', '入金', 'ancient', %s, %s, %s, %s::timestamptz)",
        [[fee_income.id, target.id], [-100, 100], ["入金", "入金"], posted_at],
    ) == "CI013"



@pytest.mark.parametrize("purpose", ["payeasy_collection", "zengin_settlement", "fee_income", "cash", "stripe"])
@pytest.mark.parametrize("assignment", ["status = 'closed'", "status = 'frozen'", "hold_amount = 1"])
def test_the_app_role_cannot_stop_a_payment_channel(purpose, assignment):
    """LEDGER-7, PAY-1, XFER-4 (dbprobe25 F2, accounts 0025): the app's role closed the empty
    Pay-easy collection account with one UPDATE — every Pay-easy payment was refused for
    good (CI108), the customer told their own account was closed — or froze 為替決済 (every
    被仕向 credit refused). The status and hold of the bank's own accounts are the owner's
    (CI111); the channel still posts."""
    account = Account.objects.filter(purpose=purpose).order_by("id").first()
    assert refused(f"UPDATE accounts_account SET {assignment} WHERE id = %s", [account.id]) == "CI111"
    account.refresh_from_db()
    assert (account.status, account.hold_amount) == (Account.Status.OPEN, 0)
    payer = factories.account(balance=1_000)
    collection = factories.internal(Account.Purpose.PAYEASY_COLLECTION)
    journal_post(lines=[PostingLine(payer, -500, "ペイジー"), PostingLine(collection, 500)],
                 kind=Journal.Kind.PAYEASY, description="ペイジー", idempotency_key=factories.unique("f2-"))


@pytest.mark.parametrize("change", [
    "customer_id = %(thief_customer)s",
    "number = '9399999'",  # the thief's account then takes the victim's number
    "branch_id = %(branch)s",
    "purpose = 'cash', customer_id = NULL",
    "type = '4'",
])
def test_an_account_cannot_change_hands(funded, change):
    """LEDGER-7: the app's role could UPDATE an account's owner, number, branch, purpose and
    type, which nothing in the app changes after opening (admin shows them read-only; staff
    change status and hold only). One UPDATE handed a customer's account and its balance to
    another customer, or its number to an account of the thief's (an incoming credit follows
    the number), with no journal, no entry and a clean ledger_check; purpose 'cash' took
    the funds check off it."""
    thief = factories.account()
    assert refused(f"UPDATE accounts_account SET {change} WHERE id = %(victim)s", {
        "thief_customer": thief.customer_id, "branch": funded.branch_id, "victim": funded.id,
    }) == INSUFFICIENT_PRIVILEGE
    funded.refresh_from_db()
    assert (funded.customer_id, funded.number, funded.purpose) != (thief.customer_id, "9399999", "cash")


@pytest.mark.parametrize("statement", [
    "UPDATE security_auditevent SET outcome = 'success'",
    "UPDATE security_auditevent SET created_at = created_at - interval '1 year'",
    "DELETE FROM security_auditevent",
    "TRUNCATE security_auditevent",
])
def test_the_audit_log_cannot_be_rewritten(statement):
    """SEC-11, LEDGER-7 (DB review, session 19): the app's role adds audit rows (取引履歴,
    staff actions) but may neither change nor remove one — it could before."""
    from security.audit import audit_record
    from security.models import AuditEvent

    customer = factories.customer()
    audit_record(action="transfer", outcome="refused", customer=customer, summary="evidence")
    assert refused(statement) == INSUFFICIENT_PRIVILEGE
    assert AuditEvent.objects.filter(customer=customer, outcome="refused", summary="evidence").count() == 1


@pytest.mark.parametrize("statement", [
    "INSERT INTO django_migrations (app, name, applied) VALUES ('accounts', '9999_a_future_ledger_guard', now())",
    "UPDATE django_migrations SET name = name || '_' WHERE app = 'accounts'",
    "DELETE FROM django_migrations WHERE app = 'accounts'",
    "TRUNCATE django_migrations",
])
def test_the_migration_record_cannot_be_forged(funded, statement):
    """LEDGER-7 (review5): the app's role could write django_migrations, the record by which
    the owner's ``migrate`` decides what is applied. One INSERT marked a migration that is
    not yet deployed — a future ledger guard, say — as applied, so the owner's deploy would
    skip it without a word; a DELETE made migrate run applied ones again. The app's role
    reads the record (runserver's and check's unapplied-migrations warning) and never
    writes it: migrations run as the owner."""
    from django.db.migrations.recorder import MigrationRecorder

    before = set(MigrationRecorder(connection).applied_migrations())
    assert refused(statement) == INSUFFICIENT_PRIVILEGE
    assert set(MigrationRecorder(connection).applied_migrations()) == before


def test_every_function_of_ours_runs_with_a_pinned_search_path():
    """LEDGER-7 (outside review): 0002's ledger functions ran with the caller's search_path
    (accounts 0022 pins them); a function added later without ``SET search_path`` fails
    here. procrastinate's own functions are the library's; the two SQL helpers are inlined
    into their callers (a SET clause would stop that: 0013) and qualify what they call."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              JOIN pg_language l ON l.oid = p.prolang
             WHERE n.nspname = 'public' AND p.proname NOT LIKE 'procrastinate%%' AND l.lanname = 'plpgsql'
               AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search_path=%%')
             ORDER BY 1""")
        assert [row[0] for row in cursor.fetchall()] == []


OPEN_ACCOUNT = (
    "INSERT INTO accounts_account (purpose, type, number, holder_kana, name, status, balance, hold_amount,"
    " opened_at, branch_id, stripe_of_id) VALUES (%s, '1', %s, 'X', 'dup', %s, 0, 0, now(), %s, %s)"
)


@pytest.mark.parametrize("purpose", ["payeasy_collection", "cash", "zengin_settlement", "fee_income", "bogus"])
@pytest.mark.parametrize("status", ["closed", "open"])
def test_the_app_role_cannot_open_a_second_internal_account(purpose, status):
    """LEDGER-7, PAY-1, XFER-4 (dbprobe25 F1, accounts 0024): one INSERT of a second Pay-easy
    collection or cash account (closed, even) made payeasy_pay() and counter_deposit() fail
    with MultipleObjectsReturned — a 500 for every payment and 窓口入金 — and nobody could
    remove it. The bank's own accounts are the owner's to open (CI110); the services still
    find their one row."""
    from accounts.services import counter_deposit

    target = factories.account()
    assert refused(OPEN_ACCOUNT, [purpose, "9000099", status, target.branch_id, None]) == "CI110"
    for single in ("payeasy_collection", "cash", "zengin_settlement", "fee_income"):
        Account.objects.get(purpose=single)  # the one row the services read
    assert counter_deposit(account=target, amount=1_000, reference="F1", actor="staff").created
    target.refresh_from_db()
    assert target.balance == 1_000


def test_the_app_role_cannot_add_stripes(funded):
    """LEDGER-7 (dbprobe25 F14, accounts 0024): 200,000 stripes the app's role inserted under
    the fee income made every fee posting 40 times slower, for good (ledger_post numbers the
    open stripes of the account on every call; the app can neither delete nor close them)."""
    fee_income = factories.internal(Account.Purpose.FEE_INCOME)
    stripes = Account.objects.filter(stripe_of=fee_income).count()
    assert refused(
        "INSERT INTO accounts_account (purpose, type, number, holder_kana, name, status, balance, hold_amount,"
        " opened_at, branch_id, stripe_of_id)"
        " SELECT 'stripe', '1', lpad((2000000 + g)::text, 7, '0'), 'X', 's', 'open', 0, 0, now(), %s, %s"
        "   FROM generate_series(1, 1000) g", [funded.branch_id, fee_income.id]) == "CI110"
    assert refused(OPEN_ACCOUNT, ["stripe", "9199999", "open", funded.branch_id, funded.id]) == "CI110"
    assert Account.objects.filter(stripe_of=fee_income).count() == stripes
    # a customer account is still the app's to open
    factories.account()


def test_a_line_beyond_a_trillion_yen_is_refused(monkeypatch):
    """LEDGER-7, LEDGER-1 (dbprobe25 F11, accounts 0027): two lines of ±9.2·10^18 through
    ledger_post() pushed 為替決済 to the bigint floor, and every later posting on it failed
    with 22003, a code the app does not map (a 500 for every 被仕向 credit). A line is at
    most 10^12 yen either way (CI015, InvalidPosting); 10^12 itself still posts."""
    from accounts import services

    zengin, cash = (factories.internal(purpose) for purpose in (Account.Purpose.ZENGIN_SETTLEMENT,
                                                                Account.Purpose.CASH))
    for amount in (9_223_372_036_854_775_807 - 11_489_040, 10**12 + 1):
        assert refused("SELECT * FROM ledger_post('adjustment', 'x', 'probe-big-1', %s, %s, %s)",
                       [[zengin.id, cash.id], [-amount, amount], ["x", "x"]]) == "CI015"
    assert refused("SELECT * FROM ledger_post('adjustment', 'x', 'probe-big-2', %s, %s, %s)",
                   [[zengin.id, cash.id, cash.id], [-(2**63 - 1) - 1, 2**62, 2**62], ["x", "x", "x"]]) == "CI015"
    zengin.refresh_from_db()
    assert zengin.balance == 0
    # the service refuses it first; past that check the database's answer is a domain error
    with pytest.raises(errors.InvalidPosting):
        journal_post(lines=[PostingLine(zengin, -(10**12 + 1)), PostingLine(cash, 10**12 + 1)],
                     kind=Journal.Kind.ADJUSTMENT, description="x", idempotency_key="big-service")
    monkeypatch.setattr(services, "MAX_AMOUNT", 10**15)
    with pytest.raises(errors.InvalidPosting) as caught:
        journal_post(lines=[PostingLine(zengin, -(10**12 + 1)), PostingLine(cash, 10**12 + 1)],
                     kind=Journal.Kind.ADJUSTMENT, description="x", idempotency_key="big-database")
    assert str(caught.value).startswith("CI015")
    # the largest line anyone posts (bench/ledger_post.py's seed) is exactly 10^12
    journal_post(lines=[PostingLine(zengin, -(10**12)), PostingLine(cash, 10**12)],
                 kind=Journal.Kind.ADJUSTMENT, description="x", idempotency_key="big-allowed")
    zengin.refresh_from_db()
    assert zengin.balance == -(10**12)
