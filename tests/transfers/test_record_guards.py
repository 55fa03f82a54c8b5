"""XFER-1, XFER-4, XFER-5/6, LEDGER-7: the outside review's rewrites of a confirmed transfer
and of the fee table, repeated as the app's own database role (the role every test connects
as): the database refuses each (transfers 0007), and every step the services take still
passes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cosei_ib import bankcalendar
from tests import factories
from tests.accounts.test_ledger_lockdown import refused
from tests.transfers.scheduled_support import funded_payer, past_business_day, schedule, told_as_the_batch
from tests.transfers.support import content_for, execute, other_bank_payee, payer, registered_payee
from transfers import scheduled, services
from transfers.models import FeeSchedule, Payee, Transfer

pytestmark = pytest.mark.django_db

CONTENT, STATE, FEE_ROW = "CI201", "CI202", "CI203"


@pytest.fixture(autouse=True)
def as_the_app_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == settings.DATABASES["default"]["USER"]
    assert settings.DATABASES["default"]["USER"] != settings.DATABASES["owner"]["USER"]


@pytest.fixture
def executed():
    customer, debit = payer()
    return execute(customer, content_for(customer, debit, other_bank_payee(), 10_000))


def future_day() -> dt.date:
    return bankcalendar.next_business_day(bankcalendar.next_business_day(timezone.localdate()))


@pytest.mark.parametrize("assignment", [
    "amount = 1", "fee = 0", "fee_borne_by_payee = NOT fee_borne_by_payee", "account_number = '7654321'",
    "holder_kana = 'ｱﾀｯｸ'", "bank_code = '0001'", "transfer_date = transfer_date - 1",
    "created_at = created_at - interval '1 day'", "sender_name = 'x'", "stepup_id = gen_random_uuid()",
    "debit_account_id = credit_account_id", "customer_id = customer_id + 1", "route = 'same_branch'",
    "fee_schedule_id = fee_schedule_id + 1",
])
def test_the_confirmed_content_of_a_transfer_is_never_rewritten(executed, assignment):
    assert refused(f"UPDATE transfers_transfer SET {assignment} WHERE id = %s", [executed.pk]) == CONTENT
    assert Transfer.objects.get(pk=executed.pk).amount == 10_000


def test_a_transfer_is_never_deleted(executed):
    assert refused("DELETE FROM transfers_transfer WHERE id = %s", [executed.pk]) == CONTENT
    assert Transfer.objects.filter(pk=executed.pk).exists()


@pytest.mark.parametrize("assignment", [
    "status = 'scheduled', journal_id = NULL, executed_at = NULL",
    "status = 'cancelled', journal_id = NULL, executed_at = NULL, cancelled_at = now()",
    "executed_at = executed_at - interval '1 day'",
    "unprocessed_reason = 'insufficient_funds'",
])
def test_an_executed_transfer_keeps_its_result(executed, assignment):
    assert refused(f"UPDATE transfers_transfer SET {assignment} WHERE id = %s", [executed.pk]) == STATE


@pytest.mark.parametrize("assignment", [
    "status = 'executed', executed_at = now()",                   # no journal: money never moved
    "status = 'unprocessed', executed_at = now()",                # no reason
    "status = 'cancelled'",                                       # no time
    "status = 'unprocessed', unprocessed_reason = 'over_limit', executed_at = now(), cancelled_at = now()",
    "status = 'bogus'",
    "executed_at = now()",                                        # a result without its step
])
def test_a_scheduled_transfer_moves_only_along_the_state_machine(assignment):
    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=future_day())
    assert refused(f"UPDATE transfers_transfer SET {assignment} WHERE id = %s", [booked.pk]) == STATE
    booked.refresh_from_db()
    assert (booked.status, booked.executed_at) == (Transfer.Status.SCHEDULED, None)


def test_a_cancelled_transfer_is_never_revived():
    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=future_day())
    scheduled.scheduled_transfer_cancel(customer=customer, transfer_id=booked.pk)
    assert refused("UPDATE transfers_transfer SET status = 'scheduled', cancelled_at = NULL WHERE id = %s",
                   [booked.pk]) == STATE


def test_the_payee_link_is_only_the_customers_own_payee_of_that_account(executed):
    stranger, _ = payer(email="stranger@example.jp")
    theirs = registered_payee(stranger, bank_code="0161", bank_name="池田泉州銀行", branch_code="002",
                              branch_name="貝塚", account_type="1", account_number="0012345", holder_kana="ﾀﾅｶ ﾊﾅｺ")
    other_account = registered_payee(executed.customer, bank_code="0161", bank_name="池田泉州銀行",
                                     branch_code="002", branch_name="貝塚", account_type="1",
                                     account_number="0099999", holder_kana="ﾍﾞﾂ")
    for payee in (theirs, other_account):
        assert refused("UPDATE transfers_transfer SET payee_id = %s WHERE id = %s",
                       [payee.pk, executed.pk]) == CONTENT


def test_a_transfer_records_only_its_own_posting(executed):
    """XFER-1, XFER-5, LEDGER-7 (transfers 0009): the app's role inserted a transfer already
    振込済 with another customer's incoming credit as its journal, backdated, or already
    取消済, and 予約中 → 振込済 took any journal. A transfer is born 予約中 or 振込済, and a
    振込済 one's journal is posted under its key, debiting its 引落口座 by its amount."""
    customer, account = payer(email="booker@example.jp")
    booked = schedule(customer, account, 10_000, day=future_day())
    stranger, stranger_account = payer(email="stranger@example.jp")  # its deposit: someone else's credit
    foreign = stranger_account.entries.latest("id").journal_id
    assert refused("UPDATE transfers_transfer SET status = 'executed', journal_id = %s, executed_at = now()"
                   " WHERE id = %s", [foreign, booked.pk]) == STATE
    assert refused("UPDATE transfers_transfer SET status = 'executed', journal_id = %s, executed_at = now()"
                   " WHERE id = %s", [executed.journal_id, booked.pk]) == STATE  # another transfer's posting
    columns = [field.column for field in Transfer._meta.concrete_fields if field.column != "id"]
    copy = (f"INSERT INTO transfers_transfer ({', '.join(columns)}) SELECT "
            + ", ".join({"stepup_id": "gen_random_uuid()", "status": "%s", "journal_id": "%s",
                         "executed_at": "%s", "cancelled_at": "%s",
                         "created_at": "created_at - interval '5 days'"}.get(column, column) for column in columns)
            + " FROM transfers_transfer WHERE id = %s")
    for status, journal, executed_at, cancelled_at in (
            ("executed", foreign, timezone.now(), None),              # any journal
            ("executed", executed.journal_id, timezone.now(), None),  # its key is transfer:<its own 確認ID>
            ("cancelled", None, None, timezone.now()), ("unprocessed", None, timezone.now(), None)):
        assert refused(copy, [status, journal, executed_at, cancelled_at, executed.pk]) == STATE, status
    assert Transfer.objects.count() == 2


def test_every_step_of_the_services_still_passes():
    """Same-day 振込, 振込先登録 and its deletion (the link cleared), 予約 → 取消 by the
    customer and by staff, 予約 → 振込済 and → 未処理 by the batch (first: it posts backdated)."""
    day = past_business_day()
    rich, rich_account = funded_payer(50_000, day=day, email="rich@example.jp")
    poor, poor_account = funded_payer(1_000, day=day, email="poor@example.jp")
    paid = schedule(rich, rich_account, 10_000, day=day)
    short = schedule(poor, poor_account, 10_000, day=day)
    result = scheduled.transfers_execute_due(day=day)
    assert (result.executed, result.unprocessed) == (1, 1)

    customer, debit = payer()
    done = execute(customer, content_for(customer, debit, other_bank_payee(), 10_000))
    payee = services.payee_register(customer=customer, transfer=done)
    assert Transfer.objects.get(pk=done.pk).payee_id == payee.pk
    services.payee_delete(customer=customer, payee=payee)
    assert Transfer.objects.get(pk=done.pk).payee_id is None

    later = future_day()
    cancelled = schedule(customer, debit, 1_000, day=later)
    staff_cancelled = schedule(customer, debit, 2_000, day=later, hour=11)
    scheduled.scheduled_transfer_cancel(customer=customer, transfer_id=cancelled.pk)
    scheduled.scheduled_transfer_staff_cancel(transfer_id=staff_cancelled.pk, reason="お申し出", actor="staff-t")
    states = dict(Transfer.objects.values_list("pk", "status"))
    assert (states[cancelled.pk], states[staff_cancelled.pk], states[paid.pk], states[short.pk]) == (
        "cancelled", "cancelled", "executed", "unprocessed")
    with connection.cursor() as cursor:  # the commit's checks (payeasy 0006: each key its record's)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


# --- 振込手数料 (XFER-4) ----------------------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE transfers_feeschedule SET other_bank_under = 1 WHERE id = %s",
    "UPDATE transfers_feeschedule SET effective_from = '2999-01-01' WHERE id = %s",
    "DELETE FROM transfers_feeschedule WHERE id = %s",
])
def test_a_fee_row_in_force_is_never_changed_or_deleted(statement):
    in_force = FeeSchedule.objects.get(effective_from=dt.date(2000, 1, 1))
    assert refused(statement, [in_force.pk]) == FEE_ROW
    assert FeeSchedule.objects.get(pk=in_force.pk).other_bank_under == 330


def test_a_future_fee_row_a_booking_was_confirmed_under_keeps_its_day_and_stays():
    """Its fees may be corrected until it is in force (dbprobe28 F4, transfers 0033: the
    batch charges the lower fee), never its date nor the row removed."""
    day = future_day()
    row = FeeSchedule.objects.create(effective_from=day, other_bank_under=330)
    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=day)
    assert booked.fee_schedule_id == row.pk
    assert refused("UPDATE transfers_feeschedule SET effective_from = effective_from + 1 WHERE id = %s",
                   [row.pk]) == FEE_ROW
    assert refused("DELETE FROM transfers_feeschedule WHERE id = %s", [row.pk]) == FEE_ROW
    FeeSchedule.objects.filter(pk=row.pk).update(other_bank_under=220)
    assert FeeSchedule.objects.get(pk=row.pk).other_bank_under == 220


def test_a_future_fee_row_nobody_used_stays_editable_but_is_not_dated_back():
    day = future_day()
    row = FeeSchedule.objects.create(effective_from=day, other_bank_under=330)
    FeeSchedule.objects.filter(pk=row.pk).update(other_bank_under=440)
    assert FeeSchedule.objects.get(pk=row.pk).other_bank_under == 440
    assert refused("UPDATE transfers_feeschedule SET effective_from = %s WHERE id = %s",
                   [timezone.localdate() - dt.timedelta(days=1), row.pk]) == FEE_ROW
    FeeSchedule.objects.filter(pk=row.pk).delete()
    assert not FeeSchedule.objects.filter(pk=row.pk).exists()


def test_a_new_fee_row_is_not_dated_back():
    """XFER-4 (review, M2): a row inserted with 適用開始日 yesterday became the fee in force
    (330 → 5,000円) — the UPDATE/DELETE guard did not look at an INSERT; transfers 0008,
    CI203. Since transfers 0025 (dbprobe27 F4) the app's role — the admin's form too — adds a
    row from tomorrow: a row of today changed today's fees at once."""
    today = timezone.localdate()
    statement = ("INSERT INTO transfers_feeschedule (effective_from, threshold, same_branch_under, same_branch_over,"
                 " other_branch_under, other_branch_over, other_bank_under, other_bank_over, created_at)"
                 " VALUES (%s, 30000, 5000, 5000, 5000, 5000, 5000, 5000, now())")
    for day in (today, today - dt.timedelta(days=1), dt.date(2001, 1, 1)):
        assert refused(statement, [day]) == FEE_ROW
    assert services.fee_schedule_on(today).other_bank_under == 330
    FeeSchedule.objects.create(effective_from=today + dt.timedelta(days=1), other_bank_under=440)
    FeeSchedule.objects.create(effective_from=future_day() + dt.timedelta(days=1), other_bank_under=550)
    assert services.fee_schedule_on(today).other_bank_under == 330
    assert services.fee_schedule_on(today + dt.timedelta(days=1)).other_bank_under == 440


FEE_GUARDS = ("transfers_feeschedule_guard", "transfers_feeschedule_insert_guard")


def test_the_fee_guards_take_the_bank_day_from_the_clock_in_tokyo():
    """XFER-4, LEDGER-7 (dbprobe25 F15, transfers 0020): a transaction held open across
    midnight in Tokyo saw yesterday in the fee guards (``now()`` is the transaction's start)
    and could change the row in force since 0:00. The guards read ``transfers_bank_day()``,
    the wall clock in Asia/Tokyo — the day the admin's form takes (``timezone.localdate()``).
    The database's clock cannot be moved in a test, so the guards' text is read from the
    catalogue: no transaction-start time in them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.transfers_bank_day(), provolatile FROM pg_proc"
                       " WHERE proname = 'transfers_bank_day'")
        day, volatility = cursor.fetchone()
        assert (day, volatility) == (timezone.localdate(), "v")  # volatile: read each time, never cached
        cursor.execute("SELECT proname, lower(prosrc) FROM pg_proc WHERE proname = ANY(%s)", [list(FEE_GUARDS)])
        guards = dict(cursor.fetchall())
    assert sorted(guards) == sorted(FEE_GUARDS)
    for name, source in guards.items():
        assert "transfers_bank_day()" in source, name
        for transaction_time in ("now()", "current_date", "current_timestamp", "transaction_timestamp",
                                 "localtimestamp", "statement_timestamp"):
            assert transaction_time not in source, (name, transaction_time)


# --- the row's root: whose account, and the customer's confirmation (dbprobe25 F10) ----------


def _copy_of(booked: Transfer, **overrides) -> tuple[str, list]:
    """INSERT a copy of ``booked`` with ``overrides`` (column → SQL value with %s params)."""
    columns = [field.column for field in Transfer._meta.concrete_fields if field.column != "id"]
    chosen = {"stepup_id": ("gen_random_uuid()", [])} | overrides
    values, params = [], []
    for column in columns:
        sql, extra = chosen.get(column, (column, []))
        values.append(sql)
        params.extend(extra)
    return (f"INSERT INTO transfers_transfer ({', '.join(columns)}) SELECT {', '.join(values)}"
            " FROM transfers_transfer WHERE id = %s", [*params, booked.pk])


def _stepup_for(customer, booked: Transfer, *, used: bool = True, kind: str = "transfer", **changes):
    """A step-up of ``customer`` confirming ``booked``'s content (with ``changes``)."""
    from security.models import StepUp
    from security.stepup import stepup_begin

    content = {"operation": "transfer", "debit_account_id": booked.debit_account_id, "route": booked.route,
               "bank_code": booked.bank_code, "bank_name": booked.bank_name, "branch_code": booked.branch_code,
               "branch_name": booked.branch_name, "account_type": booked.account_type,
               "account_number": booked.account_number, "holder_kana": booked.holder_kana,
               "credit_account_id": booked.credit_account_id, "payee_id": None, "amount": booked.amount,
               "fee": booked.fee, "fee_schedule_id": booked.fee_schedule_id,
               "fee_borne_by_payee": booked.fee_borne_by_payee, "sender_name": booked.sender_name,
               "transfer_date": booked.transfer_date.isoformat()} | changes
    stepup = stepup_begin(customer=customer, kind=kind, content=content)
    if used:
        StepUp.objects.filter(pk=stepup.pk).update(verified_at=timezone.now(), used_at=timezone.now())
    return stepup


def test_a_transfer_row_debits_only_its_own_customers_account():
    """XFER-1, XFER-5, SEC-14, LEDGER-7 (dbprobe25 F10, transfers 0012): the app's role
    INSERTed a 予約中 transfer of customer 1 debiting customer 2's account, with a random
    確認ID; the real batch paid it out to another bank. The 引落口座 is an open account of the
    row's customer (CI202), and nothing moves."""
    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=future_day())
    stranger, stranger_account = payer(email="stranger@example.jp")
    for debit in (stranger_account.pk, factories.internal("zengin_settlement").pk):
        sql, params = _copy_of(booked, debit_account_id=("%s", [debit]))
        assert refused(sql, params) == STATE
    # the reviewer's statement, as written (customer 1, customer 2's account, a random 確認ID)
    assert refused(
        "INSERT INTO transfers_transfer (bank_code, bank_name, branch_code, branch_name, account_type, account_number,"
        " holder_kana, route, amount, fee, fee_borne_by_payee, sender_name, transfer_date, status, stepup_id,"
        " created_at, customer_id, debit_account_id, fee_schedule_id, unprocessed_reason)"
        " VALUES ('0161', '池田泉州銀行', '002', '貝塚', '1', '7654321', 'ﾜﾙｲﾋﾄ', 'other_bank', 500000, 330, false,"
        " 'ﾔﾏﾀﾞ ﾀﾛｳ', %s, 'scheduled', gen_random_uuid(), '2026-12-06 00:00+00', %s, %s, %s, '')",
        [future_day(), customer.pk, stranger_account.pk, booked.fee_schedule_id]) == STATE
    assert Transfer.objects.count() == 1


def test_a_transfer_row_needs_a_step_up_of_its_customer_confirming_it_used_with_it():
    """(dbprobe25 F10) With the customer's own account, a row still needs its confirmation:
    a step-up of that customer, kind 振込, verified and used by this transaction, whose
    content is the row (CI202). A 確認ID names one transfer (UNIQUE)."""
    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=future_day())
    stranger, _ = payer(email="stranger@example.jp")
    for stepup in (None,                                                      # a random 確認ID
                   _stepup_for(stranger, booked),                             # another customer's
                   _stepup_for(customer, booked, used=False),                 # not used
                   _stepup_for(customer, booked, kind="limit_change"),        # another operation
                   _stepup_for(customer, booked, amount=9_999),               # another amount
                   _stepup_for(customer, booked, account_number="7654321"),   # another payee
                   _stepup_for(customer, booked, transfer_date="2099-01-05")):
        sql, params = _copy_of(booked, **({} if stepup is None else {"stepup_id": ("%s", [stepup.pk])}))
        assert refused(sql, params) == STATE, stepup and stepup.content
    sql, params = _copy_of(booked, stepup_id=("stepup_id", []))  # the booking's own, again
    assert refused(sql, params) == "23505"
    sql, params = _copy_of(booked, stepup_id=("%s", [_stepup_for(customer, booked).pk]))
    with connection.cursor() as cursor:  # its own confirmation, used here: a second booking
        cursor.execute(sql, params)
    assert Transfer.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_step_up_used_by_an_earlier_transaction_confirms_nothing_now():
    """(dbprobe25 F10) The step-up's use is the row's own transaction's: one used (committed)
    before confirms no row inserted later — the used mark cannot be reused for a copy."""
    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=future_day())
    stepup = _stepup_for(customer, booked)  # committed (autocommit)
    sql, params = _copy_of(booked, stepup_id=("%s", [stepup.pk]))
    assert refused(sql, params) == STATE
    assert Transfer.objects.count() == 1


@pytest.mark.parametrize("column, value", [
    ("threshold", 100_000_001), ("same_branch_under", 10_001), ("same_branch_over", 10_001),
    ("other_branch_under", 10_001), ("other_branch_over", 10_001), ("other_bank_under", 10_001),
    ("other_bank_over", 9_999_999_999)])
def test_a_fee_row_is_within_the_admin_forms_caps(column, value):
    """XFER-4, LEDGER-7 (dbprobe25 F9, transfers 0013): a row dated today with 9,999,999,999円
    fees went in (the caps were the admin form's only) and, in force, could not be undone
    until the next day. The database refuses it (23514, fee_schedule_within_caps: the form's
    FEE_MAX and THRESHOLD_MAX); the caps themselves go in."""
    from transfers.models import FEE_MAX, THRESHOLD_MAX

    today = timezone.localdate()
    tomorrow = today + dt.timedelta(days=1)  # the app's first day for a new row (transfers 0025)
    row = {"threshold": 30_000, "same_branch_under": 0, "same_branch_over": 0, "other_branch_under": 110,
           "other_branch_over": 220, "other_bank_under": 330, "other_bank_over": 550}
    statement = ("INSERT INTO transfers_feeschedule (effective_from, created_at, " + ", ".join(row)
                 + ") VALUES (%s, now(), " + ", ".join(["%s"] * len(row)) + ")")
    assert refused(statement, [tomorrow, *(row | {column: value}).values()]) == "23514"
    assert services.fee_schedule_on(tomorrow).other_bank_under == 330
    FeeSchedule.objects.create(effective_from=tomorrow, **(row | {column: THRESHOLD_MAX if column == "threshold"
                                                                  else FEE_MAX}))


@pytest.mark.parametrize("value", [1, 99_999, 1_000_000_001])
def test_the_bank_maximum_daily_limit_is_within_the_admin_forms_range(value):
    """XFER-8, LEDGER-7 (walk25 F27 follow-up, transfers 0019): only > 0 was checked, so the
    app's role set the bank maximum to 1円 and every customer's limit was capped to it — no
    transfer for anyone. The database refuses it (23514, bank_max_limit_within_bounds: the
    form's BANK_MAX_MIN and BANK_MAX_MAX); the bounds themselves go in."""
    from transfers.models import BANK_MAX_MAX, BANK_MAX_MIN, TransferSettings

    TransferSettings.objects.update_or_create(pk=1, defaults={"bank_max_daily_limit": 10_000_000})
    statement = "UPDATE transfers_transfersettings SET bank_max_daily_limit = %s WHERE id = 1"
    assert refused(statement, [value]) == "23514"
    assert services.bank_max_daily_limit() == 10_000_000
    for bound in (BANK_MAX_MIN, BANK_MAX_MAX):
        TransferSettings.objects.filter(pk=1).update(bank_max_daily_limit=bound)
        assert services.bank_max_daily_limit() == bound


# --- a service's key is its record's own posting (dbprobe25 F4) --------------------------------

SQUAT = ("SELECT journal_id FROM ledger_post('adjustment', 'x', %s, ARRAY[%s, %s]::bigint[],"
         " ARRAY[-1, 1]::bigint[], ARRAY['x', 'x'])")


def _two_fee_stripes() -> list[int]:
    from accounts.models import Account

    return list(Account.objects.filter(purpose="stripe", stripe_of__purpose="fee_income")
                .order_by("id").values_list("id", flat=True)[:2])


def test_a_squatted_scheduled_key_makes_that_transfer_unprocessed_and_the_batch_goes_on():
    """XFER-5, LEDGER-7 (dbprobe25 F4 b): the app's role posted an adjustment under the key
    ``scheduled-transfer:<id>`` of a booking before its date; the batch met CI005 on it, the
    whole run crashed, every run, and no later booking executed. That transfer alone is now
    未処理 (当金庫でのお取扱不可), with its audit row and mail; the others execute."""
    day = past_business_day()
    first, first_account = funded_payer(50_000, day=day, email="first@example.jp")
    second, second_account = funded_payer(50_000, day=day, email="second@example.jp")
    poisoned = schedule(first, first_account, 10_000, day=day)
    later = schedule(second, second_account, 10_000, day=day, hour=11)
    # a squat from before payeasy 0006 (which refuses it at commit: rolled back below, so
    # the test's own commit-time check passes)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(SQUAT, [f"scheduled-transfer:{poisoned.pk}", *_two_fee_stripes()])
        refused_alone_by_the_batch(day, poisoned, later, first_account)
        transaction.set_rollback(True)


def refused_alone_by_the_batch(day, poisoned: Transfer, later: Transfer, account) -> None:
    """The batch of ``day`` made ``poisoned`` (of ``account``'s customer, 50,000円) alone
    未処理 「当金庫でのお取扱不可」, with its audit row and mail, and executed ``later``."""
    from notifications.models import OutboxMessage
    from security.models import AuditEvent

    result = scheduled.transfers_execute_due(day=day)
    assert (result.executed, result.unprocessed) == (1, 1)
    poisoned.refresh_from_db()
    later.refresh_from_db()
    assert (poisoned.status, poisoned.unprocessed_reason, later.status) == (
        "unprocessed", Transfer.Reason.POSTING_REFUSED, "executed")
    account.refresh_from_db()
    assert account.balance == 50_000
    assert OutboxMessage.objects.filter(customer=account.customer, event="transfer_unprocessed").count() == 1
    assert AuditEvent.objects.filter(customer=account.customer, action="transfer", outcome="failure").count() == 1


@pytest.mark.parametrize("prefix", ["scheduled-transfer:{id}", "transfer:{stepup}", "payeasy:26120600000001",
                                    "interbank-return:1", "interbank-in:" + "ab" * 32 + ":2"])
def test_a_service_key_is_only_its_records_own_posting(prefix):
    """LEDGER-7 (dbprobe25 F4 a, payeasy 0006): a journal under a service's key that no record
    of that service names as its posting is refused at commit (CI005) — the squat of a future
    key never commits."""
    from django.db import DatabaseError

    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=future_day())
    key = prefix.format(id=booked.pk + 1, stepup=booked.stepup_id)
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SQUAT, [key, *_two_fee_stripes()])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what the commit would check
    assert getattr(caught.value.__cause__, "sqlstate", None) == "CI005"


# --- a transfer's journal is its whole posting (dbprobe25 F3) ---------------------------------

POST = "SELECT journal_id FROM ledger_post('transfer', '振込 x', %s, %s::bigint[], %s::bigint[], %s::text[])"


def test_a_transfer_records_only_a_journal_of_exactly_its_lines():
    """XFER-1, XFER-5, LEDGER-7 (dbprobe25 F3, transfers 0015): a journal under
    ``scheduled-transfer:<id>`` debiting the customer 12,000 + 50,000 and crediting another
    customer 62,000 was recorded as the 12,000円 transfer's (0009 looked at the principal's
    line only). The whole journal must be the transfer's lines (CI202): a missing fee line,
    an extra debit, another credit account all refused."""
    from accounts.models import Account

    customer, account = payer()
    booked = schedule(customer, account, 12_000, day=future_day())
    _, stranger_account = payer(email="stranger@example.jp")
    settlement = Account.objects.get(purpose="zengin_settlement").pk
    fee_income = Account.objects.get(purpose="fee_income").pk
    fee = booked.fee
    key = f"scheduled-transfer:{booked.pk}"
    wrong = [
        ([account.pk, account.pk, stranger_account.pk], [-12_000, -50_000, 62_000]),   # the reviewer's
        ([account.pk, settlement], [-12_000, 12_000]),                                  # no fee taken
        ([account.pk, account.pk, settlement, stranger_account.pk], [-12_000, -fee, 12_000, fee]),
        ([account.pk, account.pk, account.pk, settlement, fee_income], [-12_000, -fee, -1, 12_001, fee]),
    ]
    for accounts, amounts in wrong:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(POST, [key, accounts, amounts, ["x"] * len(accounts)])
                journal = cursor.fetchone()[0]
            assert refused("UPDATE transfers_transfer SET status = 'executed', journal_id = %s, executed_at = now()"
                           " WHERE id = %s", [journal, booked.pk]) == STATE, amounts
            transaction.set_rollback(True)
    with connection.cursor() as cursor:  # its own lines, as the batch posts them, pass
        cursor.execute(POST, [key, [account.pk, account.pk, settlement, fee_income], [-12_000, -fee, 12_000, fee],
                              ["x"] * 4])
        journal = cursor.fetchone()[0]
        # on its date, as the batch executes it (transfers 0027, CI223), with its 仕向 record (CI222)
        cursor.execute("UPDATE transfers_transfer SET status = 'executed', journal_id = %s,"
                       " executed_at = (%s::date + time '00:05') AT TIME ZONE 'Asia/Tokyo' WHERE id = %s",
                       [journal, booked.transfer_date, booked.pk])
    told_as_the_batch(booked.pk)  # (transfers 0034, CI232)
    record = services._outgoing_record(booked, booked.transfer_date)
    record.transfer = booked
    record.save(force_insert=True)


@pytest.mark.parametrize("assignment", [
    "account_number = '7654321'", "bank_code = '0001'", "branch_code = '001'", "account_type = '2'",
    "holder_kana = 'ｱﾀｯｸ'", "bank_name = 'x'", "customer_id = customer_id + 1", "created_at = now()"])
def test_a_registered_payee_is_never_repointed(executed, assignment):
    """XFER-7, LEDGER-7 (dbprobe25 F13, transfers 0016): the app's role repointed 「田中さん」
    to another account number; only the 登録名 of a payee changes (CI201)."""
    payee = services.payee_register(customer=executed.customer, transfer=executed)
    assert refused(f"UPDATE transfers_payee SET {assignment} WHERE id = %s", [payee.pk]) == CONTENT
    services.payee_rename(customer=executed.customer, payee=payee, nickname="田中さん")
    payee.refresh_from_db()
    assert (payee.nickname, payee.account_number) == ("田中さん", "0012345")
