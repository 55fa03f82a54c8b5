"""LEDGER-7, LEDGER-5: the rules of an account's status and hold, held by the database
against the app's own role (the tests connect as it, as the web and the worker do) —
the outside review's M5 and H3."""

from __future__ import annotations

import pytest

from accounts import errors
from accounts.ledger_check import ledger_check
from accounts.models import Account, Journal
from accounts.services import (ACCOUNT_CLOSED_FINAL, PostingLine, account_admin_change_problem,
                               journal_post)
from tests import factories
from tests.accounts.test_ledger_lockdown import refused

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
                     kind=Journal.Kind.DEPOSIT, description="入金", idempotency_key=factories.unique("reopen-"))
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
