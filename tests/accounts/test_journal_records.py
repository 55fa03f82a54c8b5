"""LEDGER-5, LEDGER-7 (outside review probe34 F4, accounts 0039): connected as the app's own
role, the review called ledger_post() itself and committed three journals with no business
record — +1,000,000円 from 現金 to a customer (kind 入金), 1,000円 from one customer to another
(kind 振込, no Transfer), 500円 out of 手数料収入 (kind 訂正) — and ledger_check still passed.

* Prevention: on a bank's database the app's role posts only under a service's key (CI316),
  which CI005 (payeasy 0006, 0010) then ties to its record at the commit.
* Detection: ledger_check lists every journal with no record of its kind and key (or not
  loaded history: ``load:``, and ``demo:`` on a demo database), with its lines, and fails.
* Every real path still posts on a bank's database, and leaves ledger_check clean.
"""

from __future__ import annotations

import contextlib

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from accounts.ledger_check import ledger_check
from accounts.models import Account, Journal
from accounts.services import counter_deposit
from tests import factories
from tests.conftest import demo_database_sql, held_sql, owner_commits
from tests.payeasy import support as payeasy_support
from tests.transfers.scheduled_support import funded_payer, past_business_day, schedule
from tests.transfers.test_record_guards import as_the_app_role  # noqa: F401 (autouse: the app's role)
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from transfers import scheduled
from transfers.models import Transfer

pytestmark = pytest.mark.django_db

RECORDS = "every journal is backed by its business record (or is loaded history)"
POST = "SELECT journal_id FROM ledger_post(%s, 'ﾌﾟﾛｰﾌﾞ', %s, %s::bigint[], %s::bigint[], %s::text[])"


# committed step by step (a transactional test; each service commits, so CI005 runs): each
# transaction reads the owner's switch of cosei_demo_database() — a session takes another's
# function change at a transaction's start, not always inside one
BANK = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def banks_database():
    """``cosei_demo_database()`` false (payeasy 0013) from here — as a bank's database is —
    set by the owner on its own connection, then the test database's true again. The tests'
    funding (``demo:`` keys, factories) comes before it."""
    owner_commits(demo_database_sql(False))
    try:
        yield
    finally:
        owner_commits(demo_database_sql(True))


def forgeries() -> list[tuple[str, str, list[int], list[int]]]:
    """The review's three postings: (kind, key, accounts, amounts)."""
    cash = factories.internal(Account.Purpose.CASH)
    fee_income = factories.internal(Account.Purpose.FEE_INCOME)
    victim = factories.account(balance=5_000)
    thief = factories.account()
    return [("deposit", "probe34:mint1", [cash.pk, thief.pk], [-1_000_000, 1_000_000]),
            ("transfer", "probe34:steal1", [victim.pk, thief.pk], [-1_000, 1_000]),
            ("adjustment", "probe34:adj1", [fee_income.pk, thief.pk], [-500, 500])]


def posted(kind: str, key: str, accounts: list[int], amounts: list[int]) -> str | None:
    """The SQLSTATE of the review's direct call and its commit's checks (None: it would
    commit); rolled back either way."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(POST, [kind, key, accounts, amounts, ["ﾌﾟﾛｰﾌﾞ"] * len(accounts)])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            transaction.set_rollback(True)
    except DatabaseError as error:
        return getattr(error.__cause__, "sqlstate", None)
    return None


def unbacked(limit: int = 1000) -> dict[int, str]:
    return dict({result.name: result.violations for result in ledger_check(limit=limit)}[RECORDS])


@BANK
def test_the_reviews_forged_journals_are_refused_on_a_banks_database():
    forged = forgeries()
    with banks_database():
        for kind, key, accounts, amounts in forged:
            assert posted(kind, key, accounts, amounts) == "CI316", key
            # the same lines under a service's key: CI005, no record of that service names it
            assert posted(kind, f"transfer:{key}", accounts, amounts) == "CI005", key
        # nor the demo seed's or the owner's loaded history, from the app's role
        kind, _, accounts, amounts = forged[0]
        assert posted(kind, "demo:1000000001:x", accounts, amounts) == "CI316"
        assert posted(kind, "load:2020-01-01:1", accounts, amounts) == "CI316"
        assert posted("bogus_kind", "probe34:x", accounts, amounts) == "CI010"  # unknown kind as before
    assert not Journal.objects.filter(idempotency_key__contains="probe34").exists()


@BANK
def test_a_served_demo_refuses_them_too_once_its_seed_is_in():
    """probe34 F4: the review probed the demo ``dev.py run`` serves. Its seed posts under
    ``demo:`` keys while the owner holds ``cosei_demo_loading()`` true; once the seed is in
    (dev.py ``demo_loading_end``) the demo is held as a bank's database — still a demo's for
    its billers and for ledger_check's reading of the seed's history."""
    forged = forgeries()
    owner_commits(held_sql("cosei_demo_loading", False))
    try:
        for kind, key, accounts, amounts in forged:
            assert posted(kind, key, accounts, amounts) == "CI316", key
        kind, _, accounts, amounts = forged[0]
        assert posted(kind, "demo:1000000001:later", accounts, amounts) == "CI316"
        assert unbacked() == {}  # the seed's history (the forgeries' funding) stays backed
    finally:
        owner_commits(held_sql("cosei_demo_loading", True))


def test_ledger_check_reports_each_forged_journal_with_its_lines_and_fails(capsys):
    """On a demo database (the review's: ``dev.py run``) the rule is off; the nightly check
    finds them."""
    forged = forgeries()
    assert unbacked() == {}  # the tests' fixtures are loaded history (demo:)
    ids = {}
    with connection.cursor() as cursor:
        for kind, key, accounts, amounts in forged:
            cursor.execute(POST, [kind, key, accounts, amounts, ["ﾌﾟﾛｰﾌﾞ"] * 2])
            ids[key] = cursor.fetchone()[0]
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # CI005 does not look at such keys
    found = unbacked()
    assert set(found) == set(ids.values())
    (_, _, (cash, thief), _), (_, _, (victim, _), _), (_, _, (fee_income, _), _) = forged
    assert found[ids["probe34:mint1"]] == (
        f"kind deposit, key probe34:mint1, 1000000 yen: account {cash} (cash) -1000000,"
        f" account {thief} (customer) +1000000")
    assert found[ids["probe34:steal1"]] == (
        f"kind transfer, key probe34:steal1, 1000 yen: account {victim} (customer) -1000,"
        f" account {thief} (customer) +1000")
    # a fee income line lands on a stripe (issue 14): reported as the fee income's
    assert found[ids["probe34:adj1"]] == (
        f"kind adjustment, key probe34:adj1, 500 yen: account {fee_income} (fee_income) -500,"
        f" account {thief} (customer) +500")
    with pytest.raises(SystemExit) as exited:
        call_command("ledger_check")
    assert exited.value.code == 1
    output = capsys.readouterr().out
    assert f"[FAIL] {RECORDS}" in output
    assert f"id {ids['probe34:steal1']}: kind transfer, key probe34:steal1" in output


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_a_service_key_without_its_record_is_reported():
    """CI005 asks for the record at the commit; a journal that came without it (the owner's
    trigger off, as in tests/accounts/test_ledger_check_and_demo.py, or before payeasy 0006/
    0010) is found by the check: a 窓口入金 key with no staff row, a 振込 key with no Transfer."""
    import psycopg
    from django.db import connections

    cash = factories.internal(Account.Purpose.CASH)
    target, other = factories.account(), factories.account()
    factories.deposit(other, 5_000)
    with psycopg.connect(**connections["owner"].get_connection_params(), autocommit=True) as owner:
        owner.execute("ALTER TABLE accounts_journal DISABLE TRIGGER ledger_service_key_held")
        try:
            deposit_id = owner.execute(POST, ["deposit", "counter-deposit:001:A-1", [cash.pk, target.pk],
                                              [-700, 700], ["x"] * 2]).fetchone()[0]
            transfer_id = owner.execute(POST, ["transfer", "transfer:00000000-0000-0000-0000-000000000000",
                                               [other.pk, target.pk], [-300, 300], ["x"] * 2]).fetchone()[0]
        finally:
            owner.execute("ALTER TABLE accounts_journal ENABLE TRIGGER ledger_service_key_held")
    found = unbacked()
    assert set(found) == {deposit_id, transfer_id}
    assert found[deposit_id] == (f"kind deposit, key counter-deposit:001:A-1, 700 yen: account {cash.pk} (cash) -700,"
                                 f" account {target.pk} (customer) +700")
    assert found[transfer_id].startswith("kind transfer, key transfer:00000000-0000-0000-0000-000000000000, 300 yen")


@BANK
def test_every_real_path_posts_on_a_banks_database_and_leaves_ledger_check_clean():
    """振込 (same day, its fee a line of its journal), 予約振込 by the batch, Pay-easy and a
    窓口入金 by staff, each under its service's key, on a bank's database; ledger_check is
    clean after them, and on a bank's database it would list only the tests' own funding."""
    day = past_business_day()
    rich, rich_account = funded_payer(50_000, day=day, email="rich@example.jp")
    booked = schedule(rich, rich_account, 10_000, day=day)
    customer, debit = payer()
    payeasy_support.seeded()
    pay_customer, pay_account = payeasy_support.payer(balance=100_000, email="pay@example.jp")
    bill = payeasy_support.lookup(pay_customer, payeasy_support.CITY_BILL)
    target = factories.account()
    funding = set(Journal.objects.values_list("pk", flat=True))
    with banks_database():
        assert scheduled.transfers_execute_due(day=day).executed == 1
        done = execute(customer, content_for(customer, debit, other_bank_payee(), 10_000))
        payment = payeasy_support.pay(pay_customer, pay_account, payeasy_support.CITY_BILL, bill)
        deposit = counter_deposit(account=target, amount=12_345, reference="A-1", actor="staff01")
        services = {Transfer.objects.get(pk=booked.pk).journal_id, done.journal_id, payment.journal_id,
                    deposit.pk}
        assert len(services) == 4 and not services & funding
        assert set(unbacked()) == funding  # a bank's database has no demo history
    assert unbacked() == {}
    assert all(result.ok for result in ledger_check())


@BANK
def test_interbank_postings_are_backed_by_their_file_rows():
    """被仕向 (a credit per record of the file) and 資金返却 (of a sent outgoing record), on a
    bank's database."""
    import time_machine

    from tests.transfers import test_interbank_services as interbank_tests
    from transfers.interbank import services as interbank

    with time_machine.travel(interbank_tests.FRIDAY, tick=False):
        _, _, _, second = interbank_tests._two_outgoing()
        credited = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
        with banks_database():
            interbank.outgoing_file_create(day=interbank_tests.DAY, staff="madoguchi")
            returned = interbank.outgoing_return(outgoing=second.outgoing, reason="name_mismatch", staff="madoguchi")
            result = interbank.incoming_file_upload(
                data=interbank_tests.incoming_file([(credited, "ﾔﾏﾀﾞ ﾀﾛｳ", 3_000)]), filename="in.txt",
                staff="madoguchi")
        credited.refresh_from_db()
        assert credited.balance == 3_000 and result is not None
        assert Journal.objects.get(pk=returned.journal_id).idempotency_key == f"interbank-return:{second.outgoing.pk}"
        assert Journal.objects.filter(idempotency_key__startswith="interbank-in:").count() == 1
        assert unbacked() == {}


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_the_owner_posts_loaded_history_on_a_banks_database():
    """The owner (migrations, loads of old data) is not bound by CI316: ledger_post() is
    its own function, its session its current user."""
    from django.db import connections

    cash, settlement = (factories.internal(purpose).pk
                        for purpose in (Account.Purpose.CASH, Account.Purpose.ZENGIN_SETTLEMENT))
    with banks_database():
        assert posted("deposit", "load:2020-01-01:1", [cash, settlement], [-1, 1]) == "CI316"
        with connections["owner"].cursor() as cursor:
            cursor.execute(POST, ["deposit", "load:2020-01-01:1", [cash, settlement], [-1, 1], ["x", "x"]])
            assert cursor.fetchone()[0]
    assert unbacked() == {}  # committed (autocommit), and loaded history
