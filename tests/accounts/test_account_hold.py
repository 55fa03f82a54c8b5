"""LEDGER-7: a hold never exceeds the balance — staff get a message, the database a CHECK."""

import pytest

from accounts.models import Account
from accounts.services import AccountChangeRefused, account_admin_change
from security.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def test_staff_cannot_hold_more_than_the_balance():
    account = factories.account(balance=1_000)
    account.hold_amount = 1_001
    with pytest.raises(AccountChangeRefused) as refused:
        account_admin_change(account=account, changed=["hold_amount"], actor="madoguchi")
    assert refused.value.message == "拘束額は口座の残高（1,000円）以下で入力してください。"
    account.hold_amount = 1_000
    account_admin_change(account=account, changed=["hold_amount"], actor="madoguchi")
    account.refresh_from_db()
    assert (account.balance, account.hold_amount, account.available_amount) == (1_000, 1_000, 0)
    assert AuditEvent.objects.filter(action="account_change", actor="madoguchi").count() == 1


def test_saving_a_loaded_account_leaves_the_ledger_columns_alone():
    """The app's role may not UPDATE balance (LEDGER-7): save() writes the other columns."""
    account = factories.account(balance=500)
    stale = Account.objects.get(pk=account.pk)
    factories.deposit(account, 250)
    stale.name = "生活費"
    stale.save()
    account.refresh_from_db()
    assert (account.name, account.balance) == ("生活費", 750)
