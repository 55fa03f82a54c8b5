"""PAY-1, LEDGER-7 (dbprobe25 F3): a payment's journal is exactly its posting — 0004 asked
only for the debit of the お支払口座 by the amount, so a journal under the payment's key
that also took 100,000円 more from the customer and credited another customer was
accepted as the 48,000円 payment's. Its whole shape is now what ``payeasy_pay`` posts:
the お支払口座 −amount, the Pay-easy collection account (a stripe counts as it) +amount,
nothing else (``transfers_journal_moves``, transfers 0015). CI205, as 0004."""

import importlib

from django.db import migrations

held_0004 = importlib.import_module("payeasy.migrations.0004_payment_journal_held")

# 0004's guard with the debit line's EXISTS replaced by the whole journal's shape
CHECK_0004 = """    ELSIF NEW.journal_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM public.accounts_journal j JOIN public.accounts_entry e ON e.journal_id = j.id
             WHERE j.id = NEW.journal_id AND j.idempotency_key = 'payeasy:' || NEW.reference
               AND e.account_id = NEW.account_id AND e.amount = -NEW.amount) THEN"""

CHECK = """    ELSIF NEW.journal_id IS NOT NULL AND NOT (
            EXISTS (SELECT 1 FROM public.accounts_journal j
                     WHERE j.id = NEW.journal_id AND j.idempotency_key = 'payeasy:' || NEW.reference)
            AND public.transfers_journal_moves(NEW.journal_id,
                ARRAY[NEW.account_id,
                      (SELECT a.id FROM public.accounts_account a WHERE a.purpose = 'payeasy_collection')],
                ARRAY[-NEW.amount, NEW.amount])) THEN"""


def guard_0004() -> str:
    """0004's function alone (its trigger stays), to restore it."""
    return held_0004.FORWARD.split("CREATE TRIGGER", 1)[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def guard() -> str:
    assert CHECK_0004 in guard_0004()
    return guard_0004().replace(CHECK_0004, CHECK)


class Migration(migrations.Migration):

    dependencies = [
        ("payeasy", "0006_service_keys_held"),
        ("transfers", "0015_transfer_journal_whole"),
    ]

    operations = [migrations.RunSQL(guard(), guard_0004())]
