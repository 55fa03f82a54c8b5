"""Issue 14 (LEDGER-3, LEDGER-4): the hot internal accounts — fee income, Pay-easy
collection — are split into stripes so that postings touching them do not all queue on
one row lock. ledger_post() puts such a line on one of the account's open stripes; the
bank's figure for the account is its own balance plus its stripes'. Everything else of
the ledger holds as before: idempotency, status checks, ledger_check, no deadlock."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connections, transaction

from accounts import errors
from accounts.ledger_check import ledger_check
from accounts.models import Account, Entry, Journal
from accounts.reference_data import STRIPES
from accounts.selectors import internal_balance
from accounts.services import PostingLine, journal_post
from tests import factories
from tests.accounts.test_concurrency import run_concurrently


def fee_income() -> Account:
    return factories.internal(Account.Purpose.FEE_INCOME)


def fee_posting(payer: Account, amount: int, key: str | None = None) -> Journal:
    return journal_post(lines=[PostingLine(payer, -amount, "振込手数料"), PostingLine(fee_income(), amount)],
                        kind=Journal.Kind.TRANSFER_FEE, description="振込手数料",
                        idempotency_key=key or factories.unique("demo:test-fee-"))


def fee_entry(journal: Journal) -> Entry:
    return Entry.objects.select_related("account").get(journal_id=journal.pk, amount__gt=0)


def assert_ledger_clean() -> None:
    assert all(result.ok for result in ledger_check()), [r for r in ledger_check() if not r.ok]


@pytest.mark.django_db
def test_the_hot_internal_accounts_have_their_stripes():
    for purpose, count in STRIPES.items():
        parent = factories.internal(purpose)
        stripes = Account.objects.filter(stripe_of=parent)
        assert stripes.count() == count
        assert set(stripes.values_list("purpose", "status", "branch_id")) == {
            ("stripe", "open", parent.branch_id)}
    # customer accounts and the other internal accounts are never split
    assert not Account.objects.filter(stripe_of__purpose__in=["customer", "cash", "zengin_settlement"]).exists()


# The bank's own accounts, stripes too, are opened by the owner only (accounts 0024): the
# tests that add one do it on the owner's connection, so they commit (transaction=True).
AS_OWNER = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


def owner_opens(**fields) -> Account:
    return Account.objects.using("owner").create(holder_kana="X", **fields)


@AS_OWNER
def test_a_stripe_needs_its_account_and_only_a_stripe_has_one():
    parent = fee_income()
    with pytest.raises(IntegrityError), transaction.atomic(using="owner"):
        owner_opens(branch_id=parent.branch_id, purpose="stripe", number="9199999")
    with pytest.raises(IntegrityError), transaction.atomic(using="owner"):
        owner_opens(branch_id=parent.branch_id, purpose="cash", number="9199998", stripe_of_id=parent.pk)


@pytest.mark.django_db
def test_a_line_on_the_fee_income_lands_on_a_stripe_and_the_account_adds_up():
    payer = factories.account(balance=10_000)
    parent = fee_income()
    before = internal_balance(parent)
    journal = fee_posting(payer, 330)
    entry = fee_entry(journal)
    assert entry.account.stripe_of_id == parent.pk and entry.account.purpose == "stripe"
    assert entry.balance_after == entry.account.balance
    parent.refresh_from_db()
    assert parent.balance == 0, "the account itself is not touched"
    assert internal_balance(parent) == before + 330
    payer.refresh_from_db()
    assert payer.balance == 10_000 - 330
    assert_ledger_clean()


@pytest.mark.django_db
def test_a_replay_is_the_same_journal_and_other_content_is_refused():
    payer = factories.account(balance=10_000)
    first = fee_posting(payer, 220, key="fee-replay-1")
    again = fee_posting(payer, 220, key="fee-replay-1")
    assert (again.pk, again.created) == (first.pk, False)
    assert Entry.objects.filter(journal_id=first.pk).count() == 2
    with pytest.raises(errors.IdempotencyConflict):
        fee_posting(payer, 110, key="fee-replay-1")
    assert internal_balance(fee_income()) == 220


def owner_sets(accounts, **fields) -> None:
    """The status of the bank's own accounts is the owner's to change (accounts 0025)."""
    Account.objects.using("owner").filter(pk__in=[account.pk for account in accounts]).update(**fields)


@AS_OWNER
def test_a_frozen_or_closed_account_is_not_walked_around_through_its_stripes():
    payer = factories.account(balance=10_000)
    parent = fee_income()
    owner_sets([parent], status=Account.Status.FROZEN)
    with pytest.raises(errors.AccountFrozen):  # a debit of the frozen account itself
        journal_post(lines=[PostingLine(parent, -10), PostingLine(payer, 10)], kind=Journal.Kind.DEPOSIT,
                     description="返金", idempotency_key=factories.unique("demo:test-refund-"))
    owner_sets([parent], status=Account.Status.CLOSED)
    with pytest.raises(errors.AccountClosed):
        fee_posting(payer, 110)
    assert internal_balance(parent) == 0


@AS_OWNER
def test_a_frozen_stripe_takes_nothing():
    payer = factories.account(balance=100_000)
    parent = fee_income()
    keep = Account.objects.filter(stripe_of=parent).order_by("id").last()
    owner_sets(Account.objects.filter(stripe_of=parent).exclude(pk=keep.pk), status=Account.Status.FROZEN)
    for _ in range(3):
        assert fee_entry(fee_posting(payer, 110)).account_id == keep.pk


@AS_OWNER
def test_a_customer_account_is_never_striped():
    """Its funds check needs the one row: a stripe row pointing at it is ignored."""
    payer = factories.account(balance=1_000)
    target = factories.account()
    owner_opens(branch_id=target.branch_id, purpose="stripe", number="9199997", stripe_of_id=target.pk)
    journal = factories.transfer(payer, target, 500)
    assert Entry.objects.get(journal_id=journal.pk, amount=500).account_id == target.pk
    target.refresh_from_db()
    assert target.balance == 500
    problems = {r.name: r.violations for r in ledger_check()}[
        "every stripe belongs to the fee income or the Pay-easy collection account"]
    assert [pk for pk, _ in problems] == [Account.objects.get(stripe_of=target).pk]


@pytest.mark.django_db(transaction=True)
def test_concurrent_fee_postings_spread_over_the_stripes_exactly_once():
    """Eight connections crediting the fee income at once: no deadlock, no lost posting,
    the stripes share the load, the account adds up, ledger_check is clean."""
    payers = [factories.account(balance=100_000) for _ in range(8)]
    rounds = 15

    def job(payer):
        def run():
            for n in range(rounds):
                fee_posting(payer, 110, key=f"demo:fee-load-{payer.pk}-{n}")
        return run

    run_concurrently([job(payer) for payer in payers])
    parent = fee_income()
    assert internal_balance(parent) == 8 * rounds * 110
    used = set(Entry.objects.filter(journal__kind=Journal.Kind.TRANSFER_FEE, amount__gt=0)
               .values_list("account_id", flat=True))
    assert len(used) > 1 and all(Account.objects.get(pk=pk).stripe_of_id == parent.pk for pk in used)
    assert_ledger_clean()
    connections.close_all()


@AS_OWNER
def test_only_the_two_hot_accounts_are_striped_whatever_rows_are_added():
    """A stripe row someone adds to another internal account is ignored by ledger_post()
    and reported by ledger_check."""
    from accounts.services import counter_deposit

    cash = factories.internal(Account.Purpose.CASH)
    extra = owner_opens(branch_id=cash.branch_id, purpose="stripe", number="9199996", stripe_of_id=cash.pk)
    target = factories.account()
    journal = counter_deposit(account=target, amount=1_000, reference="S-1", actor="staff")
    assert Entry.objects.get(journal_id=journal.pk, amount=-1_000).account_id == cash.pk
    problems = {r.name: r.violations for r in ledger_check()}[
        "every stripe belongs to the fee income or the Pay-easy collection account"]
    assert [pk for pk, _ in problems] == [extra.pk]


@AS_OWNER
def test_a_stripe_answers_for_its_frozen_account_after_the_locks():
    """The account's status is checked again after the locks: a line put on a stripe
    before staff froze the account (here: named directly) is refused as frozen."""
    payer = factories.account(balance=10_000)
    parent = fee_income()
    stripe = Account.objects.filter(stripe_of=parent).first()
    fee_posting(payer, 500)  # money on some stripe
    owner_sets([parent], status=Account.Status.FROZEN)
    with pytest.raises(errors.AccountFrozen):
        journal_post(lines=[PostingLine(stripe, -10), PostingLine(payer, 10)], kind=Journal.Kind.DEPOSIT,
                     description="返金", idempotency_key=factories.unique("demo:test-refund-"))
    assert_ledger_clean()


@pytest.mark.django_db
def test_staff_change_no_internal_account():
    """dbprobe25 F2 (accounts 0025): the status and hold of the bank's own accounts are the
    owner's; admin shows them read-only and the service refuses them with a message."""
    from accounts.services import INTERNAL_ACCOUNT_OWNER_ONLY, account_admin_change_problem

    parent = fee_income()
    for status, hold in ((Account.Status.CLOSED, 0), (Account.Status.FROZEN, 0), (Account.Status.OPEN, 1)):
        assert account_admin_change_problem(account=parent, status=status,
                                            hold_amount=hold) == INTERNAL_ACCOUNT_OWNER_ONLY
    assert account_admin_change_problem(account=parent, status=parent.status, hold_amount=parent.hold_amount) == ""


@pytest.mark.parametrize("drift", [
    ("'fee_income', 'payeasy_collection')", "'fee_income', 'payeasy_collection', 'interbank_settlement')"),
    ("p.status = 'open') AS x", "p.status IN ('open', 'frozen')) AS x"),
], ids=["purpose", "status"])
def test_0041_refuses_a_lookup_whose_condition_drifted_from_its_own(monkeypatch, drift):
    """LEDGER-3 (accounts 0041): the key look-up that decides whether the stripe look-up runs
    repeats that look-up's condition on the named account. Its text is checked against the
    look-up it wraps: a later change to one of them is refused at import (RuntimeError), not
    a posting that silently skips (or runs) the stripes."""
    import importlib

    migration = importlib.import_module("accounts.migrations.0041_ledger_post_stripes_when_named")
    source = migration.ledger_0039.ledger_post_service_keys_only()
    assert f"{migration.STRIPED_PURPOSE} AND {migration.STRIPED_STATUS}" in source
    assert "p.id = ANY (p_accounts) AND " + migration.STRIPED_PURPOSE in migration.ledger_post_stripes_when_named()
    old, new = drift
    assert source.count(old) == 1
    monkeypatch.setattr(migration.ledger_0039, "ledger_post_service_keys_only", lambda: source.replace(old, new))
    with pytest.raises(RuntimeError, match="STRIPED_PURPOSE / STRIPED_STATUS"):
        migration.ledger_post_stripes_when_named()
