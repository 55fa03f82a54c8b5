"""XFER-5, XFER-6, LEDGER-7 (dbprobe26 F4): a transfer row is one the nightly batch can load
and post. The app's role INSERTed a 予約中 transfer the batch could not handle — (a) route
同一店宛 with no payee account (``transfer_lines`` gave a line with no account: InvalidPosting,
and every run of ``transfers_execute`` died on it), (b) 振込日 44 BC (psycopg cannot load the
date: the claim itself failed, and admin could not show the row).

CHECK constraints (23514, every role, existing rows too):

* ``transfer_route_known``: the route is one of the model's (同一店宛, 当金庫本支店宛, 他行宛);
* ``transfer_credit_account_by_route``: the payee's account at our bank
  (``credit_account_id``) is there exactly when the route is not 他行宛;
* ``transfer_payee_codes_digits``: 金融機関コード 4 digits, 店番 3, 口座番号 7, 科目 one of
  the ledger's (1 普通, 2 当座, 4 貯蓄);
* ``transfer_times_loadable``: 振込日 and 受付日時 (and 実行日時, 取消日時 when set) within
  the years 1900–9999 (no BC date, no infinity).

Insert guard (CI211, replaces ``transfers_transfer_insert_guard`` of 0012, for the app's
role; the owner, a DBA loading records, is not bound, as by 0012):

* the route is the one ``transfer_route`` gives: 他行宛 to another bank's code; otherwise
  our bank's code and the payee's account at our bank (its 店番, 科目 and 口座番号 the
  row's), 同一店宛 when that 店番 is the debit account's, 当金庫本支店宛 when not;
* 受付日時 is now (by the database's clock) at most 5 minutes ahead and at most
  TRANSFERS_SCHEDULE_HORIZON_DAYS (60) days back; 振込日 is not before the booking day
  (受付日時 in Tokyo) and not after the booking horizon, today (database clock,
  Asia/Tokyo) + 60 days. Why not "now" alone: the tests book 予約 for past business days
  with Python's clock moved back (tests/transfers/scheduled_support.py; transactional and
  browser tests commit the payer's account first); no customer can. As for a backdated
  posting (CI013, accounts 0020), a transfer debiting an account opened by this very
  transaction (the tests' own, at any moment they travel to) is not bound by the dates:
  such an account has no money a planted row could move, and the batch makes a transfer
  it cannot post 未処理 (below).

SQL functions/triggers: CREATE OR REPLACE FUNCTION public.transfers_transfer_insert_guard()
(trigger transfers_transfer_insert_guard unchanged). Reverse: 0012's function.
"""

import datetime as dt
import importlib

from django.conf import settings
from django.db import migrations, models

from accounts.reference_data import BANK_CODE

PREVIOUS = importlib.import_module("transfers.migrations.0012_transfer_confirmed_by_its_customer").FORWARD
START = "CREATE FUNCTION public.transfers_transfer_insert_guard()"
PREVIOUS_GUARD = PREVIOUS[PREVIOUS.index(START):PREVIOUS.index("CREATE TRIGGER transfers_transfer_insert_guard")]

ROW_CHECKS = f"""    -- dbprobe26 F4: the route and payee account transfer_route gives, dates the batch can take
    SELECT b.code INTO v_debit_branch FROM public.accounts_account a
      JOIN public.accounts_branch b ON b.id = a.branch_id WHERE a.id = NEW.debit_account_id;
    IF NOT (CASE NEW.route
        WHEN 'other_bank' THEN NEW.bank_code <> '{BANK_CODE}' AND NEW.credit_account_id IS NULL
        WHEN 'same_branch' THEN NEW.branch_code = v_debit_branch
        WHEN 'other_branch' THEN NEW.branch_code <> v_debit_branch
        ELSE false END)
       OR (NEW.route <> 'other_bank' AND NOT (NEW.bank_code = '{BANK_CODE}' AND EXISTS (
            SELECT 1 FROM public.accounts_account c JOIN public.accounts_branch cb ON cb.id = c.branch_id
             WHERE c.id = NEW.credit_account_id AND cb.code = NEW.branch_code
               AND c.type = NEW.account_type AND c.number = NEW.account_number))) THEN
        RAISE EXCEPTION 'transfer: route % does not name its payee account (bank %, branch %)',
            NEW.route, NEW.bank_code, NEW.branch_code USING ERRCODE = 'CI211';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.accounts_accountstatechange h  -- as CI013 (accounts 0020)
                    WHERE h.account_id = NEW.debit_account_id AND h.old_status = ''
                      AND h.xact_id = pg_current_xact_id()::text::bigint AND h.xact_started_at = now())
       AND (NEW.created_at > v_now + interval '5 minutes'
       OR NEW.created_at < v_now - interval '{settings.TRANSFERS_SCHEDULE_HORIZON_DAYS} days'
       OR NEW.transfer_date < (NEW.created_at AT TIME ZONE 'Asia/Tokyo')::date
       OR NEW.transfer_date > (v_now AT TIME ZONE 'Asia/Tokyo')::date + {settings.TRANSFERS_SCHEDULE_HORIZON_DAYS}) THEN
        RAISE EXCEPTION 'transfer: booked at %, dated % (the booking day to the horizon, booked now)',
            NEW.created_at, NEW.transfer_date USING ERRCODE = 'CI211';
    END IF;
"""


def insert_guard(extra: str = "") -> str:
    """0012's insert guard with the checks of this migration (and ``extra``) for the app's role."""
    body = PREVIOUS_GUARD.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    body = body.replace("    s record;\n", "    s record;\n    v_debit_branch text;\n"
                        "    v_now constant timestamptz := clock_timestamp();\n", 1)
    end = body.rindex("    RETURN NEW;\nEND $$;")  # after 0012's checks: a stranger's row is still CI202
    return body[:end] + ROW_CHECKS + extra + body[end:]


FORWARD = insert_guard()
REVERSE = PREVIOUS_GUARD.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)

YEAR_FIRST = dt.date(1900, 1, 1)
YEAR_LAST = dt.date(9999, 12, 31)
TIME_FIRST = dt.datetime(1900, 1, 2, tzinfo=dt.UTC)
TIME_LAST = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)


def _time_loadable(field: str, *, nullable: bool) -> models.Q:
    within = models.Q(**{f"{field}__gte": TIME_FIRST, f"{field}__lte": TIME_LAST})
    return models.Q(**{f"{field}__isnull": True}) | within if nullable else within


class Migration(migrations.Migration):

    dependencies = [("transfers", "0019_bank_max_limit_within_bounds")]

    operations = [
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.CheckConstraint(
                condition=models.Q(route__in=["same_branch", "other_branch", "other_bank"]),
                name="transfer_route_known")),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.CheckConstraint(
                condition=models.Q(route="other_bank", credit_account__isnull=True)
                | models.Q(route__in=["same_branch", "other_branch"], credit_account__isnull=False),
                name="transfer_credit_account_by_route")),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.CheckConstraint(
                condition=models.Q(bank_code__regex=r"^[0-9]{4}$", branch_code__regex=r"^[0-9]{3}$",
                                   account_number__regex=r"^[0-9]{7}$", account_type__in=["1", "2", "4"]),
                name="transfer_payee_codes_digits")),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.CheckConstraint(
                condition=models.Q(transfer_date__gte=YEAR_FIRST, transfer_date__lte=YEAR_LAST)
                & _time_loadable("created_at", nullable=False) & _time_loadable("executed_at", nullable=True)
                & _time_loadable("cancelled_at", nullable=True),
                name="transfer_times_loadable")),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
