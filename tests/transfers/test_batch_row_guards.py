"""XFER-5, XFER-6, XFER-7, XFER-8, XFER-12, LEDGER-7 (dbprobe26 F4, F5, F8, F13): rows the
outside review planted as the app's own database role (the role every test connects as) to
stop the nightly 予約振込 batch or the day's 仕向 file, or to repoint a registered payee: the
database refuses each, and one transfer the ledger refuses leaves the batch running."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection, transaction

from accounts.errors import InvalidPosting
from tests.accounts.test_ledger_lockdown import refused
from tests.security.test_staff_admin import staff, staff_client  # noqa: F401 - fixtures
from tests.transfers.scheduled_support import funded_payer, past_business_day, schedule
from tests.transfers.support import payer
from tests.transfers.test_record_guards import _copy_of, _stepup_for, future_day, refused_alone_by_the_batch
from transfers import scheduled
from transfers.models import Transfer

pytestmark = pytest.mark.django_db

ROW = "CI211"


@pytest.fixture(autouse=True)
def as_the_app_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == settings.DATABASES["default"]["USER"]


def _tokyo_today() -> dt.date:
    with connection.cursor() as cursor:
        cursor.execute("SELECT (clock_timestamp() AT TIME ZONE 'Asia/Tokyo')::date")
        return cursor.fetchone()[0]


# --- F4: a 予約中 transfer the batch cannot post or load ----------------------------------------


@pytest.mark.parametrize("name, changes, columns, code", [
    # (a) 同一店宛 with no payee account at our bank: transfer_lines had a line with no account
    ("same branch, no payee account", {"route": "same_branch", "bank_code": "1633", "branch_code": "001"},
     {"credit_account_id": ("NULL", [])}, ROW),
    ("an unknown route", {"route": "teleport"}, {}, ROW),
    ("our bank's code as another bank", {"bank_code": "1633"}, {}, ROW),
    # (b) 振込日 44 BC: psycopg cannot load it, the claim itself failed
    ("a date BC", {"transfer_date": "0044-03-15 BC"}, {}, ROW),
    ("beyond the booking horizon", {"transfer_date": "+61"}, {}, ROW),
    ("booked in 2000 (first in the batch's order)", {}, {"created_at": ("'2000-01-01 00:00+00'", [])}, ROW),
    ("booked in the future", {}, {"created_at": ("clock_timestamp() + interval '1 hour'", [])}, ROW),
    ("a short account number", {"account_number": "12345"}, {}, "23514"),
    ("a bank code of letters", {"bank_code": "AB12"}, {}, "23514"),
])
@pytest.mark.django_db(transaction=True)  # the payer's account from before: no test's own (transfers 0020)
def test_a_transfer_row_the_batch_cannot_take_is_refused(name, changes, columns, code):
    """dbprobe26 F4 (transfers 0020): each row confirmed by a step-up of its own customer
    (so the confirmation rule, CI202, passes) — and still refused: the route and payee
    account are the ones transfer_route gives (CI211), the dates are the booking day to the
    horizon, booked now (CI211), the codes are digits of their length (23514)."""
    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=future_day())
    if changes.get("transfer_date") == "+61":
        changes = {"transfer_date": (_tokyo_today() + dt.timedelta(days=61)).isoformat()}
    with transaction.atomic():  # the step-up used by the row's own transaction (transfers 0012)
        stepup = _stepup_for(customer, booked, **changes)
        overrides = {column: ("%s", [value]) for column, value in changes.items()} | columns
        sql, params = _copy_of(booked, stepup_id=("%s", [stepup.pk]), **overrides)
        assert refused(sql, params) == code, name
    assert Transfer.objects.count() == 1


def test_a_same_bank_transfer_names_its_payee_account_by_route():
    """(transfers 0020) 同一店宛 only to an account of the debit account's branch, with its
    店番, 科目 and 口座番号; the booking itself passes."""
    customer, account = payer()
    _, payee_account = payer(email="payee@example.jp")
    from tests.transfers.support import our_payee
    booked = schedule(customer, account, 10_000, day=future_day(), payee=our_payee(payee_account))
    assert (booked.route, booked.credit_account_id) == ("same_branch", payee_account.pk)
    for changes in ({"account_number": "7654321"}, {"route": "other_branch"}, {"branch_code": "002"}):
        stepup = _stepup_for(customer, booked, **changes)
        sql, params = _copy_of(booked, stepup_id=("%s", [stepup.pk]),
                               **{column: ("%s", [value]) for column, value in changes.items()})
        assert refused(sql, params) == ROW, changes


def test_a_transfer_the_ledger_refuses_is_unprocessed_and_the_batch_goes_on(monkeypatch):
    """dbprobe26 F4: any LedgerError of one transfer's posting (here InvalidPosting, as the
    planted 同一店宛 row without an account gave) makes that transfer 未処理 「当金庫でのお取扱
    不可」 with its audit row and mail; the other customers' transfers execute."""
    day = past_business_day()
    with transaction.atomic():
        first, first_account = funded_payer(50_000, day=day, email="first@example.jp")
        second, second_account = funded_payer(50_000, day=day, email="second@example.jp")
    poisoned = schedule(first, first_account, 10_000, day=day)
    later = schedule(second, second_account, 10_000, day=day, hour=11)
    post = scheduled._post

    def refusing(transfer, internal=None, **options):
        if transfer.pk == poisoned.pk:
            raise InvalidPosting("a line without an account")
        return post(transfer, internal, **options)

    monkeypatch.setattr(scheduled, "_post", refusing)
    refused_alone_by_the_batch(day, poisoned, later, first_account)


# --- F5: a 仕向 record the day's 全銀 file cannot carry ------------------------------------------

NAMES = "CI212"


def _other_bank_executed(amount: int = 10_000, *, email: str = "payer@example.jp"):
    from tests.transfers.support import content_for, execute, other_bank_payee

    customer, debit = payer(email=email)
    return execute(customer, content_for(customer, debit, other_bank_payee(), amount))


@pytest.mark.parametrize("column, value", [
    ("bank_kana", "三菱"), ("branch_kana", "本店"), ("bank_kana", "ﾐﾂﾋﾞｼ,"),
])
def test_an_outgoing_record_names_its_bank_in_zengin_characters(column, value):
    """dbprobe26 F5 (transfers 0021): the app's role stored a 仕向 record of its own
    executed other-bank transfer with 被仕向金融機関名 '三菱'; the day's file refused to be
    written. A record's names are in the Zengin characters (CI212)."""
    from transfers.models import OutgoingTransfer

    executed = _other_bank_executed()
    record = OutgoingTransfer.objects.get(transfer=executed)
    assert record.bank_kana and record.branch_kana  # the directory's, as the file writes them
    columns = [field.column for field in OutgoingTransfer._meta.concrete_fields if field.column != "id"]
    values = ["%s" if name == column else name for name in columns]
    assert refused(f"INSERT INTO transfers_outgoingtransfer ({', '.join(columns)}) SELECT {', '.join(values)}"
                   " FROM transfers_outgoingtransfer WHERE id = %s", [value, record.pk]) == NAMES


@pytest.mark.parametrize("column, value", [("holder_kana", "田中 花子"), ("sender_name", "ﾔﾏﾀﾞ､ﾀﾛｳ")])
def test_a_transfer_names_its_payee_and_sender_in_zengin_characters(column, value):
    """(transfers 0021) The transfer's 受取人名 and 依頼人名 — what its 仕向 record copies —
    are in the Zengin characters, as the form and 口座名義確認 give them (CI212)."""
    customer, account = payer()
    booked = schedule(customer, account, 10_000, day=future_day())
    stepup = _stepup_for(customer, booked, **{column: value})
    sql, params = _copy_of(booked, stepup_id=("%s", [stepup.pk]), **{column: ("%s", [value])})
    assert refused(sql, params) == NAMES


def test_a_record_the_file_cannot_write_is_held_back_not_the_days_file(monkeypatch, staff_client):
    """dbprobe26 F5: a record stored before transfers 0021 that the file cannot carry (here
    its bank name made unwritable in memory) is held back — it stays 未送信, the failure is
    audited, and staff read which record and why in Japanese — while the day's other records
    go into the file."""
    from security.models import AuditEvent
    from transfers.interbank import services as interbank
    from transfers.models import InterbankOutgoingFile, OutgoingTransfer

    bad = _other_bank_executed(10_000, email="bad@example.jp").outgoing
    good = _other_bank_executed(20_000, email="good@example.jp").outgoing
    data_record = interbank._data_record

    def planted(record):
        written = data_record(record)
        if record.pk == bad.pk:
            from dataclasses import replace
            return replace(written, bank_kana="三菱")
        return written

    monkeypatch.setattr(interbank, "_data_record", planted)
    day = bad.settlement_date
    page = staff_client.get("/admin/transfers/interbankoutgoingfile/exchange/", {"day": day.isoformat()})
    assert f"データ番号 {bad.pk}（ﾀﾅｶ ﾊﾅｺ 10,000円）は全銀形式で書けないため" in page.content.decode()
    response = staff_client.post("/admin/transfers/interbankoutgoingfile/exchange/", {"day": day.isoformat()})
    assert response.status_code == 302
    file = InterbankOutgoingFile.objects.get()
    assert (file.record_count, file.total_amount) == (1, 20_000)
    shown = staff_client.get(response["Location"]).content.decode()
    assert f"データ番号 {bad.pk}（ﾀﾅｶ ﾊﾅｺ 10,000円）は全銀形式で書けないため" in shown
    assert "未送信のまま残ります" in shown and "全銀協の文字にない「三」" in shown
    assert OutgoingTransfer.objects.get(pk=bad.pk).status == "pending"
    assert OutgoingTransfer.objects.get(pk=good.pk).status == "sent"
    assert AuditEvent.objects.filter(action="interbank_outgoing", outcome="failure").exists()
    # the held record alone: no file, the reason said
    with pytest.raises(interbank.TransferRefused) as caught:
        interbank.outgoing_file_create(day=day, staff="staff-t")
    assert "全銀形式で書けない" in caught.value.message and InterbankOutgoingFile.objects.count() == 1


# --- F8: a registered payee repointed by DELETE + INSERT ----------------------------------------

PAYEE = "CI213"


def test_a_payee_is_registered_only_after_a_transfer_to_its_account():
    """dbprobe26 F8 (transfers 0022): 0016 refused repointing 「田中さん」 by UPDATE; the
    reviewer deleted it and inserted it again with another 口座番号 in one statement. A payee
    names an account the customer has a transfer to (XFER-7: registered after a transfer),
    so the copy is refused (CI213); deleting a payee (振込先の管理) and registering it again
    after its transfer still work."""
    from tests.transfers.support import content_for, execute, other_bank_payee
    from transfers import services
    from transfers.models import Payee

    customer, debit = payer()
    executed = execute(customer, content_for(customer, debit, other_bank_payee(), 10_000))
    payee = services.payee_register(customer=customer, transfer=executed)
    services.payee_rename(customer=customer, payee=payee, nickname="田中さん")
    assert refused(
        "WITH d AS (DELETE FROM transfers_payee WHERE customer_id = %s AND nickname = '田中さん' RETURNING *)"
        " INSERT INTO transfers_payee (bank_code, bank_name, branch_code, branch_name, account_type, account_number,"
        " holder_kana, nickname, created_at, customer_id)"
        " SELECT bank_code, bank_name, branch_code, branch_name, account_type, '0099999', holder_kana, nickname,"
        " created_at, customer_id FROM d", [customer.pk]) == PAYEE
    stranger, _ = payer(email="stranger@example.jp")
    for customer_id, number in ((customer.pk, "0099999"), (stranger.pk, "0012345")):  # no transfer of theirs to it
        assert refused("INSERT INTO transfers_payee (bank_code, bank_name, branch_code, branch_name, account_type,"
                       " account_number, holder_kana, nickname, created_at, customer_id)"
                       " VALUES ('0161', '池田泉州銀行', '002', '貝塚', '1', %s, 'ﾀﾅｶ ﾊﾅｺ', '', now(), %s)",
                       [number, customer_id]) == PAYEE
    assert list(Payee.objects.values_list("account_number", "nickname")) == [("0012345", "田中さん")]
    services.payee_delete(customer=customer, payee=payee)
    again = services.payee_register(customer=customer, transfer=executed)
    assert (again.account_number, Payee.objects.count()) == ("0012345", 1)


# --- F13: a customer's limit row deleted: the batch skipped their 予約振込 ------------------------

LIMIT = "CI214"


def test_a_customers_limit_row_is_never_deleted_nor_moved():
    """dbprobe26 F13 (transfers 0023): the row is the customer's lock, which the batch's
    claim takes with the transfer; deleted, that customer's 予約振込 were skipped without a
    word. For the app's role it is never deleted nor given to another customer (CI214);
    利用限度額変更 still changes it."""
    from transfers import services
    from transfers.models import TransferLimit

    customer, account = payer()
    schedule(customer, account, 10_000, day=future_day())
    stranger, _ = payer(email="stranger@example.jp")
    assert refused("DELETE FROM transfers_transferlimit WHERE customer_id = %s", [customer.pk]) == LIMIT
    assert refused("UPDATE transfers_transferlimit SET customer_id = %s WHERE customer_id = %s",
                   [stranger.pk, customer.pk]) == LIMIT
    services.transfer_limit_change(customer=customer, new_limit=500_000)
    assert TransferLimit.objects.get(customer=customer).daily_limit == 500_000


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_the_batch_does_not_skip_a_customer_whose_limit_row_is_gone():
    """(dbprobe26 F13) A row only the owner can now remove: the batch makes the default row
    for a customer with a due transfer before it claims, and executes the transfer."""
    from django.db import connections

    from transfers.models import TransferLimit

    day = past_business_day()
    customer, account = funded_payer(50_000, day=day)
    booked = schedule(customer, account, 10_000, day=day)
    with connections["owner"].cursor() as cursor:
        cursor.execute("DELETE FROM transfers_transferlimit WHERE customer_id = %s", [customer.pk])
    assert not TransferLimit.objects.filter(customer=customer).exists()
    result = scheduled.transfers_execute_due(day=day)
    assert (result.executed, result.unprocessed) == (1, 0)
    booked.refresh_from_db()
    assert booked.status == "executed"
    assert TransferLimit.objects.filter(customer=customer).exists()
