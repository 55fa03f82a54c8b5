"""XFER-2, XFER-4, XFER-5, XFER-8, XFER-12, LEDGER-7 (dbprobe27 F1, F2c, F4, F8): rows the
outside review wrote as the app's own database role (the role every test connects as) — a
transfer with a fee its fee row does not give, a fee row for today or dated 'infinity', a
transfer over the customer's daily limit, our bank's Zengin kana the 全銀 header cannot
write. The database refuses each (transfers 0025–0027), and the app's own flows pass."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from accounts.reference_data import BANK_CODE
from tests.accounts.test_ledger_lockdown import refused
from tests.transfers.test_batch_row_guards import _tokyo_today, as_the_app_role  # noqa: F401 - autouse fixture
from tests.transfers.scheduled_support import book, funded_payer, past_business_day, schedule
from tests.transfers.support import content_for, execute, other_bank_payee, our_payee, payer
from tests.transfers.test_record_guards import _copy_of, _stepup_for, future_day
from transfers import scheduled, services
from transfers.errors import TransferRefused
from transfers.models import Bank, FeeSchedule, Transfer, TransferLimit

pytestmark = pytest.mark.django_db

FEE = "CI224"
LIMIT = "CI225"
OUR_BANK = "CI226"
FEE_ROW = "CI203"


def _copy(customer, booked: Transfer, **changes):
    """INSERT a copy of ``booked`` with ``changes``, confirmed by a step-up of its customer
    naming exactly that (so the confirmation rule, CI202, passes); the SQLSTATE, or None."""
    stepup = _stepup_for(customer, booked, **changes)
    sql, params = _copy_of(booked, stepup_id=("%s", [stepup.pk]),
                           **{column: ("%s", [value]) for column, value in changes.items()})
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as error:
        return getattr(error.__cause__, "sqlstate", None)
    return None


# --- F4: a transfer's fee is its fee row's ----------------------------------------------------


@pytest.mark.parametrize("name, route, payee_kind, amount, fee", [
    # the review's: 同一店宛 1,000円 with 9,999円 (the row says 0円)
    ("same branch 9,999円", "same_branch", "ours", 1_000, 9_999),
    ("other bank 0円", "other_bank", "other", 10_000, 0),
    ("other bank, the lower band from the 金額区分", "other_bank", "other", 30_000, 330),
    ("other bank, the higher band below it", "other_bank", "other", 29_999, 550),
])
def test_a_transfer_whose_fee_is_not_its_fee_rows_is_refused(name, route, payee_kind, amount, fee):
    """dbprobe27 F4 (transfers 0025): the fee is the row's ``<route>_under`` below the
    金額区分 (30,000円), ``<route>_over`` from it — ``services.fee_from`` — whatever the
    step-up says (CI224); the fee the row gives for the same row passes."""
    customer, account = payer()
    payee = our_payee(payer(email="payee@example.jp")[1]) if payee_kind == "ours" else other_bank_payee()
    booked = schedule(customer, account, 10_000, day=future_day(), payee=payee)
    assert booked.route == route
    assert _copy(customer, booked, amount=amount, fee=fee) == FEE, name
    right = services.fee_from(FeeSchedule.objects.get(pk=booked.fee_schedule_id), route=route, amount=amount)
    assert _copy(customer, booked, amount=amount, fee=right) is None
    assert Transfer.objects.filter(customer=customer).count() == 2


def test_a_transfer_names_the_fee_row_in_force_on_its_date():
    """(transfers 0025) The 適用手数料表 is the row in force on the 振込日 — the latest
    適用開始日 on or before it, as ``fee_schedule_on`` picks it: not a row of a later date,
    nor an older one a newer row replaced (CI224). And the services refuse a booking whose
    row was replaced for its date after the confirm page (FEE_CHANGED), before the database."""
    customer, account = payer()
    day = future_day()
    booked = schedule(customer, account, 10_000, day=day)
    old = booked.fee_schedule_id
    later = FeeSchedule.objects.create(effective_from=day + dt.timedelta(days=1), other_bank_under=330)
    assert _copy(customer, booked, fee_schedule_id=later.pk) == FEE  # not yet in force on the date
    confirmed = content_for(customer, account, other_bank_payee(), 10_000, day=day, check=False)
    newer = FeeSchedule.objects.create(effective_from=day, other_bank_under=330)
    assert _copy(customer, booked, fee_schedule_id=old) == FEE  # replaced on the date
    assert _copy(customer, booked, fee_schedule_id=newer.pk) is None
    with pytest.raises(services.TransferRefused, match="手数料が変更"):
        book(customer, confirmed)


def test_a_fee_row_added_while_a_booking_is_confirmed_is_said_not_a_500(monkeypatch):
    """(guards27t2's race) Staff add the fee row for a 振込日 between the services' fee
    check under the customer's lock and the transfer's INSERT: the database refuses the row
    (CI224) and the customer reads FEE_CHANGED, as from the check itself; nothing is booked."""
    customer, account = payer()
    day = future_day()
    confirmed = content_for(customer, account, other_bank_payee(), 10_000, day=day, check=False)
    check = services._confirmed_content_check

    def check_then_staff_add_a_row(**kwargs):
        checked = check(**kwargs)
        FeeSchedule.objects.create(effective_from=day, other_bank_under=330)  # staff, meanwhile
        return checked

    monkeypatch.setattr(services, "_confirmed_content_check", check_then_staff_add_a_row)
    with pytest.raises(TransferRefused) as caught:
        book(customer, confirmed)
    assert str(caught.value) == services.FEE_CHANGED
    assert caught.value.__cause__.__cause__.sqlstate == FEE
    assert not Transfer.objects.filter(customer=customer).exists()


def test_a_new_fee_row_of_the_app_starts_tomorrow_with_the_databases_time():
    """dbprobe27 F4, F2c (transfers 0025): the app's role — staff's admin too — adds a fee
    row from tomorrow (the bank's day in Tokyo) while a fee is in force, and moves no future
    row to today (CI203): today's fees never change. A row's 登録日時 is the database's clock
    ('infinity' stopped every quote), and no role stores one Python cannot load (23514)."""
    today = _tokyo_today()
    columns = ("threshold, same_branch_under, same_branch_over, other_branch_under, other_branch_over,"
               " other_bank_under, other_bank_over")
    statement = (f"INSERT INTO transfers_feeschedule (effective_from, created_at, {columns})"
                 " VALUES (%s, %s, 30000, 0, 0, 110, 220, 330, 550)")
    assert refused(statement, [today, "now"]) == FEE_ROW  # the review's: today, changing today's fees
    assert refused(statement, [today - dt.timedelta(days=1), "now"]) == FEE_ROW
    assert refused(statement, ["infinity", "now"]) == "23514"
    with connection.cursor() as cursor:
        cursor.execute(statement + " RETURNING created_at, clock_timestamp()",
                       [today + dt.timedelta(days=1), "infinity"])
        created_at, clock = cursor.fetchone()
    assert abs(clock - created_at) < dt.timedelta(seconds=5)
    row = FeeSchedule.objects.get(effective_from=today + dt.timedelta(days=1))
    row.refresh_from_db()
    assert refused("UPDATE transfers_feeschedule SET effective_from = %s WHERE id = %s", [today, row.pk]) == FEE_ROW
    with connection.cursor() as cursor:  # a future row stays editable, its 登録日時 its own
        cursor.execute("UPDATE transfers_feeschedule SET other_bank_under = 440, created_at = 'infinity'"
                       " WHERE id = %s RETURNING created_at", [row.pk])
        assert cursor.fetchone()[0] == row.created_at
    assert services.fee_schedule_on(today).effective_from == dt.date(2000, 1, 1)


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_the_owner_still_dates_a_fee_row_today_but_never_infinity():
    """(transfers 0025) The owner — a DBA — keeps 0008's rule (not dated back, today
    allowed); the 登録日時 CHECK binds every role."""
    from transfers.demo import reference_ensure

    reference_ensure()  # a transactional test starts without the migrations' fee table
    today = _tokyo_today()
    statement = ("INSERT INTO transfers_feeschedule (effective_from, created_at, threshold, same_branch_under,"
                 " same_branch_over, other_branch_under, other_branch_over, other_bank_under, other_bank_over)"
                 " VALUES (%s, %s, 30000, 0, 0, 110, 220, 330, 550)")
    with connections["owner"].cursor() as cursor:
        with pytest.raises(DatabaseError) as caught, transaction.atomic(using="owner"):
            cursor.execute(statement, [today + dt.timedelta(days=3), "infinity"])
        assert caught.value.__cause__.sqlstate == "23514"
        cursor.execute(statement, [today, "now"])
    assert services.fee_schedule_on(today).effective_from == today


# --- F8: the day's limit, in the database too -------------------------------------------------


def test_a_booking_over_the_days_limit_is_refused_at_the_limit_accepted():
    """dbprobe27 F8 (transfers 0026): the customer's 振込金額 executed or scheduled for the
    date plus this one is at most the limit in force (1,000,000円, the default): one yen over
    is refused (CI225) under the customer's lock, the limit itself accepted — the figure
    ``limit_problem`` takes."""
    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=future_day())
    assert TransferLimit.objects.get(customer=customer).daily_limit == 1_000_000
    assert _copy(customer, booked, amount=990_001, fee=550) == LIMIT
    assert _copy(customer, booked, amount=990_000, fee=550) is None
    assert _copy(customer, booked, amount=1, fee=330) == LIMIT
    # the bank maximum caps the customer's limit; a cancelled booking no longer counts
    customer2, account2 = payer(email="two@example.jp")
    TransferLimit.objects.create(customer=customer2, daily_limit=50_000_000)
    booked2 = schedule(customer2, account2, 10_000, day=future_day())
    assert _copy(customer2, booked2, amount=9_990_001, fee=550) == LIMIT
    # cancelled as the customer cancels (transfers 0031: with its audit row and mail)
    scheduled.scheduled_transfer_cancel(customer=customer2, transfer_id=booked2.pk)
    assert _copy(customer2, booked2, amount=10_000_000, fee=550, status="scheduled", cancelled_at=None) is None


def test_a_raise_waiting_for_tomorrow_does_not_count_for_a_booking_made_today():
    """(transfers 0026) A raise counts from 0:00 of its day for bookings too (XFER-8): a
    booking for a later day fits that day's limit and today's, as ``limit_problem`` says."""
    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=future_day())
    TransferLimit.objects.filter(customer=customer).update(
        pending_limit=3_000_000, pending_from=timezone.localdate() + dt.timedelta(days=1))
    assert _copy(customer, booked, amount=990_001, fee=550) == LIMIT
    TransferLimit.objects.filter(customer=customer).update(daily_limit=3_000_000)
    assert _copy(customer, booked, amount=990_001, fee=550) is None


def test_a_same_day_transfer_over_the_limit_has_a_backstop_for_a_python_bug(monkeypatch):
    """dbprobe27 F8: the review's same-day 1,500,000円 over a 1,000,000円 limit. With the
    services' own limit rule switched off (a bug), the database refuses the transfer and
    nothing is posted (CI225); within the limit it goes. The customer reads why, not a 500
    (the same refusal meets a bank maximum lowered by staff during the confirm)."""
    customer, account = payer(balance=3_000_000)
    monkeypatch.setattr(services, "limit_problem", lambda **kwargs: "")
    with pytest.raises(TransferRefused) as caught:
        execute(customer, content_for(customer, account, other_bank_payee(), 1_500_000, check=False))
    assert str(caught.value) == services.LIMIT_CHANGED_MEANWHILE
    assert caught.value.__cause__.__cause__.sqlstate == LIMIT
    account.refresh_from_db()
    assert (account.balance, Transfer.objects.filter(customer=customer).count()) == (3_000_000, 0)
    assert execute(customer, content_for(customer, account, other_bank_payee(), 1_000_000)).status == "executed"


def test_the_batch_executes_nothing_over_the_limit_in_force_on_the_day(monkeypatch):
    """dbprobe27 F8 (transfers 0026): scheduled → executed is checked again under the
    customer's lock against what is executed for the date and the limit in force on it —
    the batch's 限度額超過 (``scheduled._refusal``). A limit cut since the booking makes the
    transfer 未処理; with that rule switched off (a bug) the database refuses the posting's
    state change and the transfer stays 予約中, nothing posted."""
    day = past_business_day()
    customer, account = funded_payer(1_000_000, day=day)
    booked = schedule(customer, account, 600_000, day=day)
    services.transfer_limit_change(customer=customer, new_limit=500_000)
    refusal = scheduled._refusal
    monkeypatch.setattr(scheduled, "_refusal", lambda transfer, state, limit: "")
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        scheduled.transfers_execute_due(day=day, wait_for_others=False)
    assert caught.value.__cause__.sqlstate == LIMIT
    booked.refresh_from_db()
    assert (booked.status, booked.journal_id) == ("scheduled", None)
    monkeypatch.setattr(scheduled, "_refusal", refusal)
    assert scheduled.transfers_execute_due(day=day, wait_for_others=False).unprocessed == 1
    booked.refresh_from_db()
    assert (booked.status, booked.unprocessed_reason) == ("unprocessed", "over_limit")


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_a_transfer_without_its_customers_lock_row_is_refused():
    """(transfers 0026) The limit is checked under the customer's lock row, which the
    services create first: a transfer of a customer without one (the owner removed it) is
    refused (CI225)."""
    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=future_day())
    with connections["owner"].cursor() as cursor:
        cursor.execute("DELETE FROM transfers_transferlimit WHERE customer_id = %s", [customer.pk])
    with transaction.atomic():
        assert _copy(customer, booked) == LIMIT


# --- F1: our bank's row of the directory, the 全銀 header's --------------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE transfers_bank SET kana = 'ｵｵｻｶ漢' WHERE code = '{ours}'",  # the review's
    "UPDATE transfers_bank SET kana = 'オオサカ①' WHERE code = '{ours}'",
    "UPDATE transfers_bank SET kana = '　' WHERE code = '{ours}'",
    "UPDATE transfers_bank SET code = '1634' WHERE code = '{ours}'",
    "UPDATE transfers_bank SET code = '{ours}' WHERE code = '0161'",
    "DELETE FROM transfers_bank WHERE code = '{ours}'",
])
def test_our_banks_row_keeps_its_code_and_a_kana_the_header_writes(statement):
    """dbprobe27 F1 (transfers 0027): the app's role set our bank's kana to 'ｵｵｻｶ漢' and no
    仕向 file could be written on any day. Our row (1633) keeps its code, stays, and its kana
    is one ``zengin_kana`` turns into the Zengin characters (CI226)."""
    assert refused(statement.format(ours=BANK_CODE)) == OUR_BANK
    assert Bank.objects.get(code=BANK_CODE).kana == "オオサカコウセイシンキン"


def test_zengin_load_still_writes_our_banks_row():
    """(transfers 0027) ``zengin_load`` writes the directory as the app's role: our row,
    changed to another kana the header can write, is put back from the package."""
    from transfers.banks import zengin_load

    Bank.objects.filter(code=BANK_CODE).update(kana="オオサカ ｼﾝｷﾝ（テスト）")
    zengin_load(codes={BANK_CODE, "0161"})
    assert Bank.objects.get(code=BANK_CODE).kana == "オオサカコウセイシンキン"


def test_every_character_of_our_banks_kana_rule_is_one_the_header_writes():
    """(transfers 0027) Each character the database takes in our kana converts, by
    ``zengin_kana``, into the Zengin characters the file writer takes (no false accept)."""
    import importlib

    from transfers.zengin import ALLOWED, zengin_kana

    bracket = importlib.import_module("transfers.migrations.0027_our_bank_row_held").OUR_KANA
    taken = set()
    for start, end in re.findall(r"(.)(?:-(.))?", bracket):
        taken.update(chr(code) for code in range(ord(start), ord(end or start) + 1))
    assert {"ｵ", "オ", "ガ", "ヴ", "Ａ", "０", "　", "(", "-", "－"} <= taken
    for char in taken:
        assert all(ALLOWED.fullmatch(converted) for converted in zengin_kana(char)), char


def test_a_header_the_file_cannot_write_is_named_as_the_header(monkeypatch):
    """dbprobe27 F1: when our own part of the file — the header — cannot be written, staff
    read that it is the header (our bank, the 為替決済 account's branch) and that no day's
    file can go, not a 支店名 that looks like a record's."""
    from dataclasses import replace

    from transfers.interbank import services as interbank
    from transfers.models import InterbankOutgoingFile, OutgoingTransfer

    customer, debit = payer()
    record = execute(customer, content_for(customer, debit, other_bank_payee(), 1_234)).outgoing
    header = interbank._our_header
    monkeypatch.setattr(interbank, "_our_header", lambda day: replace(header(day), branch_kana="本店営業部"))
    with pytest.raises(interbank.TransferRefused) as caught:
        interbank.outgoing_file_create(day=record.settlement_date, staff="staff-t")
    assert caught.value.message.startswith("当金庫の情報（ヘッダー・レコードの支店名: 全銀協の文字にない「本」）")
    assert not InterbankOutgoingFile.objects.exists()
    assert OutgoingTransfer.objects.get(pk=record.pk).status == "pending"


def test_the_new_rules_are_the_app_roles_own_triggers():
    """The fee and limit rules are triggers of their own (not folded into the insert guard
    other migrations replace), after it by name, so a stranger's row is still CI202 first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'transfers_transfer'::regclass"
                       " AND NOT tgisinternal AND tgtype & 4 = 4 ORDER BY tgname")  # BEFORE/AFTER INSERT
        names = [row[0] for row in cursor.fetchall()]
    assert names.index("transfers_transfer_insert_guard") < names.index("transfers_transfer_priced") \
        < names.index("transfers_transfer_within_limit")
