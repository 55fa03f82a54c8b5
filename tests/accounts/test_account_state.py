"""LEDGER-7, LEDGER-5: the rules of an account's status and hold, held by the database
against the app's own role (the tests connect as it, as the web and the worker do) —
the outside review's M5 and H3."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from accounts import errors
from accounts.ledger_check import ledger_check
from accounts.models import Account, AccountStateChange, Entry, Journal
from accounts.services import (ACCOUNT_CLOSED_FINAL, PostingLine, account_admin_change_problem,
                               journal_post)
from tests import factories
from tests.accounts.test_ledger_lockdown import INSUFFICIENT_PRIVILEGE, refused

pytestmark = pytest.mark.django_db

CHECK_VIOLATION = "23514"


def test_a_status_outside_the_models_choices_is_refused():
    """M5: status='whatever' was stored, and ledger_post() took it for open."""
    account = factories.account(balance=1_000)
    assert refused("UPDATE accounts_account SET status = 'whatever' WHERE id = %s", [account.id]) == CHECK_VIOLATION
    assert refused("UPDATE accounts_account SET status = 'OPEN' WHERE id = %s", [account.id]) == CHECK_VIOLATION
    account.refresh_from_db()
    assert account.status == Account.Status.OPEN


@pytest.mark.parametrize("status", [Account.Status.OPEN, Account.Status.FROZEN])
def test_a_closed_account_is_never_reopened(status):
    """M5: the app's role reopened a closed account (and could then post to it)."""
    account = factories.account()
    Account.objects.filter(pk=account.pk).update(status=Account.Status.CLOSED)
    assert refused("UPDATE accounts_account SET status = %s WHERE id = %s", [status, account.id]) == "CI108"
    account.refresh_from_db()
    assert account.status == Account.Status.CLOSED
    with pytest.raises(errors.AccountClosed):
        journal_post(lines=[PostingLine(factories.internal(Account.Purpose.CASH), -1), PostingLine(account, 1)],
                     kind=Journal.Kind.DEPOSIT, description="入金", idempotency_key=factories.unique("demo:reopen-"))
    # staff are told so in admin, before the database has to refuse it
    assert account_admin_change_problem(account=account, status=status, hold_amount=0) == ACCOUNT_CLOSED_FINAL
    assert account_admin_change_problem(account=account, status=Account.Status.CLOSED, hold_amount=0) == ""


def test_freeze_unfreeze_and_close_still_work():
    account = factories.account()
    for status in (Account.Status.FROZEN, Account.Status.OPEN, Account.Status.FROZEN, Account.Status.CLOSED):
        Account.objects.filter(pk=account.pk).update(status=status)
    account.refresh_from_db()
    assert account.status == Account.Status.CLOSED
    assert all(result.ok for result in ledger_check())


def failures() -> dict[str, list]:
    return {result.name: result.violations for result in ledger_check() if not result.ok}


def status_set(account: Account, status: str) -> None:
    Account.objects.filter(pk=account.pk).update(status=status)


def hold_set(account: Account, hold: int) -> None:
    Account.objects.filter(pk=account.pk).update(hold_amount=hold)


FREEZE_COVER = ["UPDATE accounts_account SET status = 'open' WHERE id = %(victim)s",
                "SELECT journal_id FROM ledger_post('transfer', '振込', 'drain', ARRAY[%(victim)s, %(thief)s]::bigint[],"
                " ARRAY[-952300, 952300]::bigint[], ARRAY['振込', '振込入金'])",
                "UPDATE accounts_account SET status = 'frozen' WHERE id = %(victim)s"]
HOLD_COVER = ["UPDATE accounts_account SET hold_amount = 0 WHERE id = %(victim)s",
              "SELECT journal_id FROM ledger_post('transfer', '振込', 'drain', ARRAY[%(victim)s, %(thief)s]::bigint[],"
              " ARRAY[-5000, 5000]::bigint[], ARRAY['振込', '振込入金'])",
              "SELECT journal_id FROM ledger_post('transfer', '振込', 'refill', ARRAY[%(thief)s, %(victim)s]::bigint[],"
              " ARRAY[-4000, 4000]::bigint[], ARRAY['振込', '振込入金'])",
              "UPDATE accounts_account SET hold_amount = 9000 WHERE id = %(victim)s"]


def cover_accounts(steps):
    """The victim (frozen, or with a hold of 9,000円, committed before the attack) and the thief."""
    if steps is FREEZE_COVER:
        victim = factories.account(balance=952_300)
        status_set(victim, Account.Status.FROZEN)  # a court order, committed
    else:
        victim = factories.account(balance=10_000, hold_amount=9_000)
    return victim, factories.account(balance=4_000)


@pytest.mark.parametrize("steps", [FREEZE_COVER, HOLD_COVER], ids=["freeze", "hold"])
@pytest.mark.django_db(transaction=True)  # each step commits, as in production
def test_a_freeze_or_hold_lifted_for_a_debit_is_not_put_back_in_the_same_transaction(steps):
    """H3: as the app's role, one transaction set a frozen account open, drained it with
    ledger_post() and froze it again (or set the hold to 0, debited and set it back, the
    balance made good for the CHECK from elsewhere); ledger_check passed. The database now
    refuses the step that covers the debit (CI109), and nothing has moved."""
    victim, thief = cover_accounts(steps)
    before = Account.objects.get(pk=victim.pk)
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        for sql in steps:
            cursor.execute(sql, {"victim": victim.id, "thief": thief.id})
    assert caught.value.__cause__.sqlstate == "CI109"
    after = Account.objects.get(pk=victim.pk)
    assert (after.balance, after.status, after.hold_amount) == (before.balance, before.status, before.hold_amount)
    assert not failures()


@pytest.mark.parametrize("steps", [FREEZE_COVER, HOLD_COVER], ids=["freeze", "hold"])
@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_ledger_check_finds_a_covered_debit_from_the_history(steps):
    """H3: the same attack by the owner with the refusal switched off (the owner can; the
    app's role cannot): ledger_check, as the app's role, finds the debit in the history
    the database wrote — its old rule (debits after status_changed_at) passed it."""
    victim, thief = cover_accounts(steps)
    with connections["owner"].cursor() as cursor:  # autocommit: DISABLE, the attack, ENABLE
        cursor.execute("ALTER TABLE accounts_account DISABLE TRIGGER ledger_account_no_cover")
        try:
            with transaction.atomic(using="owner"):
                for sql in steps:
                    cursor.execute(sql, {"victim": victim.id, "thief": thief.id})
        finally:
            cursor.execute("ALTER TABLE accounts_account ENABLE TRIGGER ledger_account_no_cover")
    found = failures()
    history = "no debit was made while its account was frozen or closed or beyond its hold"
    records = "every journal is backed by its business record (or is loaded history)"
    assert list(found) == [history, records]
    # the attack's journals are no service's either (probe34 F4): listed with their keys
    assert {detail.split(", ")[1] for _, detail in found[records]} == {
        f"key {key}" for key in Journal.objects.filter(idempotency_key__in=["drain", "refill"])
        .values_list("idempotency_key", flat=True)}
    [(entry_id, detail)] = found[history]
    assert entry_id == Entry.objects.get(journal__idempotency_key="drain", account=victim).id
    assert "in the transaction that lifted" in detail


@pytest.mark.django_db(transaction=True)  # each step commits, as in production
def test_the_legitimate_paths_pass():
    """Freeze and unfreeze by staff, a debit while open, a hold released and spent, and an
    account paid out and closed in one transaction are all allowed."""
    account = factories.account(balance=10_000, hold_amount=3_000)
    other = factories.account()
    status_set(account, Account.Status.FROZEN)
    status_set(account, Account.Status.OPEN)
    factories.transfer(account, other, 7_000)  # down to the hold: allowed
    hold_set(account, 0)
    factories.transfer(account, other, 1_000)
    status_set(account, Account.Status.FROZEN)
    with transaction.atomic():  # a debit, then a freeze, in one transaction
        status_set(account, Account.Status.OPEN)
        factories.transfer(account, other, 500)
    status_set(account, Account.Status.FROZEN)
    with transaction.atomic():
        factories.transfer(other, account, 100)  # credits a frozen account may take
    status_set(account, Account.Status.OPEN)
    with transaction.atomic():  # paid out and closed at once
        factories.transfer(account, other, 1_600)
        status_set(account, Account.Status.CLOSED)
    assert not failures()


def test_the_history_is_written_by_the_database_and_only_read_by_the_app():
    account = factories.account(balance=5_000)
    before = AccountStateChange.objects.count()
    with transaction.atomic():
        status_set(account, Account.Status.FROZEN)
        hold_set(account, 2_000)
        Account.objects.filter(pk=account.pk).update(hold_amount=2_000)  # the same again: not a change
    rows = list(AccountStateChange.objects.filter(account=account).order_by("id"))
    # the account's opening, its deposit (no state change), the freeze and the hold
    assert [(r.old_status, r.new_status, r.old_hold_amount, r.new_hold_amount) for r in rows[:1]] == [
        ("", "open", None, 0)]
    assert [(r.old_status, r.new_status, r.old_hold_amount, r.new_hold_amount) for r in rows[1:]] == [
        ("open", "frozen", 0, 0), ("frozen", "frozen", 0, 2_000)]
    assert rows[1].xact_id == rows[2].xact_id and rows[1].xact_started_at == rows[2].xact_started_at
    assert rows[1].changed_at <= rows[2].changed_at
    assert AccountStateChange.objects.count() == before + 2
    for statement in ("INSERT INTO accounts_accountstatechange (account_id, old_status, new_status,"
                      " new_hold_amount, changed_at, xact_id, xact_started_at, last_entry_id, db_user)"
                      " VALUES (%s, 'frozen', 'open', 0, now(), 1, now(), 0, 'x')",
                      "UPDATE accounts_accountstatechange SET new_status = 'open' WHERE account_id = %s",
                      "DELETE FROM accounts_accountstatechange WHERE account_id = %s",
                      "TRUNCATE accounts_accountstatechange"):
        assert refused(statement, [account.id] if "%s" in statement else None) == INSUFFICIENT_PRIVILEGE
    assert AccountStateChange.objects.count() == before + 2


def test_ledger_post_refuses_a_kind_outside_the_model_and_takes_every_kind_of_it():
    """M4: the app's role posted a journal of kind 'bogus_kind' through ledger_post()."""
    source = factories.account(balance=100_000)
    cash = factories.internal(Account.Purpose.CASH)
    assert refused("SELECT * FROM ledger_post('bogus_kind', 'x', 'bogus', %s, %s, %s)",
                   [[source.id, cash.id], [-1, 1], ["x", "x"]]) == "CI010"
    for kind in Journal.Kind.values:  # a kind added to the model needs ledger_post() to know it
        journal_post(lines=[PostingLine(source, -1), PostingLine(cash, 1)], kind=kind, description="x",
                     idempotency_key=factories.unique(f"demo:kind-{kind}-"))
    source.refresh_from_db()
    assert source.balance == 100_000 - len(Journal.Kind.values)


def yesterday():
    return timezone.now() - dt.timedelta(days=1)


@pytest.mark.django_db(transaction=True)  # the accounts exist before the posting's transaction
def test_a_posting_dated_before_the_bank_day_is_refused_on_existing_accounts():
    """M4: the app's role posted a journal dated inside statements customers had seen
    (after the accounts' last entries, which was the only floor)."""
    old = factories.account()
    other = factories.account()
    with pytest.raises(errors.InvalidPosting):
        factories.deposit(old, 1_000, posted_at=yesterday())
    cash, zengin = factories.internal(Account.Purpose.CASH), factories.internal(Account.Purpose.ZENGIN_SETTLEMENT)
    assert refused("SELECT * FROM ledger_post('transfer', 'x', 'old-internal', %s, %s, %s, %s)",
                   [[cash.id, zengin.id], [-1, 1], ["x", "x"], yesterday()]) == "CI013"
    with transaction.atomic():  # a new account in the same transaction does not open the door
        fresh = factories.account()
        with pytest.raises(errors.InvalidPosting):
            journal_post(lines=[PostingLine(cash, -5), PostingLine(fresh, 3), PostingLine(old, 2)],
                         kind=Journal.Kind.DEPOSIT, description="入金", idempotency_key="demo:old-mixed",
                         posted_at=yesterday())
    # an account opened in the posting's transaction has no statement anyone saw (the demo
    # history, seed_demo; the cash account's entries must still not go back in time, CI101)
    with transaction.atomic():
        new = factories.account()
        factories.deposit(new, 700, posted_at=yesterday() - dt.timedelta(days=30))
    # earlier today is today's bank day
    bank_day_start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    factories.deposit(other, 500, posted_at=max(bank_day_start, timezone.now() - dt.timedelta(seconds=1)))
    new.refresh_from_db()
    old.refresh_from_db()
    assert (new.balance, old.balance) == (700, 0)
    assert not failures()


@pytest.mark.django_db(transaction=True)  # the bank's accounts have entries from before the attack
def test_a_new_account_does_not_open_the_past_of_the_banks_own_accounts():
    """LEDGER-7 (dbprobe25 F7, accounts 0026): a customer account opened in the transaction
    let the app's role backdate onto the cash account and a stripe of the fee income too —
    days whose books were closed. The demo's way (history onto new accounts against internal
    accounts nobody had posted to) still works; once they have entries, no more."""
    cash = factories.internal(Account.Purpose.CASH)
    fee_income = factories.internal(Account.Purpose.FEE_INCOME)
    month_ago = timezone.now() - dt.timedelta(days=30)
    with transaction.atomic():  # seed_demo on a fresh database
        saver = factories.account()
        factories.deposit(saver, 5_000, posted_at=month_ago)
        journal_post(lines=[PostingLine(fee_income, -7), PostingLine(saver, 7, "ﾘｿｸ")], kind=Journal.Kind.INTEREST,
                     description="ﾘｿｸ", idempotency_key="demo:f7-interest", posted_at=month_ago)
    stripe = Entry.objects.get(journal__idempotency_key="demo:f7-interest", amount=-7).account
    assert stripe.stripe_of_id == fee_income.pk
    unused = Account.objects.filter(stripe_of=fee_income).exclude(pk=stripe.pk).first()  # no entry yet
    with transaction.atomic():
        planted = factories.account(owner=saver.customer)  # a new account of a real customer
        for counter in (cash, fee_income, stripe, unused):
            assert refused("SELECT * FROM ledger_post('deposit', '窓口入金', %s, %s, %s, %s, %s)",
                           [f"f7-{counter.pk}", [counter.id, planted.id], [-700, 700], ["x", "x"],
                            yesterday()]) == "CI013"
    assert not Entry.objects.filter(posted_at__gt=month_ago + dt.timedelta(minutes=1),
                                    posted_at__lt=timezone.now() - dt.timedelta(hours=1)).exists()
    assert not failures()
