"""LEDGER-5: prove the ledger invariants on a live database."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

# (name, SQL returning offending rows as (id, detail)). Each query reads the whole ledger
# once; run it off-peak on a replica of a large bank.
CHECKS = [
    (
        "every journal balances and has at least two entries",
        """
        SELECT j.id, 'sum ' || coalesce(sum(e.amount), 0) || ', ' || count(e.id) || ' entries'
          FROM accounts_journal j LEFT JOIN accounts_entry e ON e.journal_id = j.id
         GROUP BY j.id
        HAVING coalesce(sum(e.amount), 0) <> 0 OR count(e.id) < 2
        """,
    ),
    (
        "cached balance equals the sum of entries",
        """
        SELECT a.id, 'cached ' || a.balance || ', sum ' || coalesce(s.total, 0)
          FROM accounts_account a
          LEFT JOIN (SELECT account_id, sum(amount) AS total FROM accounts_entry GROUP BY account_id) s
            ON s.account_id = a.id
         WHERE a.balance <> coalesce(s.total, 0)
        """,
    ),
    (
        "cached balance equals the last entry's balance after",
        """
        SELECT a.id, 'cached ' || a.balance || ', last balance_after ' || last.balance_after
          FROM accounts_account a
          JOIN LATERAL (SELECT balance_after FROM accounts_entry e
                         WHERE e.account_id = a.id ORDER BY e.posted_at DESC, e.id DESC LIMIT 1) last ON true
         WHERE a.balance <> last.balance_after
        """,
    ),
    (
        "each entry's balance after follows from the one before",
        """
        SELECT id, 'balance_after ' || balance_after || ', expected ' || expected
          FROM (SELECT id, balance_after,
                       sum(amount) OVER (PARTITION BY account_id ORDER BY posted_at, id) AS expected
                  FROM accounts_entry) chained
         WHERE balance_after <> expected
        """,
    ),
    (
        # (That legs are written in the same transaction as their journal is enforced at
        # commit by a trigger; transaction ids do not survive a dump and restore, so it is
        # not re-checked here.)
        "every entry carries its journal's posting time",
        """
        SELECT e.id, 'entry at ' || e.posted_at || ', journal ' || j.id || ' at ' || j.posted_at
          FROM accounts_entry e JOIN accounts_journal j ON j.id = e.journal_id
         WHERE e.posted_at <> j.posted_at
        """,
    ),
    (
        "no entry is dated in the future",
        "SELECT id, 'posted at ' || posted_at FROM accounts_entry WHERE posted_at > clock_timestamp()",
    ),
    (
        "no customer account holds more than its balance",
        "SELECT id, 'balance ' || balance || ', hold ' || hold_amount FROM accounts_account"
        " WHERE purpose = 'customer' AND balance < hold_amount",
    ),
    (
        # status_changed_at is kept by the database (ledger_account_guard) alone; one
        # index range per frozen account
        "no frozen account was debited since it was frozen",
        """
        SELECT e.id, 'debit ' || e.amount || ' on frozen account ' || a.id || ' at ' || e.posted_at
          FROM accounts_account a
          JOIN accounts_entry e ON e.account_id = a.id AND e.posted_at >= a.status_changed_at
         WHERE a.status = 'frozen' AND e.amount < 0
        """,
    ),
    (
        # ledger_post() stripes only these two (issue 14, reference_data.STRIPES); a stripe
        # row pointing at any other account is ignored by it, and staff should see it
        "every stripe belongs to the fee income or the Pay-easy collection account",
        """
        SELECT s.id, 'stripe of ' || p.purpose || ' account ' || p.id
          FROM accounts_account s JOIN accounts_account p ON p.id = s.stripe_of_id
         WHERE p.purpose NOT IN ('fee_income', 'payeasy_collection')
        """,
    ),
    (
        "no stripe of a frozen account was debited since the account was frozen",
        """
        SELECT e.id, 'debit ' || e.amount || ' on stripe ' || s.id || ' of frozen account ' || p.id
          FROM accounts_account p
          JOIN accounts_account s ON s.stripe_of_id = p.id
          JOIN accounts_entry e ON e.account_id = s.id AND e.posted_at >= p.status_changed_at
         WHERE p.status = 'frozen' AND e.amount < 0
        """,
    ),
    (
        "no closed account has a stripe that still holds money",
        """
        SELECT s.id, 'stripe of closed account ' || p.id || ' holds ' || s.balance
          FROM accounts_account p JOIN accounts_account s ON s.stripe_of_id = p.id
         WHERE p.status = 'closed' AND s.balance <> 0
        """,
    ),
    (
        "no customer account is below zero",
        "SELECT id, 'balance ' || balance FROM accounts_account"
        " WHERE purpose = 'customer' AND balance < 0",
    ),
]


@dataclass
class CheckResult:
    name: str
    violations: list[tuple[int, str]]

    @property
    def ok(self) -> bool:
        return not self.violations


def ledger_check(*, limit: int = 20) -> list[CheckResult]:
    results = []
    with connection.cursor() as cursor:
        for name, sql in CHECKS:
            cursor.execute(f"SELECT * FROM ({sql}) AS violations LIMIT %s", [limit])
            results.append(CheckResult(name, [(row[0], row[1]) for row in cursor.fetchall()]))
    return results
