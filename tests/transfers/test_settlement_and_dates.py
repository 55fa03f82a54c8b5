"""XFER-5, XFER-8, XFER-12, LEDGER-7 (outside review dbprobe27 F2, F3, F7): dates and times the
app's own database role (the role every test connects as) wrote into the transfers tables to
stop the nightly batch, the 仕向 file and the staff lists, a 仕向 record settling on
9999-12-31 or missing, and a 予約 executed the day before its date: the database refuses
each (transfers 0025–0027), and the services' own steps still pass."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account, BankClosingDay
from cosei_ib import bankcalendar
from tests.accounts.test_ledger_lockdown import refused
from tests.conftest import clock_strict
from tests.transfers.scheduled_support import funded_payer, past_business_day, schedule
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from tests.transfers.test_batch_row_guards import _tokyo_today
from tests.transfers.test_interbank_guards import at_commit, refused_at_commit
from tests.transfers.test_interbank_services import FRIDAY, _customers, incoming_file
from tests.transfers.test_record_guards import POST, as_the_app_role, future_day  # noqa: F401 - the fixture
from transfers import scheduled
from transfers.interbank import services as interbank
from transfers.models import InterbankIncomingRecord, OutgoingTransfer, Transfer, TransferLimit

pytestmark = pytest.mark.django_db

SETTLES, RECORD_BY_COMMIT, ON_ITS_DAY = "CI221", "CI222", "CI223"


# --- F2: a time Python cannot load --------------------------------------------------------------


def test_every_date_and_time_of_the_transfers_tables_is_loadable():
    """dbprobe27 F2: 'infinity' in a limit row killed every nightly batch, in a 仕向 file or
    入金不能 record the staff lists for ever. Every date/time column of the transfers tables
    has its CHECK (``<table>_<column>_loadable``; transfers_transfer its
    ``transfer_times_loadable``, 0020)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c"
            " WHERE c.table_schema = 'public' AND c.table_name LIKE 'transfers%%'"
            " AND c.table_name NOT IN ('transfers_transfer', 'transfers_feeschedule')"  # 0020; dbprobe27 F2c/F4's
            " AND (c.data_type = 'date' OR c.data_type LIKE 'timestamp%%')"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.contype = 'c'"
            "                  AND k.conname = c.table_name || '_' || c.column_name || '_loadable')")
        assert cursor.fetchall() == []


@pytest.mark.parametrize("statement", [
    "UPDATE transfers_transferlimit SET updated_at = 'infinity' WHERE id = %s",
    "UPDATE transfers_transferlimit SET pending_limit = 1, pending_from = 'infinity' WHERE id = %s",
    "UPDATE transfers_transferlimit SET pending_limit = 1, pending_from = '0044-03-15 BC' WHERE id = %s",
    "UPDATE transfers_transfersettings SET updated_at = '9000-01-01 00:00+00' WHERE %s > 0",  # the one row
    "INSERT INTO transfers_namelookup (customer_id, bank_code, branch_code, account_number, found, created_at)"
    " SELECT customer_id, '0161', '002', '0012345', false, '-infinity' FROM transfers_transferlimit WHERE id = %s",
])
def test_a_limit_settings_or_look_up_time_python_cannot_load_is_refused(statement):
    """dbprobe27 F2b: the batch's claim loads the customer's limit row (DataError, every
    run); 振込の設定 is read by every 利用限度額変更."""
    customer, account = payer()
    execute(customer, content_for(customer, account, other_bank_payee(), 1_000))  # makes the limit row
    assert refused(statement, [TransferLimit.objects.get(customer=customer).pk]) == "23514"


def test_the_interbank_rows_and_payees_take_the_databases_clock():
    """dbprobe27 F2d/F2e: a 仕向 file or 入金不能 record dated 'infinity' (never changed
    nor deleted: CI206/CI207) broke the download and the staff lists for ever. For the app's
    role their 作成・処理日時 is the database's clock, whatever the INSERT says — here the
    app's clock is three days back (2026-12-04) and the rows are written as it says."""
    with time_machine.travel(FRIDAY, tick=False):
        customer, debit = payer()
        transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 12_000))
        file = interbank.outgoing_file_create(day=FRIDAY.date(), staff="madoguchi")
        first, _, third = _customers()
        interbank.incoming_file_upload(data=incoming_file([(first, "ﾔﾏﾀﾞ ﾀﾛｳ", 1_000), (third, "ﾀﾅｶ", 5)]),
                                       filename="n.txt", staff="madoguchi")
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO transfers_payee (customer_id, bank_code, bank_name, branch_code, branch_name,"
                       " account_type, account_number, holder_kana, nickname, created_at)"
                       " SELECT customer_id, bank_code, bank_name, branch_code, branch_name, account_type,"
                       " account_number, holder_kana, '', 'infinity' FROM transfers_transfer WHERE id = %s",
                       [transfer.pk])
        cursor.execute(
            "SELECT bool_and(created_at BETWEEN clock_timestamp() - interval '10 minutes' AND clock_timestamp())"
            " FROM (SELECT created_at FROM transfers_outgoingtransfer WHERE id = %s"
            "       UNION ALL SELECT created_at FROM transfers_interbankoutgoingfile WHERE id = %s"
            "       UNION ALL SELECT created_at FROM transfers_interbankincomingfile"
            "       UNION ALL SELECT created_at FROM transfers_interbankincomingrecord"
            "       UNION ALL SELECT created_at FROM transfers_payee) AS rows",
            [transfer.outgoing.pk, file.pk])
        assert cursor.fetchone()[0] is True
    assert InterbankIncomingRecord.objects.filter(status="unapplied").count() == 1  # the list loads
    at_commit()


# --- F3: a 仕向 record settles on its transfer's settlement day, and exists --------------------


def _record_copy(outgoing: OutgoingTransfer, settlement_date) -> tuple[str, list]:
    """INSERT a copy of ``outgoing`` (the same transfer: its guard runs before the unique
    transfer_id refuses it, 23505) settling on ``settlement_date``."""
    return ("INSERT INTO transfers_outgoingtransfer (bank_code, bank_kana, branch_code, branch_kana, account_type,"
            " account_number, payee_kana, amount, sender_name, edi, settlement_date, status, created_at,"
            " transfer_id) SELECT bank_code, bank_kana, branch_code, branch_kana, account_type, account_number,"
            " payee_kana, amount, sender_name, edi, %s, status, created_at, transfer_id"
            " FROM transfers_outgoingtransfer WHERE id = %s", [settlement_date, outgoing.pk])


def _weekday_from(day: dt.date) -> dt.date:
    """``day`` or the first day after it that is neither a weekend nor Dec 31 – Jan 3."""
    while day.weekday() >= 5 or (day.month, day.day) in bankcalendar.YEAR_END_CLOSING:
        day += dt.timedelta(days=1)
    return day


def test_a_record_settles_on_a_weekday_but_the_year_end():
    """dbprobe27 F3 (CI221): a 仕向 record settles on a business day — never a Saturday or
    Sunday nor Dec 31 – Jan 3 (the national holidays are Python's: ``jpholiday``)."""
    customer, debit = payer()
    outgoing = execute(customer, content_for(customer, debit, other_bank_payee(), 2_000)).outgoing
    assert outgoing.settlement_date == bankcalendar.settlement_day(_tokyo_today())
    saturday = outgoing.settlement_date + dt.timedelta(days=5 - outgoing.settlement_date.weekday())
    year = outgoing.settlement_date.year + 1
    for settles in (saturday, saturday + dt.timedelta(days=1), dt.date(year, 12, 31), dt.date(year + 1, 1, 2)):
        assert refused(*_record_copy(outgoing, settles)) == SETTLES, settles
    assert refused(*_record_copy(outgoing, outgoing.settlement_date)) == "23505"  # the rule passes


def test_a_record_settles_within_days_of_its_transfer(database_clock_strict):
    """dbprobe27 F3: the app's role wrote the record of its full other-bank transfer (2,330円
    debited, held in 為替決済) settling on 9999-12-31 ('infinity' also broke the 仕向明細
    list): it is in no day's file, ever. The 決済日 is at most 14 days after the 振込日 (or
    today) — plus one day for each of the bank's own closing days in between (CI221)."""
    customer, debit = payer()
    outgoing = execute(customer, content_for(customer, debit, other_bank_payee(), 2_000)).outgoing
    today = _tokyo_today()
    far = _weekday_from(today + dt.timedelta(days=15))
    for settles in ("9999-12-31", "infinity", far):
        assert refused(*_record_copy(outgoing, settles)) == SETTLES, settles
    with transaction.atomic():
        BankClosingDay.objects.bulk_create([BankClosingDay(date=today + dt.timedelta(days=days), name="臨時休業",
                                                           created_by="x") for days in range(1, (far - today).days - 13)])
        assert refused(*_record_copy(outgoing, far)) == "23505"  # the rule passes
        transaction.set_rollback(True)


def test_a_late_record_does_not_settle_in_the_past():
    """A 予約 the batch executes late (a missed day) settles from today, not on its past date
    (CI221): no day's file would come for it."""
    day = past_business_day()
    customer, account = funded_payer(50_000, day=day)
    booked = schedule(customer, account, 10_000, day=day)
    assert scheduled.transfers_execute_due(day=day).executed == 1
    outgoing = OutgoingTransfer.objects.get(transfer=booked)
    assert outgoing.settlement_date == bankcalendar.settlement_day(_tokyo_today())
    with clock_strict():
        assert refused(*_record_copy(outgoing, day)) == SETTLES
        assert refused(*_record_copy(outgoing, outgoing.settlement_date)) == "23505"


def test_an_executed_transfer_to_another_bank_has_its_record_by_commit(monkeypatch):
    """dbprobe27 F3b: an executed other-bank transfer with no 仕向 record — 2,330円 debited
    and held in 為替決済, no file ever carries it. By commit it has its record (CI222),
    whether today's 振込 or the batch's 予約 forgot it; with it, both pass."""
    day = past_business_day()
    payer_2, account = funded_payer(50_000, day=day, email="scheduled@example.jp")  # backdated: first
    booked = schedule(payer_2, account, 10_000, day=day)
    customer, debit = payer()
    with monkeypatch.context() as patched:
        patched.setattr(OutgoingTransfer, "save", lambda self, *args, **kwargs: None)
        assert refused_at_commit(lambda: execute(customer, content_for(
            customer, debit, other_bank_payee(), 2_000))) == RECORD_BY_COMMIT
    executed = scheduled._executed
    with monkeypatch.context() as patched:
        patched.setattr(scheduled, "_executed", lambda *args: executed(*args) and None)
        assert refused_at_commit(lambda: scheduled.transfers_execute_due(day=day)) == RECORD_BY_COMMIT
    assert Transfer.objects.get(pk=booked.pk).status == Transfer.Status.SCHEDULED
    execute(customer, content_for(customer, debit, other_bank_payee(), 2_000))
    assert scheduled.transfers_execute_due(day=day).executed == 1
    at_commit()


def test_health_counts_the_records_no_file_took(client):
    """dbprobe27 F3: nothing showed a 未送信 record whose 決済日 had passed. /health/
    reports them (``outgoing_records_overdue``) — here the day's file was never made."""
    assert client.get("/health/").json()["outgoing_records_overdue"] == 0
    customer, debit = payer()
    with time_machine.travel(FRIDAY, tick=False):
        outgoing = execute(customer, content_for(customer, debit, other_bank_payee(), 2_000)).outgoing
    assert outgoing.settlement_date < _tokyo_today()
    health = client.get("/health/").json()
    assert (health["outgoing_records_overdue"], health["scheduled_transfers_overdue"]) == (1, 0)
    interbank.outgoing_file_create(day=outgoing.settlement_date, staff="madoguchi")
    assert client.get("/health/").json()["outgoing_records_overdue"] == 0


# --- F7: a 予約 is executed on its date, now ----------------------------------------------------


def _own_journal(booked: Transfer) -> int:
    settlement = Account.objects.get(purpose="zengin_settlement").pk
    fee_income = Account.objects.get(purpose="fee_income").pk
    with connection.cursor() as cursor:
        cursor.execute(POST, [f"scheduled-transfer:{booked.pk}",
                              [booked.debit_account_id, booked.debit_account_id, settlement, fee_income],
                              [-booked.amount, -booked.fee, booked.amount, booked.fee], ["x"] * 4])
        return cursor.fetchone()[0]


EXECUTED = "status = 'executed', journal_id = %(journal)s, executed_at = "
UNPROCESSED = "status = 'unprocessed', unprocessed_reason = 'insufficient_funds', executed_at = "


@pytest.mark.parametrize("dated, assignment", [
    # dbprobe27 F7: 予約 1, dated tomorrow, executed today with its own journal
    ("ahead", EXECUTED + "now()"),
    ("ahead", EXECUTED + "%(on_its_day)s"),              # and dated on its day, ahead of the clock
    ("ahead", UNPROCESSED + "now()"),
    ("ahead", UNPROCESSED + "%(on_its_day)s"),
    ("past", EXECUTED + "now() - interval '1 hour'"),    # due, but not executed now
    ("past", EXECUTED + "clock_timestamp() + interval '1 hour'"),
    ("past", UNPROCESSED + "%(on_its_day)s"),
])
def test_a_scheduled_transfer_is_executed_on_its_date_now(dated, assignment):
    """The batch runs at 0:05 for the transfers dated that day or earlier: 予約中 → 振込済 or
    未処理 only with a 実行日時 within five minutes of the database's clock, on or after
    the 振込日 in Tokyo (CI223)."""
    if dated == "past":
        day = past_business_day()
        customer, account = funded_payer(50_000, day=day)
    else:
        day = future_day()
        customer, account = payer()
    booked = schedule(customer, account, 12_000, day=day)
    on_its_day = timezone.make_aware(dt.datetime.combine(booked.transfer_date, dt.time(0, 5)))
    with clock_strict(), transaction.atomic():
        journal = _own_journal(booked)
        statement = f"UPDATE transfers_transfer SET {assignment} WHERE id = %(id)s"
        assert refused(statement, {"journal": journal, "on_its_day": on_its_day, "id": booked.pk}) == ON_ITS_DAY
        transaction.set_rollback(True)
    assert Transfer.objects.get(pk=booked.pk).status == Transfer.Status.SCHEDULED


def test_the_batch_executes_a_transfer_on_its_date():
    """The batch's own steps pass with the production slack: 予約 dated before today,
    executed now (one 振込済, one 未処理), their records at commit."""
    day = past_business_day()
    with transaction.atomic():
        rich, rich_account = funded_payer(50_000, day=day, email="rich@example.jp")
        poor, poor_account = funded_payer(1_000, day=day, email="poor@example.jp")
    schedule(rich, rich_account, 10_000, day=day)
    schedule(poor, poor_account, 10_000, day=day)
    with clock_strict():
        result = scheduled.transfers_execute_due(day=day)
        assert (result.executed, result.unprocessed) == (1, 1)
        at_commit()
