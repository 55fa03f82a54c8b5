"""LEDGER-7, LEDGER-1 (outside review dbprobe26 F9, accounts 0032): the 10^12 cap of CI015 is
per line — one ledger_post() of 200,000 lines moved 10^17 yen onto 為替決済 in 9.5 s, and
~92 calls reach bigint's end (22003 on every later posting). A call has at most 2,000
lines and moves no account by more than 10^12 yen net (CI016); no balance leaves ±10^15
(CHECK account_balance_bounded) — as the app's role."""

from __future__ import annotations

import pytest

from accounts import errors
from accounts.models import Account, Journal
from accounts.services import PostingLine, journal_post
from tests import factories
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db

POST = "SELECT * FROM ledger_post('adjustment', 'probe', %s, %s::bigint[], %s::bigint[], %s::text[])"


def internal():
    return (factories.internal(Account.Purpose.ZENGIN_SETTLEMENT), factories.internal(Account.Purpose.CASH))


def test_the_probes_call_of_200000_lines_is_refused():
    zengin, cash = internal()
    n = 200_000
    accounts = [zengin.id if g % 2 == 0 else cash.id for g in range(1, n + 1)]
    amounts = [10**12 if g % 2 == 0 else -(10**12) for g in range(1, n + 1)]
    assert refused(POST, ["probe26-f9", accounts, amounts, ["x"] * n]) == "CI016"
    zengin.refresh_from_db()
    assert zengin.balance == 0


def test_a_call_moves_an_account_by_at_most_a_trillion_net_and_has_at_most_2000_lines():
    zengin, cash = internal()
    assert refused(POST, ["f9-net", [zengin.id, zengin.id, cash.id, cash.id], [10**12, 1, -(10**12), -1],
                          ["x"] * 4]) == "CI016"
    assert refused(POST, ["f9-lines", [zengin.id, cash.id] * 1001, [1, -1] * 1001, ["x"] * 2002]) == "CI016"
    with pytest.raises(errors.InvalidPosting) as caught:
        journal_post(lines=[PostingLine(zengin, 10**12), PostingLine(zengin, 1),
                            PostingLine(cash, -(10**12)), PostingLine(cash, -1)],
                     kind=Journal.Kind.ADJUSTMENT, description="x", idempotency_key="f9-service")
    assert str(caught.value).startswith("CI016")
    # 2,000 lines, and a net of exactly 10^12 each way, still post
    journal_post(lines=[PostingLine(zengin, 1), PostingLine(cash, -1)] * 1000,
                 kind=Journal.Kind.ADJUSTMENT, description="x", idempotency_key="f9-2000")
    journal_post(lines=[PostingLine(zengin, 10**12), PostingLine(cash, -(10**12))],
                 kind=Journal.Kind.ADJUSTMENT, description="x", idempotency_key="f9-trillion")


def test_the_benchmarks_funding_call_still_posts():
    """bench/ledger_pgbench.py funds 1,000 accounts a call: cash −10^12, 1,000 lines of 10^9."""
    _zengin, cash = internal()
    targets = [factories.account() for _ in range(4)]
    journal_post(lines=[PostingLine(cash, -(10**12))] + [PostingLine(targets[i % 4], 10**9) for i in range(1000)],
                 kind=Journal.Kind.DEPOSIT, description="bench funding", idempotency_key="f9-bench")
    targets[0].refresh_from_db()
    assert targets[0].balance == 250 * 10**9


def test_no_balance_leaves_a_thousand_trillion_yen():
    zengin, cash = internal()
    for n in range(1000):
        journal_post(lines=[PostingLine(zengin, 10**12), PostingLine(cash, -(10**12))],
                     kind=Journal.Kind.ADJUSTMENT, description="x", idempotency_key=f"f9-fill-{n}")
    assert refused(POST, ["f9-over", [zengin.id, cash.id], [1, -1], ["x", "x"]]) == "23514"
    with pytest.raises(errors.LedgerIntegrityError):  # not 「お支払可能額が不足」
        journal_post(lines=[PostingLine(zengin, 1), PostingLine(cash, -1)],
                     kind=Journal.Kind.ADJUSTMENT, description="x", idempotency_key="f9-over-service")
    zengin.refresh_from_db()
    assert zengin.balance == 10**15
    journal_post(lines=[PostingLine(zengin, -1), PostingLine(cash, 1)],  # back from the edge: fine
                 kind=Journal.Kind.ADJUSTMENT, description="x", idempotency_key="f9-back")
