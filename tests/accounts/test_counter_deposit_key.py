"""STAFF-1, LEDGER-7 (outside review dbprobe26 F10, payeasy 0010): the app's role posted
ledger_post('deposit', '窓口入金', 'counter-deposit:001:000123', [cash, 37], [−1, +1]) and the
staff's real 窓口入金 with that slip later failed (CI005). By commit a journal under a
``counter-deposit:`` key has counter_deposit()'s shape — cash −X, one customer account of
that branch +X (X ≤ 1億円) — and its 取引履歴 row of the same transaction (CI005)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import Account
from accounts.services import counter_deposit
from tests import factories

pytestmark = pytest.mark.django_db

POST = "SELECT * FROM ledger_post(%s, '窓口入金', %s, %s::bigint[], %s::bigint[], %s::text[])"
AUDIT = ("INSERT INTO security_auditevent (contract_id, action, outcome, summary, actor, created_at, customer_id)"
         " VALUES ('', 'counter_deposit', 'success', %s, 'staff01', now(), %s)")


def at_commit(statements) -> str | None:
    """``statements`` and their commit's checks (SET CONSTRAINTS ALL IMMEDIATE), rolled back."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            transaction.set_rollback(True)
    except DatabaseError as error:
        return getattr(error.__cause__, "sqlstate", None)
    return None


def test_a_counter_deposit_key_is_only_a_counter_deposit_with_its_record():
    cash = factories.internal(Account.Purpose.CASH)
    zengin = factories.internal(Account.Purpose.ZENGIN_SETTLEMENT)
    target = factories.account()
    other_branch = factories.account(branch_code="002") if _has_branch("002") else None
    key = "counter-deposit:001:000123"

    def post(kind="deposit", accounts=(cash.id, target.id), amounts=(-1, 1), k=key):
        return (POST, [kind, k, list(accounts), list(amounts), ["x"] * len(accounts)])

    def audit(summary=f"{target.number} 1円 伝票000123", customer=target.customer_id):
        return (AUDIT, [summary, customer])

    assert at_commit([post()]) == "CI005"                        # the probe: no record
    assert at_commit([post(kind="adjustment"), audit()]) == "CI005"
    assert at_commit([post(accounts=(zengin.id, target.id)), audit()]) == "CI005"
    assert at_commit([post(accounts=(cash.id, target.id, target.id), amounts=(-2, 1, 1)), audit()]) == "CI005"
    assert at_commit([post(amounts=(-100_000_001, 100_000_001)),
                      audit(f"{target.number} 100,000,001円 伝票000123")]) == "CI005"
    assert at_commit([post(k="counter-deposit:001:a b"), audit()]) == "CI005"
    assert at_commit([post(), audit(summary=f"{target.number} 1円 伝票999")]) == "CI005"
    if other_branch is not None:
        assert at_commit([post(accounts=(cash.id, other_branch.id)),
                          audit(f"{other_branch.number} 1円 伝票000123", other_branch.customer_id)]) == "CI005"
    assert at_commit([post(), audit()]) is None  # the shape and record counter_deposit writes
    with transaction.atomic():  # the service's own 窓口入金 commits
        journal = counter_deposit(account=target, amount=12_345, reference="000123", actor="staff01")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert journal.created


def _has_branch(code: str) -> bool:
    from accounts.models import Branch

    return Branch.objects.filter(code=code).exists()
