"""LEDGER-7 (outside review dbprobe25 F7): ledger_post()'s posting-date floor (CI013,
accounts 0020) let the app's role backdate onto the bank's OWN accounts — the cash account,
a stripe of the fee income — whenever the posting also held a customer account opened in
the same transaction (a new account of an existing customer did): the days of those
accounts whose books were closed gained entries.

Why the exception exists: the demo history (accounts/demo.py, seed_demo, run as the app's
role), the tests (tests/factories.py's deposits dated back) and bench/pages.py post months
of history onto customer accounts they open in the same transaction, against the cash
account, 為替決済 and the fee income — on a database where those have no entry yet (a fresh
development database; a test's own transaction; tests that fund several payers do it in
one transaction), or against a counter account of the bench's own without entries (CI101
already keeps every account's entries in time order); bench/pages.py now posts its history
as the owner, who loads old data.

The narrowest rule that still serves them: besides every customer account of the posting
being opened by its transaction (as before), every other account of it has no entry from
before this transaction, nor has any account of its family — the fee income or the
Pay-easy collection account and all its stripes, whichever of them the line names (the
bank's figure for the account is theirs together; an unused stripe named directly was the
other way into the fee income's closed days): the first entry's journal (if any) of each
was written after the transaction began (journal.created_at ≥ now()). Entries on an account
are in time order (CI101) and are written under its row lock, so its first entry tells.
An internal account anyone has posted to before — every one of a bank in service, the
demo's after its first day — is never backdated by the app's role. The owner (a DBA
loading old data) is not bound by it, as before.

The look-ups of the rule ran for every posting of the app's role (a NULL posted_at — "now"
— did not end the AND): the condition now starts with p_posted_at IS NOT NULL."""

import importlib

from django.db import migrations

ledger_0020 = importlib.import_module("accounts.migrations.0020_ledger_post_bank_day_floor")

# 0020's floor, with a NULL posted_at (now) ending the AND at once, and the bank's own accounts
FLOOR_START = """    IF p_posted_at < ("""
FLOOR_START_NOT_NULL = """    IF p_posted_at IS NOT NULL  -- NULL is now: an ordinary posting skips the look-ups below
       AND p_posted_at < ("""
FLOOR_END = """                                             AND h.xact_started_at = now()))) THEN
        -- customers have seen the statements before today (review M4); accounts opened by
        -- this very transaction (the demo history, tests) have none yet
"""
FLOOR_END_INTERNAL = """                                             AND h.xact_started_at = now()))
            -- dbprobe25 F7: nor onto one of the bank's own accounts when it, or any stripe of
            -- it (for a stripe: its account and the other stripes), has an entry from before
            -- this transaction
            OR EXISTS (SELECT 1 FROM public.accounts_account a
                         JOIN public.accounts_account x
                           ON x.id = coalesce(a.stripe_of_id, a.id) OR x.stripe_of_id = coalesce(a.stripe_of_id, a.id)
                         CROSS JOIN LATERAL (SELECT e.journal_id FROM public.accounts_entry e
                                              WHERE e.account_id = x.id
                                              ORDER BY e.posted_at, e.id LIMIT 1) AS f
                         JOIN public.accounts_journal j ON j.id = f.journal_id
                        WHERE a.id = ANY (p_accounts) AND a.purpose <> 'customer'
                          AND j.created_at < now())) THEN
        -- customers have seen the statements before today (review M4), and the bank's books
        -- of its own accounts (F7); accounts opened by this very transaction (the demo
        -- history, tests) and internal ones nobody has posted to (a fresh database) have none
"""


def bank_day_floor() -> str:
    floor = ledger_0020.BANK_DAY_FLOOR
    for block in (FLOOR_START, FLOOR_END):
        if floor.count(block) != 1:
            raise RuntimeError(f"0020's bank-day floor has no single block:\n{block}")
    return floor.replace(FLOOR_START, FLOOR_START_NOT_NULL).replace(FLOOR_END, FLOOR_END_INTERNAL)


def ledger_post_with_internal_floor() -> str:
    source = ledger_0020.ledger_post_with_bank_day_floor()
    if source.count(ledger_0020.BANK_DAY_FLOOR) != 1:
        raise RuntimeError("ledger_post() has no single bank-day floor to replace")
    return source.replace(ledger_0020.BANK_DAY_FLOOR, bank_day_floor())


class Migration(migrations.Migration):
    dependencies = [("accounts", "0025_internal_account_state_owner_only")]

    operations = [
        migrations.RunSQL(sql=ledger_post_with_internal_floor(),
                          reverse_sql=ledger_0020.ledger_post_with_bank_day_floor()),
    ]
