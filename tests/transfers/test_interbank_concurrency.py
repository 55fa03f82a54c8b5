"""XFER-12 under real concurrency: two staff download the day's 仕向 file at the same
moment; every transfer ends up in exactly one file. A 資金返却 and an incoming credit to the
same account at once both post, without a deadlock.

``run_concurrently`` only lines up the threads' start: the requests may still run one after
the other. What a loser is told (probe35 F3) is proved with ``lockrace.race``, which pauses
the first request while it holds its locks and checks that the second waits for them."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from accounts.models import Account
from tests.lockrace import inserting, race
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from tests.transfers.test_concurrency import run_concurrently
from transfers.interbank import services as interbank
from transfers.models import (
    InterbankIncomingFile,
    InterbankIncomingRecord,
    InterbankOutgoingFile,
    InterbankOutgoingItem,
    OutgoingTransfer,
)

pytestmark = pytest.mark.django_db(transaction=True)
FRIDAY = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
# where the second request waits is asserted: give it time to get there on a loaded machine
# (the pause ends as soon as it waits)
WAIT_SEEN_WITHIN = 45
# the first upload holds the file row's lock inside a record's transaction (credited, about to
# store the record)
UPLOAD_HOLDING_THE_FILE = inserting("transfers_interbankincomingrecord")


def waited_for_the_file_row(waited_in: list[str]) -> bool:
    """Whether the second upload was seen waiting in the record loop's lock of the file row
    (``SELECT … FROM transfers_interbankincomingfile … FOR UPDATE``: no other statement locks it)."""
    return (bool(waited_in) and waited_in[0].lstrip().startswith("SELECT")
            and 'FROM "transfers_interbankincomingfile"' in waited_in[0] and "FOR UPDATE" in waited_in[0])


def test_two_concurrent_downloads_never_share_a_transfer():
    with time_machine.travel(FRIDAY, tick=False):
        customer, debit = payer(balance=5_000_000)
        for amount in (10_000, 20_000, 30_000, 40_000):
            execute(customer, content_for(customer, debit, other_bank_payee(), amount))
        outcomes = run_concurrently([
            lambda staff=staff: interbank.outgoing_file_create(day=FRIDAY.date(), staff=staff)
            for staff in ("staff-a", "staff-b")])
    made = [value for kind, value in outcomes if kind == "ok"]
    assert made, outcomes
    assert InterbankOutgoingItem.objects.count() == 4  # each transfer in one file
    assert sum(file.total_amount for file in InterbankOutgoingFile.objects.all()) == 100_000
    assert set(OutgoingTransfer.objects.values_list("status", flat=True)) == {"sent"}
    for kind, value in outcomes:
        if kind == "refused":
            # the loser waited for the winner's file and names it (probe35: not 「ありません」
            # alone while that file was not yet committed — staff might never send it)
            assert "未送信の他行宛振込はありません" in value.message
            assert f"作成済みの仕向ファイル：{made[-1]}（" in value.message and "staff-" in value.message


def test_the_second_create_waits_for_the_file_being_written_and_names_it():
    """XFER-12, STAFF-1 (probe35, the 仕向 side of F3), the overlap forced: the first request
    holds the day's transfers and is about to write its file. The second skips them (SKIP
    LOCKED: nothing left), then waits for them in the blocking re-query — not 「ありません」 at
    once, before the first's file is committed — and then names the file the first made."""
    from transfers.errors import TransferRefused

    with time_machine.travel(FRIDAY, tick=False):
        customer, debit = payer(balance=5_000_000)
        for amount in (10_000, 20_000):
            execute(customer, content_for(customer, debit, other_bank_payee(), amount))
        waited_in: list[str] = []
        outcomes = race(lambda: interbank.outgoing_file_create(day=FRIDAY.date(), staff="staff-a"),
                        lambda: interbank.outgoing_file_create(day=FRIDAY.date(), staff="staff-b"),
                        pause_before=inserting("transfers_interbankoutgoingfile"), waited_in=waited_in,
                        pause_seconds=WAIT_SEEN_WITHIN)
    assert outcomes["paused"] and outcomes["first"][0] == "ok", outcomes
    made = outcomes["first"][1]
    assert (made.record_count, made.total_amount) == (2, 30_000)
    # the second waited for the transfers being written: in the re-query, as the claim (SKIP
    # LOCKED) never waits (pg_stat_activity keeps the first 1 kB: the columns, not the FOR UPDATE)
    assert waited_in and waited_in[0].lstrip().startswith("SELECT") and '"transfers_outgoingtransfer"' in waited_in[0], \
        (waited_in, outcomes)
    kind, refused = outcomes["second"]
    assert kind == "error" and isinstance(refused, TransferRefused), outcomes
    assert refused.message.startswith("2026年12月4日決済の未送信の他行宛振込はありません。"), refused.message
    assert f"作成済みの仕向ファイル：{made}（" in refused.message and "staff-a作成）" in refused.message, refused.message
    assert InterbankOutgoingFile.objects.get() == made and InterbankOutgoingItem.objects.count() == 2


def test_the_same_incoming_file_uploaded_twice_at_once_credits_once():
    from accounts.models import Account, Journal
    from tests import factories
    from tests.transfers.test_interbank_services import incoming_file

    accounts = [factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ")) for _ in range(3)]
    data = incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 10_000 * (index + 1)) for index, account in enumerate(accounts)])
    journals = Journal.objects.count()
    outcomes = run_concurrently([
        lambda staff=staff: interbank.incoming_file_upload(data=data, filename="in.txt", staff=staff)
        for staff in ("staff-a", "staff-b")])
    results = [value for _, value in outcomes]
    assert sum(result.credited for result in results) == 3
    assert Journal.objects.count() == journals + 3
    assert InterbankIncomingRecord.objects.filter(status="credited").count() == 3
    assert [Account.objects.get(pk=account.pk).balance for account in accounts] == [10_000, 20_000, 30_000]


def test_a_return_while_an_incoming_file_credits_the_same_account_does_not_deadlock():
    """The return locked its transfer, the customer and the debit account with its own row
    (a FOR UPDATE over the joined rows), then the posting locked the 為替決済 account; the
    incoming credit locks the 為替決済 account, then the customer's (ledger_post: id order,
    and the internal accounts are the oldest): each waited for the other (40P01). The
    return now locks its own row only; the posting takes the accounts in id order."""
    from tests.transfers.test_interbank_services import incoming_file

    with time_machine.travel(FRIDAY, tick=False):
        customer, debit = payer(balance=5_000_000)
        sent = execute(customer, content_for(customer, debit, other_bank_payee(), 50_000))
        interbank.outgoing_file_create(day=FRIDAY.date(), staff="staff-a")
        data = incoming_file([(debit, debit.holder_kana, 10_000)])
        before = Account.objects.get(pk=debit.pk).balance
        outcomes = race(
            lambda: interbank.outgoing_return(outgoing=sent.outgoing, reason="no_account", staff="staff-a").amount,
            lambda: interbank.incoming_file_upload(data=data, filename="in.txt", staff="staff-b").credited,
            pause_before=lambda sql, params: "ledger_post(" in sql)
    # the deadlock did not show as an error: the ledger's refusal made the record 入金不能
    # (「システムエラー…」), the money left unapplied
    assert outcomes == {"paused": True, "first": ("ok", 50_000), "second": ("ok", 1)}, (
        outcomes, list(InterbankIncomingRecord.objects.values_list("reason", flat=True)))
    assert Account.objects.get(pk=debit.pk).balance == before + 60_000


def test_two_files_with_the_same_records_uploaded_at_once_credit_each_record_once():
    """XFER-12 (walk25 F8): the file and the file with its records in another order, uploaded
    at the same moment, are one file (one identity): each record is credited once, under the
    stored file's line (the second upload handles the stored lines, not its own order)."""
    from accounts.models import Account, Journal
    from tests import factories
    from tests.transfers.test_interbank_services import _swapped, incoming_file

    accounts = [factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ")) for _ in range(3)]
    data = incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 10_000 * (index + 1)) for index, account in enumerate(accounts)])
    journals = Journal.objects.count()
    outcomes = run_concurrently([
        lambda staff=staff, content=content: interbank.incoming_file_upload(data=content, filename="in.txt",
                                                                             staff=staff)
        for staff, content in (("staff-a", data), ("staff-b", _swapped(data)))])
    results = [value for kind, value in outcomes if kind == "ok"]
    assert len(results) == 2, outcomes
    assert sum(result.credited for result in results) == 3 and not any(result.held for result in results)
    assert InterbankIncomingFile.objects.get().status == "done"
    assert Journal.objects.count() == journals + 3
    assert [Account.objects.get(pk=account.pk).balance for account in accounts] == [10_000, 20_000, 30_000]


def test_the_losers_of_a_concurrent_upload_are_told_the_file_was_already_imported():
    """XFER-12, STAFF-1 (probe35 F3): six uploads of one new file at once credited once, but
    the five that waited on the file row's lock found every record handled and reported
    「取り込みました：入金 0件」 — read by staff as a failed credit they might post by hand.
    They now report the file as already imported (as a later re-upload does), audited as
    refused, nothing credited by them."""
    from accounts.models import Account, Journal
    from security.models import AuditEvent
    from tests import factories
    from tests.transfers.test_interbank_services import incoming_file

    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    data = incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 3_535)])
    journals = Journal.objects.count()
    outcomes = run_concurrently([
        lambda: interbank.incoming_file_upload(data=data, filename="conc.txt", staff="staff-a")
        for _ in range(6)])
    results = [value for _, value in outcomes]
    winners = [result for result in results if not result.already_done]
    assert len(winners) == 1 and (winners[0].credited, winners[0].elsewhere) == (1, 0)
    assert all(result.credited == 0 and result.elsewhere == 0 for result in results if result.already_done)
    assert Journal.objects.count() == journals + 1
    assert Account.objects.get(pk=account.pk).balance == 3_535
    assert InterbankIncomingFile.objects.get().status == "done"
    audited = list(AuditEvent.objects.filter(action="interbank_incoming").values_list("outcome", "summary"))
    assert sorted(outcome for outcome, _ in audited) == ["refused"] * 5 + ["success"]
    assert all("取込済みのファイル（入金なし）" in summary for outcome, summary in audited if outcome == "refused")


def test_an_upload_that_waited_while_the_other_credited_every_record_says_already_imported():
    """XFER-12, STAFF-1 (probe35 F3), the overlap forced: the first upload holds the file row's
    lock inside its record's transaction (credited, the record about to be stored). The
    second, past the file's status check (not 取込済 yet), waits for that lock, then finds
    every record handled by the first: it reports the file as already imported (audited
    refused), not 「取り込みました：入金 0件」."""
    from accounts.models import Journal
    from security.models import AuditEvent
    from tests import factories
    from tests.transfers.test_interbank_services import incoming_file

    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    data = incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 3_535)])
    journals = Journal.objects.count()
    waited_in: list[str] = []
    outcomes = race(lambda: interbank.incoming_file_upload(data=data, filename="conc.txt", staff="staff-a"),
                    lambda: interbank.incoming_file_upload(data=data, filename="conc.txt", staff="staff-b"),
                    pause_before=UPLOAD_HOLDING_THE_FILE, waited_in=waited_in, pause_seconds=WAIT_SEEN_WITHIN)
    assert outcomes["paused"] and outcomes["first"][0] == "ok" and outcomes["second"][0] == "ok", outcomes
    assert waited_for_the_file_row(waited_in), (waited_in, outcomes)
    first, second = outcomes["first"][1], outcomes["second"][1]
    assert (first.credited, first.already_done, first.elsewhere) == (1, False, 0)
    assert (second.credited, second.unapplied, second.already_done) == (0, 0, True)
    assert Journal.objects.count() == journals + 1 and Account.objects.get(pk=account.pk).balance == 3_535
    assert InterbankIncomingFile.objects.get().status == "done"
    audited = sorted(AuditEvent.objects.filter(action="interbank_incoming").values_list("actor", "outcome"))
    assert audited == [("staff-a", "success"), ("staff-b", "refused")], audited
