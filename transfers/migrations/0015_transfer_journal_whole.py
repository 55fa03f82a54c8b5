"""XFER-1, XFER-5, LEDGER-7 (dbprobe25 F3): a 振込済 transfer's journal is exactly its
posting — 0009 asked only for the principal's debit line, so a journal under the
transfer's key with lines [-12,000 and -50,000 from the customer, +62,000 to another
customer] was accepted as the 12,000円 transfer's: the customer debited more than they
confirmed, the money credited to someone else, every record still looking right.

The journal's whole shape — each line's account (a stripe counts as its parent, as
ledger_post chooses one) and amount, as a multiset — is now what ``transfer_lines``
(transfers.services) posts: the 引落口座 −amount, and −fee as its own line unless 先方負担;
the payee's account at our bank, or 為替決済 for another bank, +amount (−fee when
先方負担); fee income +fee. Lines of 0 are none. ``transfers_journal_moves`` is also
payeasy 0007's. CI202, as 0009.
"""

import importlib

from django.db import migrations

held_0009 = importlib.import_module("transfers.migrations.0009_transfer_journal_held")

MOVES = """
CREATE FUNCTION public.transfers_journal_moves(p_journal bigint, p_accounts bigint[], p_amounts bigint[])
RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
    -- the journal's lines are exactly (p_accounts[i], p_amounts[i]) for the non-zero amounts
    SELECT coalesce(
        (SELECT array_agg(ARRAY[coalesce(a.stripe_of_id, a.id), e.amount]
                          ORDER BY coalesce(a.stripe_of_id, a.id), e.amount)
           FROM public.accounts_entry e JOIN public.accounts_account a ON a.id = e.account_id
          WHERE e.journal_id = p_journal)
        = (SELECT array_agg(ARRAY[x.account, x.amount] ORDER BY x.account, x.amount)
             FROM unnest(p_accounts, p_amounts) AS x(account, amount) WHERE x.amount <> 0), false)
$$;
"""

# 0009's guard with the debit line's EXISTS replaced by the whole journal's shape
CHECK_0009 = """    IF NEW.status = 'executed' AND NOT EXISTS (
            SELECT 1 FROM public.accounts_journal j JOIN public.accounts_entry e ON e.journal_id = j.id
             WHERE j.id = NEW.journal_id AND j.idempotency_key = v_key
               AND e.account_id = NEW.debit_account_id AND e.amount = -NEW.amount) THEN"""

CHECK = """    IF NEW.status = 'executed' AND NOT (
            EXISTS (SELECT 1 FROM public.accounts_journal j WHERE j.id = NEW.journal_id AND j.idempotency_key = v_key)
            AND public.transfers_journal_moves(NEW.journal_id,
                ARRAY[NEW.debit_account_id, NEW.debit_account_id,
                      CASE WHEN NEW.route = 'other_bank'
                           THEN (SELECT a.id FROM public.accounts_account a WHERE a.purpose = 'zengin_settlement')
                           ELSE NEW.credit_account_id END,
                      (SELECT a.id FROM public.accounts_account a WHERE a.purpose = 'fee_income')],
                ARRAY[-NEW.amount, CASE WHEN NEW.fee_borne_by_payee THEN 0 ELSE -NEW.fee END,
                      CASE WHEN NEW.fee_borne_by_payee THEN NEW.amount - NEW.fee ELSE NEW.amount END,
                      NEW.fee])) THEN"""


def guard_0009() -> str:
    """0009's function alone (its trigger stays), to restore it."""
    body = held_0009.FORWARD.split("CREATE TRIGGER", 1)[0]
    return body.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def guard() -> str:
    assert CHECK_0009 in guard_0009()
    return guard_0009().replace(CHECK_0009, CHECK)


class Migration(migrations.Migration):

    dependencies = [("transfers", "0014_unprocessed_posting_refused")]

    operations = [
        migrations.RunSQL(MOVES, "DROP FUNCTION IF EXISTS public.transfers_journal_moves(bigint, bigint[], bigint[]);"),
        migrations.RunSQL(guard(), guard_0009()),
    ]
