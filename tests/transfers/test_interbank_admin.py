"""XFER-12, STAFF-1 in admin (Django client): branch staff check, create and download the
day's 仕向 file, register a return, upload a 被仕向 file and return a 入金不能 record."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Account
from security.models import AuditEvent
from tests import factories
from tests.security.test_staff_admin import staff, staff_client  # noqa: F401 - fixtures
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from tests.transfers.test_interbank_services import incoming_file
from transfers.models import InterbankIncomingRecord, InterbankOutgoingFile, InterbankReturn

pytestmark = pytest.mark.django_db
FRIDAY = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
RETURN_URL = "/admin/transfers/interbankoutgoingfile/return/"
RECORD_RETURN_REASON = "受取人口座なし。仕向金融機関に電話で連絡済み"


def confirm_fields(html: str) -> dict:
    """The hidden fields of a confirm page's form (walk26 F3: number, reason, token)."""
    return dict(re.findall(r'<input type="hidden" name="(number|reason|token)" value="([^"]*)"', html))


def return_in_admin(staff_client, number, reason: str):
    """振込資金返却 as staff do it: the データ番号 and reason, then the confirm page's submit."""
    shown = staff_client.post(RETURN_URL, {"number": str(number), "reason": reason})
    assert shown.status_code == 200 and not InterbankReturn.objects.filter(outgoing_id=number).exists()
    return staff_client.post(RETURN_URL, confirm_fields(shown.content.decode()))


def test_staff_create_download_and_return_in_admin(staff_client):
    with time_machine.travel(FRIDAY, tick=False):
        customer, debit = payer()
        transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 50_000))
        page = staff_client.get("/admin/transfers/interbankoutgoingfile/exchange/").content.decode()
        assert "ﾀﾅｶ ﾊﾅｺ" in page and "50,000円" in page and "一致" in page
        assert "不正" not in staff_client.get("/admin/transfers/interbankoutgoingfile/exchange/?day=x").content.decode()
        response = staff_client.post("/admin/transfers/interbankoutgoingfile/exchange/", {"day": "2026-12-04"})
        file = InterbankOutgoingFile.objects.get()
        assert response.status_code == 302
        # the created file's page: the message and amounts as staff read them, not
        # 「2026-12-04」 and 50000 (walk21)
        created = staff_client.get(response["Location"]).content.decode()
        assert f"仕向 第{file.pk}号 2026年12月4日 1件 50,000円を作成しました" in created
        assert created.count("50,000円") >= 2 and "50000<" not in created
        listed = staff_client.get("/admin/transfers/interbankoutgoingfile/").content.decode()
        assert listed.count("50,000円") == 2
        download = staff_client.get(f"/admin/transfers/interbankoutgoingfile/{file.pk}/download/")
        assert download.content == bytes(file.content)
        assert download["Content-Disposition"] == 'attachment; filename="sogo21_20261204_%06d.txt"' % file.pk
        again = staff_client.post("/admin/transfers/interbankoutgoingfile/exchange/", {"day": "2026-12-04"})
        assert InterbankOutgoingFile.objects.count() == 1 and again.status_code == 200
        assert "未送信の他行宛振込はありません" in again.content.decode()
        # the day's file named (the database stamps its time: the real clock's)
        assert re.search(f"作成済みの仕向ファイル：{file}（[0-9]{{2}}:[0-9]{{2}} staff-t作成）", again.content.decode())
        bad = staff_client.post("/admin/transfers/interbankoutgoingfile/return/",
                                {"number": "9" * 30, "reason": "no_account"}).content.decode()
        assert "20 文字以下" in bad or "10桁以内" in bad
        response = return_in_admin(staff_client, transfer.outgoing.pk, "no_account")
        assert response.status_code == 302
        assert InterbankReturn.objects.get().amount == 50_000
        assert "50,000円" in staff_client.get("/admin/transfers/interbankreturn/").content.decode()
        assert AuditEvent.objects.filter(action="interbank_download", actor="staff-t").exists()


def test_a_returned_transfer_says_so_to_the_customer_and_to_staff(staff_client, client):
    """XFER-12, ACCT-4 (walk25 F22): after a 振込資金返却 the customer's money came back, but
    the done page and admin's 振込 said 「振込済」, the 他行宛振込データ 「送信済」, the
    customer's 取引履歴照会 row said nothing (no 受付番号, amount or reason), and admin
    titled the records 「OutgoingTransfer object (1)」. The state stays 振込済 / 送信済 (it
    was made and sent); the return is read from its own record everywhere."""

    from accounts.templatetags.accounts_format import japanese_date
    from tests.accounts.test_statements_support import login
    from transfers.interbank import services as interbank

    with time_machine.travel(FRIDAY, tick=False):
        customer, debit = payer()
        transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 30_000))
        kept = execute(customer, content_for(customer, debit, other_bank_payee(account_number="7654321"), 10_000))
        interbank.outgoing_file_create(day=transfer.outgoing.settlement_date, staff="madoguchi")
        login(client, customer)
        assert "<dd>振込済</dd>" in client.get(f"/transfers/done/{transfer.pk}/").content.decode()
        response = return_in_admin(staff_client, transfer.outgoing.pk, "name_mismatch")
        assert response.status_code == 302
        returned = InterbankReturn.objects.get()
        said = f"資金返却：名義相違、{japanese_date(timezone.localdate(returned.created_at))}"
        done = client.get(f"/transfers/done/{transfer.pk}/").content.decode()
        assert f"<dd>振込済（{said}）</dd>" in done
        assert "<dd>振込済</dd>" in client.get(f"/transfers/done/{kept.pk}/").content.decode()
        history = client.get("/history/").content.decode()
        assert f"受付番号 {transfer.pk} ﾀﾅｶ ﾊﾅｺ 返却金額 30,000円 返却理由：名義相違" in history
        transfers = staff_client.get("/admin/transfers/transfer/").content.decode()
        assert f"振込済（{said}）" in transfers and transfers.count("（資金返却") == 1
        page = staff_client.get(f"/admin/transfers/transfer/{transfer.pk}/change/").content.decode()
        assert f"振込済（{said}）" in page
        outgoing = staff_client.get("/admin/transfers/outgoingtransfer/").content.decode()
        assert f"送信済（{said}）" in outgoing and outgoing.count("（資金返却") == 1
        detail = staff_client.get(f"/admin/transfers/outgoingtransfer/{transfer.outgoing.pk}/change/")
        assert f"送信済（{said}）" in detail.content.decode() and "object (" not in detail.content.decode()
        returns = staff_client.get("/admin/transfers/interbankreturn/").content.decode()
        assert f"データ番号 {transfer.outgoing.pk} ﾀﾅｶ ﾊﾅｺ 30,000円" in returns and "object (" not in returns
        page = staff_client.get(f"/admin/transfers/interbankreturn/{returned.pk}/change/").content.decode()
        assert f"振込資金返却 データ番号 {transfer.outgoing.pk} 30,000円 名義相違" in page
        assert "object (" not in page


def test_on_a_holiday_the_exchange_page_opens_on_the_next_business_day(staff_client):
    """XFER-12, STAFF-1: docs/interbank.md — a transfer made on a holiday settles on the next
    business day, so that is the 決済日 the page opens on; it opened on the calendar day (a
    Sunday), an empty list under 「この日は営業日ではありません」 (walk22)."""
    sunday = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    with time_machine.travel(sunday, tick=False):
        customer, debit = payer()
        execute(customer, content_for(customer, debit, other_bank_payee(), 50_000))
        page = staff_client.get("/admin/transfers/interbankoutgoingfile/exchange/").content.decode()
    assert 'value="2026-12-07"' in page and "2026年12月7日決済の未送信の他行宛振込" in page
    assert "ﾀﾅｶ ﾊﾅｺ" in page and "50,000円" in page and "この日は営業日ではありません" not in page


def test_staff_upload_an_incoming_file_and_return_what_cannot_be_credited(staff_client):
    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    data = incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (None, "ﾀﾞﾚｶ", 1_000)])
    response = staff_client.post("/admin/transfers/interbankincomingfile/upload/",
                                 {"file": SimpleUploadedFile("in.txt", data)}, follow=True)
    page = response.content.decode()
    assert "入金 1件、入金不能 1件" in page and "口座なし" in page
    assert "30,000円" in page and "1,000円" in page  # the records' amounts
    files = staff_client.get("/admin/transfers/interbankincomingfile/").content.decode()
    assert "31,000円" in files
    assert Account.objects.get(pk=account.pk).balance == 30_000
    response = staff_client.post("/admin/transfers/interbankincomingfile/upload/",
                                 {"file": SimpleUploadedFile("again.txt", data)}, follow=True)
    assert "取込済みです" in response.content.decode()
    assert Account.objects.get(pk=account.pk).balance == 30_000
    refused = staff_client.post("/admin/transfers/interbankincomingfile/upload/",
                                {"file": SimpleUploadedFile("bad.txt", data[:-122])}).content.decode()
    assert "取り込めません" in refused and "エンド・レコード" in refused
    record = InterbankIncomingRecord.objects.get(status="unapplied")
    staff_client.post("/admin/transfers/interbankincomingrecord/",
                      {"action": "mark_returned", "_selected_action": [record.pk], "post": "yes", "reason": RECORD_RETURN_REASON})
    assert InterbankIncomingRecord.objects.get(pk=record.pk).status == "returned"


def _uploads_from_one_session(staff, data: bytes):
    """The upload form posted from one staff session (the same browser), each call on its own
    connection (a thread of its own): the messages the page shows, as (level, text)."""
    from django.test import Client

    from tests.security.test_staff_admin import staff_signed_in

    signed_in = staff_signed_in(*staff)

    def upload():
        client = Client()
        client.cookies.load({name: morsel.value for name, morsel in signed_in.cookies.items()})
        page = client.post("/admin/transfers/interbankincomingfile/upload/",
                           {"file": SimpleUploadedFile("conc.txt", data)}, follow=True).content.decode()
        return re.findall(r'<li class="(success|warning|error)">(.*?)</li>', page)
    return upload


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_upload_says_once_what_was_credited_and_then_already_imported(staff):
    """XFER-12, STAFF-1 (probe35 F3): the upload form posted six times at once from one staff
    session (separate connections, real threads): one credit; one response says 「入金 1件」,
    the five others 「取込済みです。入金はしていません」 as a warning — not the success
    「取り込みました：入金 0件」 that staff could read as a failed credit and post by hand.
    (The threads start together but may run one after the other: the overlap is forced in
    the next test.)"""
    from tests.transfers.test_concurrency import run_concurrently

    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    upload = _uploads_from_one_session(staff, incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 3_535)]))
    told = [messages for _, messages in run_concurrently([upload] * 6)]
    assert Account.objects.get(pk=account.pk).balance == 3_535
    assert InterbankIncomingRecord.objects.get().status == "credited"
    assert len(told) == 6, told
    credited = [messages for messages in told if any("入金 1件" in text for _, text in messages)]
    assert len(credited) == 1 and credited[0][0][0] == "success", told
    others = [messages for messages in told if messages not in credited]
    for messages in others:
        assert [level for level, _ in messages] == ["warning"], told
        assert "は取込済みです。入金はしていません（二重入金はしません）。" in messages[0][1]
    assert not any("入金 0件" in text for messages in told for _, text in messages)


@pytest.mark.django_db(transaction=True)
def test_an_upload_sent_while_the_other_credits_says_already_imported(staff):
    """XFER-12, STAFF-1 (probe35 F3), the overlap forced (``lockrace.race``): the first post of
    the form holds the file row's lock inside its record's transaction; the second, from the
    same session, waits for it, finds the record credited and shows 「取込済みです。入金は
    していません」 as a warning — never 「取り込みました：入金 0件」 as a success."""
    from tests.lockrace import race
    from tests.transfers.test_interbank_concurrency import (
        UPLOAD_HOLDING_THE_FILE,
        WAIT_SEEN_WITHIN,
        waited_for_the_file_row,
    )

    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    upload = _uploads_from_one_session(staff, incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 3_535)]))
    waited_in: list[str] = []
    outcomes = race(upload, upload, pause_before=UPLOAD_HOLDING_THE_FILE, waited_in=waited_in,
                    pause_seconds=WAIT_SEEN_WITHIN)
    assert outcomes["paused"] and outcomes["first"][0] == "ok" and outcomes["second"][0] == "ok", outcomes
    assert waited_for_the_file_row(waited_in), (waited_in, outcomes)
    first, second = outcomes["first"][1], outcomes["second"][1]
    assert [level for level, _ in first] == ["success"] and "入金 1件、入金不能 0件。" in first[0][1], first
    assert [level for level, _ in second] == ["warning"], second
    assert "は取込済みです。入金はしていません（二重入金はしません）。" in second[0][1]
    assert Account.objects.get(pk=account.pk).balance == 3_535
    assert InterbankIncomingRecord.objects.get().status == "credited"


def test_the_account_column_names_only_an_account_credited(staff_client):
    """XFER-12 (walk25 F28): 振込入金明細 showed 「入金口座 003-普通-… ｽｽﾞｷ ｲﾁﾛｳ」 on a 入金不能
    名義相違 row — nothing was credited there. 入金口座 is 「—」 unless the record is 入金済;
    the record's page shows the account its number matched as 照合した口座."""
    suzuki = factories.account(owner=factories.customer(name_kana="ｽｽﾞｷ ｲﾁﾛｳ"))
    yamada = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    staff_client.post("/admin/transfers/interbankincomingfile/upload/", {"file": SimpleUploadedFile(
        "in.txt", incoming_file([(suzuki, "ﾀﾅｶ ｼﾞﾛｳ", 5_000), (yamada, "ﾔﾏﾀﾞ ﾀﾛｳ", 7_000)]))})
    unapplied = InterbankIncomingRecord.objects.get(status="unapplied")
    assert unapplied.account_id == suzuki.pk and unapplied.reason == "名義相違"
    listed = staff_client.get("/admin/transfers/interbankincomingrecord/").content.decode()
    assert _account_over_name(yamada) in listed and _account_over_name(suzuki) not in listed
    assert '<td class="field-credited_account">—</td>' in listed
    page = staff_client.get(f"/admin/transfers/interbankincomingrecord/{unapplied.pk}/change/").content.decode()
    assert "照合した口座" in page and str(suzuki) in page
    assert re.search(r"預金種目[^<]*</label>\s*<div class=\"readonly\">普通</div>", page)  # not 「1」 (walk29 F7)
    staff_client.post("/admin/transfers/interbankincomingrecord/",
                      {"action": "mark_returned", "_selected_action": [unapplied.pk], "post": "yes", "reason": RECORD_RETURN_REASON})
    listed = staff_client.get("/admin/transfers/interbankincomingrecord/?status__exact=returned").content.decode()
    assert _account_over_name(suzuki) not in listed and '<td class="field-credited_account">—</td>' in listed


def test_staff_without_the_exchange_permission_are_refused(staff, staff_client):
    user, _device = staff
    user.groups.clear()
    for url in ("/admin/transfers/interbankoutgoingfile/exchange/", "/admin/transfers/interbankincomingfile/upload/",
                "/admin/transfers/interbankoutgoingfile/return/"):
        assert staff_client.get(url).status_code == 403, url
        assert staff_client.post(url, {"day": "2026-12-04"}).status_code == 403, url
    assert not InterbankOutgoingFile.objects.exists()


def test_the_customer_statement_shows_the_return_and_the_incoming_credit(client):
    """Real clock here: the ledger stamps postings with the database's clock."""

    from accounts.models import Entry
    from tests.accounts.test_statements_support import login
    from transfers.interbank import services as interbank

    customer, debit = payer()
    transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 50_000))
    interbank.outgoing_file_create(day=transfer.outgoing.settlement_date, staff="madoguchi")
    interbank.outgoing_return(outgoing=transfer.outgoing, reason="no_account", staff="madoguchi")
    assert debit.holder_kana == "ﾔﾏﾀﾞ ﾀﾛｳ"  # the name the incoming record carries (set at opening)
    interbank.incoming_file_upload(data=incoming_file([(debit, "ﾔﾏﾀﾞ ﾀﾛｳ", 7_000)]), filename="in.txt",
                                   staff="madoguchi")
    login(client, customer)
    posted = timezone.localdate(Entry.objects.filter(account=debit).latest("id").posted_at)
    html = client.get("/accounts/statements/", {"account": debit.pk, "mode": "date",
                                                "date": posted.isoformat()}).content.decode()
    assert "振込資金返却 ﾀﾅｶ ﾊﾅｺ" in html and "振込入金 ｶ)ﾅﾆﾜｼﾖｳｼﾞ" in html


def test_staff_are_told_which_lines_are_held_and_release_one(staff_client):
    """XFER-12 (walk25 F8): a record already credited from another file is 入金保留; the message
    names its line and the record it repeats; staff release it after checking (or return it)."""
    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    staff_client.post("/admin/transfers/interbankincomingfile/upload/",
                      {"file": SimpleUploadedFile("in.txt", incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000)]))})
    first = InterbankIncomingRecord.objects.get()
    data = incoming_file([(None, "ﾀﾞﾚｶ", 1_000), (account, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000)])
    page = staff_client.post("/admin/transfers/interbankincomingfile/upload/",
                             {"file": SimpleUploadedFile("in-2.txt", data)}, follow=True).content.decode()
    assert "入金 0件、入金不能 1件、入金保留 1件" in page
    assert f"3行目（第{first.file_id}号 2行目、入金済）" in page and "入金保留" in page
    assert Account.objects.get(pk=account.pk).balance == 30_000
    held = InterbankIncomingRecord.objects.get(status="held")
    unapplied = InterbankIncomingRecord.objects.get(status="unapplied")
    # walk26 F4: the action first lists what it would credit, and credits nothing
    chosen = {"action": "release_held", "_selected_action": [held.pk, unapplied.pk]}
    shown = staff_client.post("/admin/transfers/interbankincomingrecord/", chosen)
    page = shown.content.decode()
    assert shown.status_code == 200 and "まだ入金していません" in page
    assert "入金 1件　合計 30,000円" in page and "入金する（1件 30,000円）" in page
    rows = re.findall(r"<tr>\s*<td>(.*?)</tr>", page, re.S)
    assert len(rows) == 2
    held_row = next(row for row in rows if f"第{held.file_id}号 {held.line}行目" in row)
    assert str(account) in held_row and "30,000円" in held_row
    assert f"第{first.file_id}号 {first.line}行目 入金済" in held_row
    other_row = next(row for row in rows if row is not held_row)
    assert "入金不能のため入金しません" in other_row and "1,000円" in other_row
    assert InterbankIncomingRecord.objects.get(pk=held.pk).status == "held"
    assert Account.objects.get(pk=account.pk).balance == 30_000
    hidden = dict(re.findall(r'<input type="hidden" name="(action|post)" value="([^"]*)"', page))
    assert hidden == {"action": "release_held", "post": "yes"}
    # walk31 F4: the page submits the line it credits, not the one it said it would not
    assert _submitted_ids(page) == [held.pk]
    submitted = {**chosen, "_selected_action": _submitted_ids(page), "post": "yes"}
    done = staff_client.post("/admin/transfers/interbankincomingrecord/", submitted, follow=True)
    assert "1件を入金しました。" in done.content.decode() and "入金保留の明細だけを入金できます" not in done.content.decode()
    assert InterbankIncomingRecord.objects.get(pk=held.pk).status == "credited"
    assert Account.objects.get(pk=account.pk).balance == 60_000
    # the confirm page posted again (a replay, another tab) credits nothing more, and says
    # why — not 「0件を入金しました。」 (walk27 F4)
    again = staff_client.post("/admin/transfers/interbankincomingrecord/", submitted, follow=True).content.decode()
    assert (f"第{held.file_id}号 {held.line}行目（{_by_whom_and_when(held)}）は既に入金済みです（何もしていません。二重には入金していません）。"
            in again) and "0件" not in again
    assert Account.objects.get(pk=account.pk).balance == 60_000
    assert AuditEvent.objects.filter(action="interbank_incoming_release").count() == 1


def test_a_return_shows_the_record_and_posts_only_on_the_confirm_pages_submit(staff_client):
    """XFER-12, STAFF-1 (walk26 F3): a typed データ番号 (full-width too) and 返却理由 credited
    the customer at once — a typo credited the wrong customer for good. The first submit
    shows the record; only the confirm page's own submit, bound to that record, reason and
    staff member by a signed token, posts. A replay, or two tabs, returns once."""
    from transfers.interbank import services as interbank
    from transfers.interbank.forms import RETURN_CONFIRM_STALE

    with time_machine.travel(FRIDAY, tick=False) as traveller:
        customer, debit = payer()
        transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 50_000))
        other = execute(customer, content_for(customer, debit, other_bank_payee(account_number="7654321"), 20_000))
        interbank.outgoing_file_create(day=transfer.outgoing.settlement_date, staff="madoguchi")
        balance = Account.objects.get(pk=debit.pk).balance
        number = transfer.outgoing.pk
        typed = str(number).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        shown = staff_client.post(RETURN_URL, {"number": typed, "reason": "name_mismatch"})
        page = shown.content.decode()
        assert shown.status_code == 200 and "振込資金返却の確認" in page and "まだ返却していません" in page
        for said in (f"{customer.contract_id} {customer.name_kanji}", str(debit), "ﾀﾅｶ ﾊﾅｺ", "0161", "0012345",
                     "普通", "2026年12月4日", "50,000円", "名義相違", f"データ番号 {number}"):
            assert said in page, said
        assert not InterbankReturn.objects.exists() and Account.objects.get(pk=debit.pk).balance == balance
        fields = confirm_fields(page)
        assert fields["number"] == str(number) and fields["reason"] == "name_mismatch" and fields["token"]
        # the token names this record and reason: another record or reason under it posts nothing
        for tampered in ({**fields, "number": str(other.outgoing.pk)}, {**fields, "reason": "no_account"},
                         {**fields, "token": fields["token"][:-2] + "xx"}):
            refused = staff_client.post(RETURN_URL, tampered)
            assert refused.status_code == 200 and RETURN_CONFIRM_STALE in refused.content.decode()
        assert not InterbankReturn.objects.exists()
        # two tabs: the same record confirmed twice
        second_tab = confirm_fields(staff_client.post(RETURN_URL, {"number": str(number),
                                                                   "reason": "name_mismatch"}).content.decode())
        done = staff_client.post(RETURN_URL, fields)
        returned = InterbankReturn.objects.get()
        assert done.status_code == 302 and done["Location"].endswith(f"/interbankreturn/{returned.pk}/change/")
        result = staff_client.get(done["Location"]).content.decode()
        assert (f"振込資金返却を登録しました：データ番号 {number}（{customer}、受取人 ﾀﾅｶ ﾊﾅｺ）の50,000円を"
                f"ご依頼人の口座 {debit} に入金しました（返却理由：名義相違）。") in result
        assert Account.objects.get(pk=debit.pk).balance == balance + 50_000
        for again in (fields, second_tab):  # a replay of the POST, and the other tab
            twice = staff_client.post(RETURN_URL, again)
            assert twice["Location"].endswith(f"/interbankreturn/{returned.pk}/change/")
            assert "既に返却済みです。二重には返却していません" in staff_client.get(twice["Location"]).content.decode()
        assert InterbankReturn.objects.count() == 1 and Account.objects.get(pk=debit.pk).balance == balance + 50_000
        # the first step already says a record is returned, before any confirm page
        said = staff_client.post(RETURN_URL, {"number": str(number), "reason": "no_account"}).content.decode()
        assert "この振込は既に返却済みです。" in said and "まだ返却していません" not in said
        stale = confirm_fields(staff_client.post(RETURN_URL, {"number": str(other.outgoing.pk),
                                                              "reason": "closed"}).content.decode())
        for minutes in (14, 14, 3):  # staff active in another tab; the confirm page left open
            traveller.shift(dt.timedelta(minutes=minutes))
            assert staff_client.get("/admin/").status_code == 200
        late = staff_client.post(RETURN_URL, stale)
        assert RETURN_CONFIRM_STALE in late.content.decode() and InterbankReturn.objects.count() == 1
        assert AuditEvent.objects.filter(action="interbank_return").count() == 1


def test_the_outgoing_record_and_the_return_read_as_staff_read_them(staff_client):
    """XFER-12, STAFF-1 (walk26 F13): the 他行宛振込データ page showed 振込金額 「49450」 and
    預金種目 「1」 raw; the 振込資金返却 page labelled its journal 「振込」 (the ledger's kind)."""
    from transfers.interbank import services as interbank

    with time_machine.travel(FRIDAY, tick=False):
        customer, debit = payer()
        transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 49_450))
        interbank.outgoing_file_create(day=transfer.outgoing.settlement_date, staff="madoguchi")
        returned = interbank.outgoing_return(outgoing=transfer.outgoing, reason="closed", staff="madoguchi")
    page = staff_client.get(f"/admin/transfers/outgoingtransfer/{transfer.outgoing.pk}/change/").content.decode()
    amount = re.search(r'field-amount_yen.*?<div class="readonly">(.*?)</div>', page, re.S)
    kind = re.search(r'field-account_type_text.*?<div class="readonly">(.*?)</div>', page, re.S)
    assert amount[1] == "49,450円" and kind[1] == "普通" and ">49450<" not in page
    listed = staff_client.get("/admin/transfers/outgoingtransfer/").content.decode()
    assert "普通-0012345" in listed and "49,450円" in listed
    page = staff_client.get(f"/admin/transfers/interbankreturn/{returned.pk}/change/").content.decode()
    journal = re.search(r'field-journal_text.*?<div class="readonly">(.*?)</div>', page, re.S)[1]
    assert f"仕訳 #{returned.journal_id} 振込資金返却 ﾀﾅｶ ﾊﾅｺ" in journal and " 振込 " not in journal
    assert f"/admin/accounts/journal/{returned.journal_id}/change/" in journal
    assert staff_client.get(f"/admin/accounts/journal/{returned.journal_id}/change/").status_code == 200


@pytest.mark.parametrize("posted", [
    {"token": "", "number": "1", "reason": "closed"},
    {"token": "x:y:z", "number": "abc", "reason": "closed"},
    {"token": "あ" * 300, "number": "１", "reason": "zzz"},
    {"token": "\x00", "number": "9" * 5000, "reason": ""},
    {"token": "eyJ9:1:2"},
])
def test_an_odd_confirm_submit_returns_nothing_and_says_why(staff_client, posted):
    """walk26 F3: whatever the confirm form carries, nothing is returned and staff read a
    Japanese message on the page — never a 500."""
    response = staff_client.post(RETURN_URL, posted)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert "振込資金返却の登録" in response.content.decode()
    assert not InterbankReturn.objects.exists()


def test_two_tabs_releasing_one_held_record_say_the_second_did_nothing(staff_client):
    """walk27 F4: two tabs release the same 入金保留 record; the second said
    「0件を入金しました。」, which read as a failure. It says the record is already credited;
    a second 返却済にする likewise."""
    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    for name, other_amount in (("a.txt", 1_000), ("b.txt", 2_000)):
        staff_client.post("/admin/transfers/interbankincomingfile/upload/", {"file": SimpleUploadedFile(
            name, incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (None, "ﾀﾞﾚｶ", other_amount)]))})
    held = InterbankIncomingRecord.objects.get(status="held")
    release = {"action": "release_held", "_selected_action": [held.pk], "post": "yes"}
    url = "/admin/transfers/interbankincomingrecord/"
    first = staff_client.post(url, release, follow=True).content.decode()
    assert "1件を入金しました。" in first
    second = staff_client.post(url, release, follow=True).content.decode()
    assert f"第{held.file_id}号 {held.line}行目（{_by_whom_and_when(held)}）は既に入金済みです（何もしていません。二重には入金していません）。" in second
    assert "0件" not in second and "入金した明細はありません" not in second
    assert Account.objects.get(pk=account.pk).balance == 60_000
    assert AuditEvent.objects.filter(action="interbank_incoming_release").count() == 1
    unapplied = list(InterbankIncomingRecord.objects.filter(status="unapplied").order_by("id"))
    returned = {"action": "mark_returned", "_selected_action": [unapplied[0].pk], "post": "yes", "reason": RECORD_RETURN_REASON}
    assert "1件を返却済にしました。" in staff_client.post(url, returned, follow=True).content.decode()
    again = staff_client.post(url, returned, follow=True).content.decode()
    assert (f"第{unapplied[0].file_id}号 {unapplied[0].line}行目（{_by_whom_and_when(unapplied[0])}）は既に返却済です"
            "（何もしていません。今回入力された返却理由は記録していません）。") in again and "0件" not in again
    # a record that cannot be released and was not released meanwhile: said, and nothing done
    other = unapplied[1]
    page = staff_client.post(url, {**release, "_selected_action": [other.pk]}, follow=True).content.decode()
    assert "入金保留の明細だけを入金できます" in page and "入金した明細はありません。" in page


def test_a_release_that_lost_to_a_return_says_it_was_returned_and_by_whom(staff_client):
    """walk30 F4: tab A's 入金する confirm, tab B's 返却済にする of the same 入金保留 record
    first; tab A then read only 「入金保留の明細だけを入金できます」. It says the record was
    returned meanwhile, by whom, and that nothing was done; nothing is credited."""
    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    for name, other_amount in (("a.txt", 1_000), ("b.txt", 2_000)):
        staff_client.post("/admin/transfers/interbankincomingfile/upload/", {"file": SimpleUploadedFile(
            name, incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (None, "ﾀﾞﾚｶ", other_amount)]))})
    held = InterbankIncomingRecord.objects.get(status="held")
    url = "/admin/transfers/interbankincomingrecord/"
    returned = {"action": "mark_returned", "_selected_action": [held.pk], "post": "yes", "reason": RECORD_RETURN_REASON}
    assert "1件を返却済にしました。" in staff_client.post(url, returned, follow=True).content.decode()
    balance = Account.objects.get(pk=account.pk).balance
    lost = staff_client.post(url, {"action": "release_held", "_selected_action": [held.pk], "post": "yes"},
                             follow=True).content.decode()
    now = InterbankIncomingRecord.objects.get(pk=held.pk)
    assert now.returned_by and now.return_reason == RECORD_RETURN_REASON and now.returned_at is not None
    when = timezone.localtime(now.returned_at)
    assert (f"第{held.file_id}号 {held.line}行目は、別の画面（または別の職員）で既に返却済に"
            f"なっています（{now.returned_by}、{when.year}年{when.month}月{when.day}日 {when.hour}:{when:%M}）。"
            "この明細には何もしていません。") in lost
    assert "入金保留の明細だけを入金できます" not in lost
    # the record's page says why and when it went back (walk30 F4), not only the 操作ログ
    page = staff_client.get(f"{url}{held.pk}/change/").content.decode()
    assert "返却理由" in page and RECORD_RETURN_REASON in page and "返却日時" in page
    listed = staff_client.get(f"{url}?status__exact=returned").content.decode()
    assert f'<span class="status-label">返却済</span>（返却理由：{RECORD_RETURN_REASON}）' in listed  # why too (walk31 F5)
    assert Account.objects.get(pk=account.pk).balance == balance


def test_two_tabs_on_the_held_list_say_the_second_did_nothing(staff_client):
    """walk28 F1: the same two tabs, started from the 入金保留 list staff are sent to
    (``?status__exact=held``). Django narrows the action's records by that filter, so the
    record tab 1 credited dropped out of tab 2's action, which said only
    「入金した明細はありません。」; a confirm page opened after the credit listed nothing."""
    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    staff_client.post("/admin/transfers/interbankincomingfile/upload/", {"file": SimpleUploadedFile(
        "big.txt", incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 150_000_000), (None, "ﾀﾞﾚｶ", 1_000)]))})
    held = InterbankIncomingRecord.objects.get(status="held")
    url = "/admin/transfers/interbankincomingrecord/?status__exact=held"
    chosen = {"action": "release_held", "_selected_action": [held.pk]}
    for tab in (1, 2):
        shown = staff_client.post(url, chosen).content.decode()
        assert "まだ入金していません" in shown and "150,000,000円" in shown
    first = staff_client.post(url, {**chosen, "post": "yes"}, follow=True).content.decode()
    assert "1件を入金しました。" in first
    second = staff_client.post(url, {**chosen, "post": "yes"}, follow=True).content.decode()
    assert f"第{held.file_id}号 {held.line}行目（{_by_whom_and_when(held)}）は既に入金済みです（何もしていません。二重には入金していません）。" in second
    assert "入金した明細はありません" not in second and "0件" not in second
    assert Account.objects.get(pk=account.pk).balance == 150_000_000
    assert AuditEvent.objects.filter(action="interbank_incoming_release").count() == 1
    # a confirm page opened after the credit lists the record as credited, and offers no 入金する
    late = staff_client.post(url, chosen).content.decode()
    assert f"第{held.file_id}号 {held.line}行目" in late and "—（入金済のため入金しません）" in late
    assert "入金 0件" in late and 'value="入金する' not in late
    # 返却済にする on the filtered list, for the credited record: the service's reason, not silence
    unapplied = InterbankIncomingRecord.objects.get(status="unapplied")
    returned = staff_client.post(url, {"action": "mark_returned", "_selected_action": [held.pk, unapplied.pk], "post": "yes", "reason": RECORD_RETURN_REASON},
                                 follow=True).content.decode()
    assert "1件を返却済にしました。" in returned
    # credited by the release meanwhile (walk30 F4): said as such, with who released it
    released = InterbankIncomingRecord.objects.get(pk=held.pk)
    when = timezone.localtime(released.released_at)
    assert (f"第{held.file_id}号 {held.line}行目は、別の画面（または別の職員）で既に入金済になっています"
            f"（{released.released_by}、{when.year}年{when.month}月{when.day}日 {when.hour}:{when:%M}）。"
            "この明細には何もしていません。") in returned
    assert InterbankIncomingRecord.objects.get(pk=held.pk).status == "credited"
    assert Account.objects.get(pk=account.pk).balance == 150_000_000


def test_a_large_incoming_record_is_held_until_staff_release_it(staff_client, settings):
    """XFER-12 (walk27 F3): a 被仕向 record of 9,999,999,999円 was credited at once. A record
    above TRANSFERS_INCOMING_HOLD_ABOVE (10,000,000円) is 入金保留 with its reason, nothing
    credited nor mailed; staff release it from the confirm page after checking with the
    sending bank. The limit itself is credited."""
    from notifications.models import PostingNotice
    from transfers.interbank.services import HELD_LARGE

    assert settings.TRANSFERS_INCOMING_HOLD_ABOVE == 10_000_000
    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"), balance=1_000)
    notices = PostingNotice.objects.filter(account=account).count()
    data = incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 9_999_999_999), (account, "ﾔﾏﾀﾞ ﾀﾛｳ", 10_000_000),
                          (account, "ﾔﾏﾀﾞ ﾀﾛｳ", 10_000_001)])
    page = staff_client.post("/admin/transfers/interbankincomingfile/upload/",
                             {"file": SimpleUploadedFile("big.txt", data)}, follow=True).content.decode()
    assert "入金 1件、入金不能 0件、入金保留 2件" in page
    assert ("10,000,000円を超える振込は、入金せずに入金保留にしました（大口の確認）" in page
            and "2行目（9,999,999,999円）、4行目（10,000,001円）。" in page)
    assert "二重入金の防止" not in page
    assert Account.objects.get(pk=account.pk).balance == 10_001_000
    held = list(InterbankIncomingRecord.objects.filter(status="held").order_by("line"))
    assert [record.amount for record in held] == [9_999_999_999, 10_000_001]
    reason = HELD_LARGE.format(limit=10_000_000)
    assert all(record.reason == reason and record.account_id == account.pk and record.journal_id is None
               for record in held)
    assert PostingNotice.objects.filter(account=account).count() == notices + 1  # the 10,000,000円 only
    listed = staff_client.get("/admin/transfers/interbankincomingrecord/?status__exact=held").content.decode()
    assert f'<span class="status-label">入金保留</span>（{reason}）' in listed
    chosen = {"action": "release_held", "_selected_action": [held[1].pk]}
    shown = staff_client.post("/admin/transfers/interbankincomingrecord/", chosen).content.decode()
    assert "まだ入金していません" in shown and reason in shown and "10,000,001円" in shown
    assert Account.objects.get(pk=account.pk).balance == 10_001_000
    done = staff_client.post("/admin/transfers/interbankincomingrecord/", {**chosen, "post": "yes"},
                             follow=True).content.decode()
    assert "1件を入金しました。" in done
    assert Account.objects.get(pk=account.pk).balance == 20_001_001
    assert InterbankIncomingRecord.objects.get(pk=held[1].pk).status == "credited"
    assert InterbankIncomingRecord.objects.get(pk=held[0].pk).status == "held"
    assert AuditEvent.objects.filter(action="interbank_incoming_release", actor="staff-t").count() == 1


def test_the_large_incoming_hold_follows_its_setting(staff_client, settings):
    """XFER-12 (walk27 F3): the limit is settings.TRANSFERS_INCOMING_HOLD_ABOVE; a record
    that cannot be credited anyway stays 入金不能 with its own reason."""
    from transfers.interbank import services as interbank

    settings.TRANSFERS_INCOMING_HOLD_ABOVE = 50_000
    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"), balance=0)
    result = interbank.incoming_file_upload(data=incoming_file([
        (account, "ﾔﾏﾀﾞ ﾀﾛｳ", 50_000), (account, "ﾔﾏﾀﾞ ﾀﾛｳ", 50_001), (None, "ﾀﾞﾚｶ", 900_000)]),
        filename="s.txt", staff="madoguchi")
    assert (result.credited, result.unapplied, result.held_large, list(result.held)) == (1, 1, [(3, 50_001)], [])
    assert Account.objects.get(pk=account.pk).balance == 50_000
    assert InterbankIncomingRecord.objects.get(line=4).reason == "口座なし"


def test_returning_records_asks_first_and_needs_a_reason(staff_client):
    """XFER-12, STAFF-1 (walk29 F1): 「返却済にする」, just above 「入金する」, returned the
    ticked records at once — a 150,000,000円 record held as 大口 could never be credited
    after a slip of the finger. It now lists what it would return (account, amount, state)
    and asks for the 返却理由; without one, or with a control character only, nothing is
    returned. The reason is in the audit row."""
    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    staff_client.post("/admin/transfers/interbankincomingfile/upload/", {"file": SimpleUploadedFile(
        "big.txt", incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 150_000_000), (account, "ﾔﾏﾀﾞ ﾀﾛｳ", 5_000)]))})
    held = InterbankIncomingRecord.objects.get(status="held")
    credited = InterbankIncomingRecord.objects.get(status="credited")
    url = "/admin/transfers/interbankincomingrecord/?status__exact=held"
    chosen = {"action": "mark_returned", "_selected_action": [held.pk, credited.pk]}
    page = staff_client.post(url, chosen).content.decode()
    assert "まだ返却済にしていません" in page and "返却 1件　合計 150,000,000円" in page
    assert f"{account.branch.code}-普通-{account.number}" in page and "—（入金済のため返却しません）" in page
    assert "返却理由" in page and 'value="返却済にする（1件 150,000,000円）"' in page
    for reason in ("", "   ", "\x07"):
        again = staff_client.post(url, {**chosen, "post": "yes", "reason": reason}).content.decode()
        assert "まだ返却済にしていません" in again and 'class="errorlist"' in again, repr(reason)
    assert InterbankIncomingRecord.objects.get(pk=held.pk).status == "held"
    done = staff_client.post(url, {**chosen, "post": "yes", "reason": RECORD_RETURN_REASON},
                             follow=True).content.decode()
    assert "1件を返却済にしました。" in done
    assert InterbankIncomingRecord.objects.get(pk=held.pk).status == "returned"
    assert InterbankIncomingRecord.objects.get(pk=credited.pk).status == "credited"
    event = AuditEvent.objects.get(action="interbank_incoming_return")
    assert event.summary.endswith(f"返却理由：{RECORD_RETURN_REASON}") and event.actor
    # nothing left to return: the page says so and offers no button
    late = staff_client.post(url, chosen).content.decode()
    assert "返却済にするものはありません" in late and 'value="返却済にする' not in late


def _by_whom_and_when(record) -> str:
    """「staff-t、2026年12月8日 2:58」: who returned or released ``record`` and when (walk31 F4),
    the time as the record's page writes it (「2:58」, not 「02:58」)."""
    now = InterbankIncomingRecord.objects.get(pk=record.pk)
    who, when = ((now.returned_by, now.returned_at) if now.status == "returned"
                 else (now.released_by, now.released_at))
    when = timezone.localtime(when)
    return f"{who}、{when.year}年{when.month}月{when.day}日 {when.hour}:{when:%M}"


def _account_over_name(account) -> str:
    """How 振込入金明細 lists an account: 「001-普通-1234567」 over the holder's name."""
    return f'<span class="account-line">{account.branch.code}-普通-{account.number}</span><br>{account.holder_kana}'


def _messages(html: str) -> str:
    """The page's messages (「…を返却済にしました。」), without the list under them."""
    found = re.search(r'<ul class="messagelist">(.*?)</ul>', html, re.S)
    return found.group(1) if found else ""


def _submitted_ids(html: str) -> list[int]:
    """The records a confirm page's form submits."""
    return [int(pk) for pk in re.findall(r'<input type="hidden" name="_selected_action" value="(\d+)">', html)]


def test_a_mixed_selection_reports_a_race_only_for_what_changed_after_the_confirm_page(staff_client):
    """walk31 F4 b, c: ticked 入金済 and 入金不能 lines, 返却済にする; the confirm page said
    「—（入金済のため返却しません）」, and after the submit the 入金済 line was reported as
    credited 「別の画面（または別の職員）で」 though nothing had happened since. The confirm
    page now submits only what it offered: the lines it excluded are not reported again,
    and only a line another tab returned between the confirm page and the submit is said
    to be done elsewhere — its time written as the record's page writes it (「2:58」)."""
    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    staff_client.post("/admin/transfers/interbankincomingfile/upload/", {"file": SimpleUploadedFile(
        "mixed.txt", incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (None, "ﾀﾞﾚｶ", 1_000), (None, "ﾀﾞﾚｶ", 2_000)]))})
    credited = InterbankIncomingRecord.objects.get(status="credited")
    first, second = InterbankIncomingRecord.objects.filter(status="unapplied").order_by("line")
    url = "/admin/transfers/interbankincomingrecord/"
    shown = staff_client.post(url, {"action": "mark_returned",
                                    "_selected_action": [credited.pk, first.pk, second.pk]}).content.decode()
    assert "—（入金済のため返却しません）" in shown and 'value="返却済にする（2件 3,000円）"' in shown
    assert sorted(_submitted_ids(shown)) == sorted([first.pk, second.pk])
    # another tab returns the second line after this confirm page was drawn
    staff_client.post(url, {"action": "mark_returned", "_selected_action": [second.pk], "post": "yes",
                            "reason": "別タブの理由"})
    done = staff_client.post(url, {"action": "mark_returned", "_selected_action": _submitted_ids(shown),
                                   "post": "yes", "reason": RECORD_RETURN_REASON}, follow=True).content.decode()
    told = _messages(done)
    assert "1件を返却済にしました。" in told
    assert f"第{credited.file_id}号 {credited.line}行目" not in told and "入金済" not in told
    record_page = staff_client.get(f"{url}{second.pk}/change/").content.decode()
    returned_at = re.search(r"返却日時[^<]*</label>\s*<div class=\"readonly\">([^<]+)</div>", record_page).group(1)
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}", returned_at)
    assert (f"第{second.file_id}号 {second.line}行目（staff-t、{returned_at}）は既に返却済です"
            "（この明細には何もしていません。今回入力された返却理由は記録していません）。") in told
    assert InterbankIncomingRecord.objects.get(pk=second.pk).return_reason == "別タブの理由"
    assert InterbankIncomingRecord.objects.get(pk=first.pk).return_reason == RECORD_RETURN_REASON
    assert InterbankIncomingRecord.objects.get(pk=credited.pk).status == "credited"
    assert Account.objects.get(pk=account.pk).balance == 30_000


def test_a_mixed_release_reports_only_the_held_line_returned_meanwhile(staff_client):
    """walk31 F4 b for 入金する: the confirm page lists a 入金不能 and a 入金済 line as not
    credited and submits only the 入金保留 ones; one of those returned by another tab
    meanwhile is said to be, by whom and when; the others are not reported again."""
    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    for name, other_amount in (("a.txt", 1_000), ("b.txt", 2_000)):
        staff_client.post("/admin/transfers/interbankincomingfile/upload/", {"file": SimpleUploadedFile(
            name, incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (None, "ﾀﾞﾚｶ", other_amount)]))})
    held = InterbankIncomingRecord.objects.get(status="held")
    credited = InterbankIncomingRecord.objects.get(status="credited")
    unapplied = InterbankIncomingRecord.objects.filter(status="unapplied").first()
    url = "/admin/transfers/interbankincomingrecord/"
    shown = staff_client.post(url, {"action": "release_held",
                                    "_selected_action": [held.pk, credited.pk, unapplied.pk]}).content.decode()
    assert "—（入金済のため入金しません）" in shown and "—（入金不能のため入金しません）" in shown
    assert _submitted_ids(shown) == [held.pk]
    staff_client.post(url, {"action": "mark_returned", "_selected_action": [held.pk], "post": "yes",
                            "reason": RECORD_RETURN_REASON})
    told = _messages(staff_client.post(url, {"action": "release_held", "_selected_action": _submitted_ids(shown),
                                             "post": "yes"}, follow=True).content.decode())
    returned = InterbankIncomingRecord.objects.get(pk=held.pk)
    assert (f"第{held.file_id}号 {held.line}行目は、別の画面（または別の職員）で既に返却済になっています"
            f"（{_by_whom_and_when(held)}）。この明細には何もしていません。") in told
    assert "入金した明細はありません。" in told
    for other in (credited, unapplied):
        assert f"第{other.file_id}号 {other.line}行目" not in told
    assert returned.status == "returned" and Account.objects.get(pk=account.pk).balance == 30_000


def test_who_and_when_is_written_as_the_record_page_writes_it():
    """walk31 F4 c: the messages wrote 「02:58」 where the record's page writes 「2:58」."""
    from transfers.interbank.admin import _ended_by_staff

    small_hours = dt.datetime(2026, 12, 8, 2, 58, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    record = InterbankIncomingRecord(status="returned", returned_by="yakuseki01", returned_at=small_hours)
    assert _ended_by_staff(record) == "yakuseki01、2026年12月8日 2:58"
    record = InterbankIncomingRecord(status="credited", released_by="staff01", released_at=small_hours)
    assert _ended_by_staff(record) == "staff01、2026年12月8日 2:58"


def test_the_record_page_names_a_hold_reason_as_such_and_the_filter_names_files_short(staff_client):
    """XFER-12 (walk31 F5): a 入金保留 record's page labelled its reason 「入金不能の理由」; it
    reads 「入金保留の理由」 (also once such a record is returned), a 入金不能 record's still
    「入金不能の理由」. The file filter beside the list names each file by its number and name,
    not with its count and total (the label that widened it)."""
    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    staff_client.post("/admin/transfers/interbankincomingfile/upload/", {"file": SimpleUploadedFile(
        "interbank-demo-incoming.txt", incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 150_000_000), (None, "ﾀﾞﾚｶ", 1_000),
                                                      (account, "ﾔﾏﾀﾞ ﾀﾛｳ", 120_000_000)]))})
    held, returned = InterbankIncomingRecord.objects.filter(status="held").order_by("line")
    unapplied = InterbankIncomingRecord.objects.get(status="unapplied")
    url = "/admin/transfers/interbankincomingrecord/"
    staff_client.post(url, {"action": "mark_returned", "_selected_action": [returned.pk], "post": "yes",
                            "reason": RECORD_RETURN_REASON})
    staff_client.post("/admin/transfers/interbankincomingfile/upload/", {"file": SimpleUploadedFile(
        "second.txt", incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 2_000)]))})  # the filter lists two files or more

    def reason_label(record) -> str:
        page = staff_client.get(f"{url}{record.pk}/change/").content.decode()
        labels = re.findall(r"<label>(入金不能の理由|入金保留の理由):</label>\s*<div class=\"readonly\">([^<]*)</div>", page)
        assert len(labels) == 1, labels
        return labels[0]

    assert reason_label(held) == ("入金保留の理由", held.reason) and held.reason.startswith("大口：")
    assert reason_label(returned) == ("入金保留の理由", returned.reason)
    assert reason_label(unapplied) == ("入金不能の理由", "口座なし")
    listed = staff_client.get(url).content.decode()
    filter_html = listed[listed.index('id="changelist-filter"'):]
    file = held.file
    assert f"第{file.pk}号 interbank-demo-incoming.txt</a>" in filter_html
    assert f"{file.total_amount:,}円" not in filter_html and "被仕向 第" not in filter_html


def test_the_release_confirm_does_not_offer_what_the_release_would_refuse(staff_client):
    """XFER-12 (walk32 F2): a record held as a repeat whose payee name is not the account's
    was offered on the release confirm — 入金する口座 Suzuki's, 「入金する（1件 12,000円）」 —
    and refused only after 「入金する」 (名義相違). The page now says why it will not credit it,
    counts it in no total and submits it not."""
    account = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    upload = "/admin/transfers/interbankincomingfile/upload/"
    staff_client.post(upload, {"file": SimpleUploadedFile("in.txt", incoming_file([(account, "ﾔﾏﾀﾞ ﾀﾛｳ", 12_000)]))})
    staff_client.post(upload, {"file": SimpleUploadedFile("in-2.txt", incoming_file([(account, "ﾀﾅｶ ｼﾞﾛｳ", 12_000)]))})
    held = InterbankIncomingRecord.objects.get(status="held")
    assert held.payee_kana == "ﾀﾅｶ ｼﾞﾛｳ"
    page = staff_client.post("/admin/transfers/interbankincomingrecord/",
                             {"action": "release_held", "_selected_action": [held.pk]}).content.decode()
    assert "名義相違のため入金できません" in page and "入金 0件　合計 0円" in page
    assert "入金する（" not in page and _submitted_ids(page) == []
    assert Account.objects.get(pk=account.pk).balance == 12_000
