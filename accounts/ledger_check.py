"""LEDGER-5: prove the ledger invariants on a live database.

Frozen accounts and holds (LEDGER-7, review H3): the app's role may change an account's
status and hold (staff do, in admin), so the account row alone cannot show that a freeze
held — a compromised web server lifted one, debited and froze the account again in one
transaction, and status_changed_at only moved. The database writes every change of status
and hold into accounts_accountstatechange (trigger ledger_account_state_record, owned by
the owner; the app may only read the table). STATE_HISTORY_CHECK judges every debit
against that history: it must have been allowed by the state in force when it was written,
and a transaction that lifted a freeze or hold, debited and put it back is found too (the
database also refuses such a transaction, CI109, accounts 0021: detection and prevention
both, because the owner can switch a trigger off and auditors want the proof from data).
What it cannot tell: a freeze lifted and committed, then set again by a later transaction
— a real, recorded unfreeze, which staff reconcile with the admin's audit rows
(docs/operations.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

# Each debit entry against the history of its account's status and hold (and, for a
# stripe, of the account it is a stripe of; a hold binds customer accounts only). A state
# forbids the debit when it is frozen or closed, or when the entry's balance after is below
# its hold. "at": the last change before the entry (history rows with a lower
# last_entry_id). When the same transaction changed the account again after the entry
# (its last change there has last_entry_id >= the entry's id), the entry was that
# transaction's own — the account's row stays locked from a change to the end of its
# transaction — and the state it found (old values of its first change) and the state it
# left (new values of its last change) both forbidding the debit means the freeze or hold
# was lifted for this debit and put back: a violation, whatever the state "at" says.
# Only accounts whose history ever shows a freeze, closing or hold are read.
STATE_HISTORY_CHECK = """
WITH debit AS (
    SELECT e.id, e.amount, e.balance_after, g.account_id, g.hold_binds
      FROM accounts_entry e
      JOIN accounts_account a ON a.id = e.account_id
     CROSS JOIN LATERAL (VALUES (a.id, a.purpose = 'customer'), (a.stripe_of_id, false)) AS g(account_id, hold_binds)
     WHERE e.amount < 0
       AND g.account_id IN (SELECT h.account_id FROM accounts_accountstatechange h
                             WHERE h.new_status <> 'open' OR h.new_hold_amount > 0)
), judged AS (
    SELECT d.*, s_at.new_status AS at_status, s_at.new_hold_amount AS at_hold,
           s_first.old_status AS found_status, s_first.old_hold_amount AS found_hold,
           s_last.new_status AS left_status, s_last.new_hold_amount AS left_hold,
           s_last.last_entry_id >= d.id AS inside
      FROM debit d
      JOIN LATERAL (SELECT h.* FROM accounts_accountstatechange h
                     WHERE h.account_id = d.account_id AND h.last_entry_id < d.id
                     ORDER BY h.last_entry_id DESC, h.id DESC LIMIT 1) s_at ON true
      JOIN LATERAL (SELECT h.old_status, h.old_hold_amount FROM accounts_accountstatechange h
                     WHERE h.account_id = d.account_id AND h.xact_id = s_at.xact_id
                       AND h.xact_started_at = s_at.xact_started_at
                     ORDER BY h.id LIMIT 1) s_first ON true
      JOIN LATERAL (SELECT h.new_status, h.new_hold_amount, h.last_entry_id FROM accounts_accountstatechange h
                     WHERE h.account_id = d.account_id AND h.xact_id = s_at.xact_id
                       AND h.xact_started_at = s_at.xact_started_at
                     ORDER BY h.id DESC LIMIT 1) s_last ON true
)
SELECT id, 'debit ' || amount || ' (balance after ' || balance_after || ') of account ' || account_id
           || CASE WHEN at_status IN ('frozen', 'closed') OR (hold_binds AND balance_after < at_hold)
                   THEN ' while ' || at_status || ', hold ' || at_hold
                   ELSE ' in the transaction that lifted ' || found_status || ', hold ' || found_hold
                        || ' and put back ' || left_status || ', hold ' || left_hold END
  FROM judged
 WHERE at_status IN ('frozen', 'closed') OR (hold_binds AND balance_after < at_hold)
    OR (inside
        AND (found_status IN ('frozen', 'closed') OR (hold_binds AND balance_after < coalesce(found_hold, 0)))
        AND (left_status IN ('frozen', 'closed') OR (hold_binds AND balance_after < left_hold)))
"""

# LEDGER-5, LEDGER-7 (probe34 F4): every journal is backed by the business record of its
# kind and key — the app's role can call ledger_post() itself, and a journal of its own
# choosing moves money as well as a service's. A service's key names its record (CI005,
# payeasy 0006/0010, holds the same at the commit; this finds what the owner let through
# with the trigger off, or what came before it): 振込 and 予約振込 their Transfer, Pay-easy
# its Payment, 被仕向 / 資金返却 their interbank rows (the fee is a line of its transfer's
# journal), 窓口入金 the cash-to-customer shape and the staff's 取引履歴 row naming its slip.
# Loaded history is recognised by its key alone: ``load:`` (the owner's loads of old data
# and migrations; the app's role may not post it on a bank's database, CI316, accounts
# 0039) and, on a demo database only (cosei_demo_database(), payeasy 0013), ``demo:`` (the
# demo seed, the tests' fixtures). Anything else is reported with its lines.
JOURNAL_RECORD_CHECK_SQL = """
SELECT u.id, 'kind ' || u.kind || ', key ' || u.idempotency_key || ', ' || l.moved || ' yen: ' || l.legs
  FROM (SELECT j.id, j.kind, j.idempotency_key FROM accounts_journal j
         WHERE NOT coalesce(CASE
{service_records}
            WHEN j.idempotency_key LIKE 'interbank-in:%' THEN j.kind = 'transfer' AND EXISTS (
                SELECT 1 FROM transfers_interbankincomingrecord r
                  JOIN transfers_interbankincomingfile f ON f.id = r.file_id
                 WHERE r.journal_id = j.id AND 'interbank-in:' || f.sha256 || ':' || r.line = j.idempotency_key)
            WHEN j.idempotency_key LIKE 'counter-deposit:%' THEN j.kind = 'deposit' AND (
                SELECT count(*) = 2
                       AND bool_or(a.purpose = 'cash' AND e.amount < 0)
                       AND bool_or(a.purpose = 'customer' AND b.code = split_part(j.idempotency_key, ':', 2)
                                   AND e.amount > 0 AND EXISTS (
                                       SELECT 1 FROM security_auditevent ev
                                        WHERE ev.action = 'counter_deposit' AND ev.outcome = 'success'
                                          AND ev.customer_id = a.customer_id
                                          AND ev.summary LIKE a.number || ' %伝票' || split_part(j.idempotency_key, ':', 3)))
                  FROM accounts_entry e
                  JOIN accounts_account a ON a.id = e.account_id
                  LEFT JOIN accounts_branch b ON b.id = a.branch_id
                 WHERE e.journal_id = j.id)
            WHEN j.idempotency_key LIKE 'load:%' THEN true
            WHEN j.idempotency_key LIKE 'demo:%' THEN public.cosei_demo_database()
            ELSE false END, false)) u
 CROSS JOIN LATERAL (
        SELECT coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0) AS moved,
               -- a stripe's line as its account's (issue 14)
               string_agg('account ' || coalesce(p.id, a.id) || ' (' || coalesce(p.purpose, a.purpose) || ') '
                          || CASE WHEN e.amount > 0 THEN '+' ELSE '' END || e.amount, ', ' ORDER BY e.id) AS legs
          FROM accounts_entry e JOIN accounts_account a ON a.id = e.account_id
          LEFT JOIN accounts_account p ON p.id = a.stripe_of_id
         WHERE e.journal_id = u.id) l
"""

# (key prefix, kind, record table, the record's column after the prefix): the record whose
# journal_id is the journal and whose column completes its key
SERVICE_RECORDS = [
    ("transfer:", "transfer", "transfers_transfer", "stepup_id"),
    ("scheduled-transfer:", "transfer", "transfers_transfer", "id"),
    ("payeasy:", "payeasy", "payeasy_payment", "reference"),
    ("interbank-return:", "transfer", "transfers_interbankreturn", "outgoing_id"),
]
JOURNAL_RECORD_CHECK = JOURNAL_RECORD_CHECK_SQL.format(service_records="\n".join(
    f"""            WHEN j.idempotency_key LIKE '{prefix}%' THEN j.kind = '{kind}' AND EXISTS (
                SELECT 1 FROM {table} r WHERE r.journal_id = j.id AND '{prefix}' || r.{column} = j.idempotency_key)"""
    for prefix, kind, table, column in SERVICE_RECORDS))

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
        # LEDGER-7 (review H3), from the database's own history of status and hold
        # (accounts_accountstatechange, written by trigger only; see the module docstring)
        "no debit was made while its account was frozen or closed or beyond its hold",
        STATE_HISTORY_CHECK,
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
    (
        # probe34 F4 (LEDGER-7): see JOURNAL_RECORD_CHECK
        "every journal is backed by its business record (or is loaded history)",
        JOURNAL_RECORD_CHECK,
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
            # the checks' own % (LIKE patterns) are not parameters
            cursor.execute(f"SELECT * FROM ({sql.replace('%', '%%')}) AS violations LIMIT %s", [limit])
            results.append(CheckResult(name, [(row[0], row[1]) for row in cursor.fetchall()]))
    return results
