"""STAFF-1, LEDGER-7 (outside review dbprobe26 F10): a 窓口入金's key
``counter-deposit:<支店>:<伝票番号>`` could be taken ahead by the app's role —
ledger_post('deposit', '窓口入金', 'counter-deposit:001:000123', [cash, 37], [−1, +1]) — and
the staff's real 窓口入金 with that 伝票 later failed 「別の金額…記帳済み」 (CI005). 0006's
``ledger_service_key_held`` did not know the prefix.

At commit a journal under such a key has the shape ``accounts.services.counter_deposit``
posts, and its record: kind 入金, a key of a branch code and a slip number as the admin
form writes it (``[0-9A-Z-]{1,32}``), exactly two lines — the cash account −X and a
customer account of that branch +X, 0 < X ≤ 100,000,000 (``MAX_COUNTER_DEPOSIT``) — and a
取引履歴 row ``counter_deposit`` of that account's customer naming the slip, written by
the same transaction (``counter_deposit`` writes it after the posting). CI005, as 0006.

Not closable here: a counter deposit has no record of its own beyond that audit row,
which the app's role writes too — it can still post a 1円 窓口入金 under a future slip
number with an audit row naming any staff member. Such a squat is no longer silent: it
stands in 取引履歴 (staff, 窓口入金) and in the customer's statement (docs/architecture.md).
"""

import importlib

from django.db import migrations

held_0006 = importlib.import_module("payeasy.migrations.0006_service_keys_held")

MAX_COUNTER_DEPOSIT = 100_000_000  # accounts.services.MAX_COUNTER_DEPOSIT when this was written

OTHER_KEYS = """    ELSE
        RETURN NULL;
    END IF;"""

COUNTER_DEPOSIT = f"""    ELSIF k LIKE 'counter-deposit:%' THEN
        -- dbprobe26 F10: the posting counter_deposit() makes, and its audit row
        v_ok := NEW.kind = 'deposit' AND k ~ '^counter-deposit:[0-9]{{3}}:[0-9A-Z-]{{1,32}}$'
            AND coalesce((
                SELECT count(*) = 2
                       AND bool_or(a.purpose = 'cash' AND e.amount < 0)
                       AND bool_or(a.purpose = 'customer' AND b.code = split_part(k, ':', 2)
                                   AND e.amount BETWEEN 1 AND {MAX_COUNTER_DEPOSIT}
                                   AND EXISTS (
                                       SELECT 1 FROM public.security_auditevent ev
                                        WHERE ev.action = 'counter_deposit' AND ev.recorded_at >= now()
                                          AND ev.customer_id = a.customer_id
                                          AND ev.summary LIKE a.number || ' %伝票' || split_part(k, ':', 3)
                                          AND public.transfers_row_of_this_xact(ev.xmin)))
                  FROM public.accounts_entry e
                  JOIN public.accounts_account a ON a.id = e.account_id
                  LEFT JOIN public.accounts_branch b ON b.id = a.branch_id
                 WHERE e.journal_id = NEW.id), false);
"""


def guard_0006() -> str:
    return held_0006.FORWARD.split("CREATE CONSTRAINT TRIGGER", 1)[0].replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def guard() -> str:
    source = guard_0006()
    if source.count(OTHER_KEYS) != 1:
        raise RuntimeError("ledger_service_key_held() has no single ELSE for other keys")
    return source.replace(OTHER_KEYS, COUNTER_DEPOSIT + OTHER_KEYS)


class Migration(migrations.Migration):

    dependencies = [
        ("payeasy", "0009_payment_posted_by_commit"),
        ("security", "0012_timestamps_loadable"),
    ]

    operations = [migrations.RunSQL(guard(), guard_0006())]
