"""LEDGER-7, XFER-10, XFER-12 (outside review dbprobe28 F8; accounts 0034): an account's
names are written when it is opened. The app's role cannot rewrite the 為替決済 account's
holder_kana (the 全銀 header's 依頼人名) or a customer's (the name incoming credits are
matched against); every column of the bank's own accounts is the owner's; and whoever
writes, holder_kana is in the characters the 全銀 writer takes."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import Account, Journal
from accounts.services import PostingLine, journal_post
from tests import factories
from tests.accounts.test_branch_and_heartbeat_held import owner_refused
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db

INSUFFICIENT_PRIVILEGE = "42501"
CHECK_VIOLATION = "23514"


@pytest.mark.parametrize("purpose", ["zengin_settlement", "fee_income", "cash", "payeasy_collection", "stripe"])
@pytest.mark.parametrize("assignment", ["holder_kana = '大阪厚生信用金庫'", "holder_kana = 'ｱ'", "name = 'x'"])
def test_the_app_role_cannot_rename_a_bank_account(purpose, assignment):
    """The repro of F8: the 為替決済 account's holder_kana in kanji stopped every 仕向 file."""
    account = Account.objects.filter(purpose=purpose).order_by("id").first()
    assert refused(f"UPDATE accounts_account SET {assignment} WHERE id = %s", [account.pk]) == INSUFFICIENT_PRIVILEGE
    assert Account.objects.get(pk=account.pk).holder_kana == account.holder_kana


@pytest.mark.parametrize("assignment", ["holder_kana = 'ｱﾀｯｸ'", "name = '別名'"])
def test_the_app_role_cannot_rename_a_customer_account(assignment):
    """Every incoming 振込 to the account is matched against holder_kana (_names_match)."""
    account = factories.account()
    assert refused(f"UPDATE accounts_account SET {assignment} WHERE id = %s", [account.pk]) == INSUFFICIENT_PRIVILEGE


def test_the_app_role_updates_status_and_hold_only():
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.column_privileges WHERE grantee = current_user"
                       " AND table_name = 'accounts_account' AND privilege_type = 'UPDATE'")
        assert sorted(row[0] for row in cursor.fetchall()) == ["hold_amount", "status"]
    assert Account.APP_UPDATABLE_FIELDS == ("status", "hold_amount")


@pytest.mark.django_db(transaction=True)
def test_every_column_of_a_bank_account_is_the_owners(owner_sql):
    """CI111 (accounts 0025) looked at status and hold only: with a grant of the names (a
    mistake in db_roles), the guard still refuses them — and ledger_post still posts."""
    role = connection.settings_dict["USER"]
    owner_sql(f'GRANT UPDATE (holder_kana, name) ON accounts_account TO "{role}"')
    try:
        settlement = factories.internal(Account.Purpose.ZENGIN_SETTLEMENT)
        assert refused("UPDATE accounts_account SET holder_kana = 'ｱ' WHERE id = %s", [settlement.pk]) == "CI111"
        assert refused("UPDATE accounts_account SET name = 'x' WHERE purpose = 'stripe'") == "CI111"
        customer_account = factories.account()
        with connection.cursor() as cursor:  # a customer's is not the bank's (the grant decides)
            cursor.execute("UPDATE accounts_account SET name = 'x' WHERE id = %s", [customer_account.pk])
    finally:
        owner_sql(f'REVOKE UPDATE (holder_kana, name) ON accounts_account FROM "{role}"')
    payer = factories.account(balance=1_000)
    journal_post(lines=[PostingLine(payer, -500, "ﾌﾘｺﾐ"), PostingLine(settlement, 500)],
                 kind=Journal.Kind.TRANSFER, description="振込", idempotency_key=factories.unique("f8-"))
    settlement.refresh_from_db()
    assert settlement.holder_kana == "ｵｵｻｶｺｳｾｲｼﾝｷﾝ ｶﾜｾｹｯｻｲ"


@pytest.mark.parametrize("kana", ["大阪厚生信用金庫", "ヰド", "", "ﾔﾏﾀﾞ\nﾀﾛｳ", "髙橋 ﾊﾅｺ"])
def test_even_the_owner_writes_a_holder_name_the_zengin_file_can_carry(kana):
    assert owner_refused("UPDATE accounts_account SET holder_kana = '" + kana.replace("'", "''")
                         + "' WHERE purpose = 'zengin_settlement'") == CHECK_VIOLATION
    customer = factories.customer(name_kana=kana)
    with pytest.raises(Exception) as caught:
        factories.account(owner=customer)
    assert getattr(caught.value.__cause__, "sqlstate", None) == CHECK_VIOLATION


@pytest.mark.parametrize("kana", ["ﾔﾏﾀﾞ ﾀﾛｳ", "スズキ ハナコ", "ｶ)ｺｳｾｲｼﾖｳｼﾞ", "ＡＢＣ　ショウジ"])
def test_a_zengin_holder_name_is_an_account_name(kana):
    account = factories.account(owner=factories.customer(name_kana=kana))
    assert account.holder_kana == kana
