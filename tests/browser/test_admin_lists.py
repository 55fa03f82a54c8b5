"""STAFF-1, UI-1: staff's change lists on a 1280-pixel screen with the navigation sidebar
open read whole — 取引履歴's 操作 was squeezed to one character per line and 振込's 状態
broke 「振込 / 済」 — without the list scrolling sideways."""

import base64

import pyotp
import pytest

from tests.browser.layout import lines_of_elements, lines_of_phrase
from tests.browser.test_phone_labels import _on_one_line
from tests.browser.test_staff_admin import _staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def device():
    return "desktop"


def _list_scrolls_sideways(page) -> bool:
    return page.evaluate("""() => {
      const results = document.querySelector('#changelist .results');
      return results.scrollWidth > results.clientWidth + 1
        || document.documentElement.scrollWidth > window.innerWidth + 1;
    }""")


def _branch_staff_device():
    """A branch staff member (営業店担当者), madoguchi, and the TOTP device to log in with."""
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.roles import branch_staff_group_ensure

    staff = get_user_model().objects.create_user(username="madoguchi", password="Staff-pass-1",
                                                 is_staff=True)
    staff.groups.add(branch_staff_group_ensure())
    return TOTPDevice.objects.create(user=staff, name="端末", confirmed=True)


def _log_in(page, totp_device) -> None:
    _staff_login(page, pyotp.TOTP(base64.b32encode(totp_device.bin_key).decode()).now())


def _list_opened_whole(page, url: str, name: str) -> None:
    """The list at ``url``, beside the sidebar, saved as a screenshot: it never scrolls sideways."""
    page.goto(url)
    assert page.locator("#nav-sidebar").is_visible()
    page.screenshot(path=f"test-artifacts/admin-{name}-list-desktop.png", full_page=True)
    assert not _list_scrolls_sideways(page)


def test_audit_and_transfer_lists_keep_short_columns_whole_beside_the_sidebar(page, device):
    from security.models import AuditEvent
    from tests.transfers.support import content_for, execute, other_bank_payee, payer
    from transfers.demo import reference_ensure

    reference_ensure()  # the fee table (a transactional test starts without the migrations' data)
    totp_device = _branch_staff_device()
    customer, debit = payer(balance=1_000_000)
    execute(customer, content_for(customer, debit, other_bank_payee(), 12_345))
    AuditEvent.objects.create(customer=customer, contract_id=customer.contract_id,
                              action="limit_change", outcome="success",
                              client_ip="2001:db8:85a3::8a2e:370:7334",
                              summary="1,000,000円 → 2,000,000円（2026年12月7日 0:00より）")

    _log_in(page, totp_device)
    page.goto("/admin/security/auditevent/")
    assert page.locator("#nav-sidebar").is_visible()
    page.screenshot(path="test-artifacts/admin-auditevent-list-desktop.png", full_page=True)
    actions = lines_of_elements(page, "#result_list td.field-action_label")
    assert "利用限度額変更" in actions
    assert actions.pop("管理画面ログイン（職員）") == 2  # at the bracket, not inside a word
    assert _on_one_line(actions) == {}
    assert _on_one_line(lines_of_elements(page, "#result_list .field-outcome")) == {}
    # the sorted 日時 header breaks before its bracket, not inside 日本時間
    for header in ("日本時間", "契約者ID", "操作者・IPアドレス"):
        assert set(lines_of_phrase(page, header)) == {1}, header
    assert not _list_scrolls_sideways(page)

    page.goto("/admin/transfers/transfer/")
    page.screenshot(path="test-artifacts/admin-transfer-list-desktop.png", full_page=True)
    states = lines_of_elements(page, "#result_list td.field-status_text")
    assert "振込済" in states and _on_one_line(states) == {}
    figures = lines_of_elements(page, "#result_list .field-fee_and_bearer, #result_list .field-amount_yen")
    assert _on_one_line(figures) == {}
    assert not _list_scrolls_sideways(page)


def test_scheduled_transfer_list_keeps_every_column_and_its_cancel_in_view(page, device):
    """STAFF-1, XFER-6, UI-1: 予約振込's list, where staff cancel a transfer for a customer
    who phoned in, had twelve columns and scrolled 466 pixels sideways at 1280 pixels with
    the demo data — 金融機関 onwards out of sight; the 取消 link sits under 予約中."""
    from tests.transfers.scheduled_support import funded_payer, past_business_day, schedule
    from transfers import scheduled
    from transfers.demo import reference_ensure

    reference_ensure()
    totp_device = _branch_staff_device()
    day = past_business_day()
    customer, account = funded_payer(100_000, day=day)
    waiting = schedule(customer, account, 12_000, day=day)
    cancelled = schedule(customer, account, 12_345, day=day, hour=11)
    scheduled.scheduled_transfer_staff_cancel(transfer_id=cancelled.pk, reason="電話", actor="madoguchi")

    _log_in(page, totp_device)
    _list_opened_whole(page, "/admin/transfers/scheduledtransfer/", "scheduledtransfer")
    states = lines_of_elements(page, "#result_list td.field-status_and_cancel")
    assert states == {"予約中\n取消": 2, "取消済": 1}
    link = page.locator(f'#result_list a[href$="/scheduledtransfer/{waiting.pk}/cancel/"]')
    assert link.inner_text() == "取消" and link.is_visible()
    assert page.locator(f'#result_list a[href$="/scheduledtransfer/{cancelled.pk}/cancel/"]').count() == 0
    figures = lines_of_elements(page, "#result_list td.field-amount_and_fee")
    assert figures == {"12,000円\n（手数料 330円）": 2, "12,345円\n（手数料 330円）": 2}
    assert page.locator("#result_list").get_by_text("池田泉州銀行").first.is_visible()


def test_interbank_lists_read_whole_with_amounts_in_yen(page, device):
    """XFER-12, STAFF-1, UI-1: 他行宛振込データ (ten columns, 157 pixels sideways, the amount
    50000) and 仕向ファイル (the file name in every row's button, 297 pixels sideways) read
    whole at 1280 pixels beside the sidebar."""
    import datetime as dt

    import time_machine

    from tests.transfers.support import content_for, execute, other_bank_payee, payer
    from transfers.demo import reference_ensure
    from transfers.interbank import services
    from transfers.models import OutgoingTransfer

    reference_ensure()
    totp_device = _branch_staff_device()
    friday = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    with time_machine.travel(friday, tick=False):
        customer, debit = payer(balance=1_000_000)
        execute(customer, content_for(customer, debit, other_bank_payee(), 50_000))
        execute(customer, content_for(customer, debit, other_bank_payee(holder_kana="ﾔﾏﾓﾄ ｼﾞﾛｳ"), 12_345))
    _log_in(page, totp_device)

    _list_opened_whole(page, "/admin/transfers/outgoingtransfer/", "outgoingtransfer")
    amounts = lines_of_elements(page, "#result_list td.field-amount_yen")
    assert amounts == {"50,000円": 1, "12,345円": 1}

    services.outgoing_file_create(day=dt.date(2026, 12, 4), staff="madoguchi")
    _list_opened_whole(page, "/admin/transfers/interbankoutgoingfile/", "outgoingfile")
    figures = lines_of_elements(page, "#result_list td.field-total_yen, #result_list td.field-download_button")
    assert figures == {"62,345円": 1, "ダウンロード": 1}  # not 「62,345 / 円」, 「ダウンロー / ド」
    assert page.locator("#result_list").get_by_role("link", name="ダウンロード").is_visible()

    # walk25 F22: a returned record says so in its state, and the list still reads whole
    returned = services.outgoing_return(outgoing=OutgoingTransfer.objects.get(amount=12_345),
                                        reason="name_mismatch", staff="madoguchi")
    page.goto("/admin/transfers/outgoingtransfer/")
    page.screenshot(path="test-artifacts/admin-outgoingtransfer-returned-desktop.png", full_page=True)
    assert not _list_scrolls_sideways(page)
    states = page.locator("#result_list td.field-status_text").all_inner_texts()
    assert sorted(state.replace("\n", "") for state in states) == ["送信済", f"送信済（{returned.label}）"]


def test_outbox_list_keeps_the_kind_of_mail_whole(page, device):
    """NOTE-3, STAFF-1, UI-1: 送信メール's list squeezed 種類 and 氏名 to one character per
    line and scrolled 182 pixels sideways at 1280 pixels beside the sidebar."""
    from notifications.services import notice_enqueue
    from tests import factories

    totp_device = _branch_staff_device()
    customer = factories.customer(email="yamada.taro.long-address@example.jp", name_kanji="山田 太郎")
    notice_enqueue(customer=customer, event="password_change", lines=["変更しました。"])
    notice_enqueue(customer=customer, event="transfer_cancelled_staff", lines=["取り消しました。"])

    _log_in(page, totp_device)
    _list_opened_whole(page, "/admin/notifications/outboxmessage/", "outbox")
    kinds = lines_of_elements(page, "#result_list td.field-event_label")
    assert "ログインパスワード変更のお知らせ" in kinds and max(kinds.values()) <= 2
    who = lines_of_elements(page, "#result_list td.field-contract_id_and_name")
    assert who == {f"{customer.contract_id}\n山田 太郎": 2}



def test_address_history_list_reads_whole_for_branch_staff(page, device):
    """NOTE-2, STAFF-1, UI-1 (dbprobe25 F5): branch staff read アドレス変更履歴 — what the
    database recorded at each change of a customer's address — beside the sidebar."""
    from tests import factories

    totp_device = _branch_staff_device()
    customer = factories.customer(email="yamada.taro.before-the-change@example.jp", name_kanji="山田 太郎")
    factories.address_changed(customer, "yamada.taro.after-the-change@example.jp")

    _log_in(page, totp_device)
    page.get_by_role("link", name="アドレス変更履歴").click()
    page.wait_for_url("**/admin/notifications/emailaddresschange/")
    _list_opened_whole(page, "/admin/notifications/emailaddresschange/", "emailaddresschange")
    row = page.locator("#result_list tbody tr").first.inner_text()
    assert "yamada.taro.before-the-change@example.jp" in row and "yamada.taro.after-the-change@example.jp" in row
    who = lines_of_elements(page, "#result_list td.field-contract_id_and_name")
    assert who == {f"{customer.contract_id}\n山田 太郎": 2}


def test_notice_choice_history_list_reads_whole_for_branch_staff(page, device):
    """NOTE-2, STAFF-1, UI-1 (dbprobe25 F5): branch staff reach 通知設定の変更履歴 — what the
    database recorded at each change of the notices a customer chose — from the admin
    index, beside アドレス変更履歴, and read it whole beside the sidebar."""
    from tests import factories

    totp_device = _branch_staff_device()
    customer = factories.customer(email="yamada@example.jp", name_kanji="山田 太郎")
    factories.notices_chosen(customer, postings=False, login=True)

    _log_in(page, totp_device)
    assert page.get_by_role("link", name="アドレス変更履歴").is_visible()
    page.get_by_role("link", name="通知設定の変更履歴").click()
    page.wait_for_url("**/admin/notifications/noticepreferencechange/")
    _list_opened_whole(page, "/admin/notifications/noticepreferencechange/", "noticepreferencechange")
    changes = lines_of_elements(page, "#result_list td.field-changes_shown")
    assert changes == {"入出金のお知らせ：受け取る → 受け取らない\nログインのお知らせ：受け取らない → 受け取る": 2}
    who = lines_of_elements(page, "#result_list td.field-contract_id_and_name")
    assert who == {f"{customer.contract_id}\n山田 太郎": 2}
    assert page.locator("#changelist-form input[type=checkbox]").count() == 0  # nothing to act on

def test_lock_history_list_reads_whole_for_branch_staff(page, device):
    """SEC-8, STAFF-1, UI-1 (dbprobe29 F7): branch staff read ロック履歴 — what the database
    recorded at each lock and lift of a customer's credential — beside the sidebar."""
    from security.services import credential_unlock
    from tests import factories

    totp_device = _branch_staff_device()
    customer = factories.customer(name_kanji="山田 太郎")
    factories.credential_locked(customer, "image_card")
    credential_unlock(customer=customer, kind="image_card", reason="本人確認済み", actor="madoguchi")

    _log_in(page, totp_device)
    page.get_by_role("link", name="ロック履歴").click()
    page.wait_for_url("**/admin/security/credentiallockchange/")
    _list_opened_whole(page, "/admin/security/credentiallockchange/", "credentiallockchange")
    assert lines_of_elements(page, "#result_list td.field-locked_label") == {"ロック解除": 1, "ロック": 1}
    who = lines_of_elements(page, "#result_list td.field-contract_id_and_name")
    assert who == {f"{customer.contract_id}\n山田 太郎": 2}
    assert page.locator("#changelist-form input[type=checkbox]").count() == 0  # nothing to act on


def test_fee_incoming_entry_and_state_history_lists_read_whole_beside_the_sidebar(page, device):
    """STAFF-1, UI-1 (walk25 F23): 振込手数料 (1158 pixels in a 901-pixel box, 他行宛 未満/以上 —
    the most used — out of sight), 振込入金明細 (入金口座 out of sight), 明細 (取引日時) and
    口座状態の変更履歴 scrolled sideways at 1280 pixels beside the sidebar."""
    from django.db import transaction

    from accounts.models import Account
    from tests import factories
    from tests.transfers.test_interbank_services import incoming_file
    from transfers.demo import reference_ensure
    from transfers.interbank import services

    reference_ensure()
    totp_device = _branch_staff_device()
    suzuki = factories.account(owner=factories.customer(name_kana="ｽｽﾞｷ ｲﾁﾛｳ"))
    yamada = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    services.incoming_file_upload(data=incoming_file([(suzuki, "ﾀﾅｶ ｼﾞﾛｳ", 5_000),
                                                      (yamada, "ﾔﾏﾀﾞ ﾀﾛｳ", 1_234_567)]),
                                  filename="nyukin.txt", staff="madoguchi")
    with transaction.atomic():
        Account.objects.filter(pk=suzuki.pk).update(status=Account.Status.FROZEN)
        Account.objects.filter(pk=yamada.pk).update(hold_amount=1_234_567)
    _log_in(page, totp_device)

    def in_view(selector: str) -> bool:
        box = page.locator(selector).first.bounding_box()
        return box is not None and box["x"] + box["width"] <= 1280

    _list_opened_whole(page, "/admin/transfers/feeschedule/", "feeschedule")
    fees = lines_of_elements(page, "#result_list td.field-other_bank_fees, #result_list td.field-same_branch_fees")
    assert fees == {"330円／550円": 1, "0円／0円": 1}
    assert in_view("#result_list td.field-other_bank_fees")

    _list_opened_whole(page, "/admin/transfers/interbankincomingrecord/", "incomingrecord")
    assert lines_of_elements(page, "#result_list td.field-payee_account_and_name") == {
        f"{suzuki.branch.code}-普通-{suzuki.number}\nﾀﾅｶ ｼﾞﾛｳ": 2,
        f"{yamada.branch.code}-普通-{yamada.number}\nﾔﾏﾀﾞ ﾀﾛｳ": 2}
    assert _on_one_line(lines_of_elements(page, "#result_list td.field-amount_yen")) == {}
    states = page.locator("#result_list td.field-status_and_reason").all_inner_texts()
    assert sorted(state.replace("\n", "") for state in states) == ["入金不能（名義相違）", "入金済"]
    assert in_view("#result_list td.field-credited_account")

    _list_opened_whole(page, "/admin/accounts/entry/", "entry")
    assert in_view("#result_list td.field-posted_at") and in_view("#result_list td.field-journal")
    figures = lines_of_elements(page, "#result_list td.field-amount_yen, #result_list td.field-balance_after_yen")
    assert "1,234,567円" in figures and _on_one_line(figures) == {}

    _list_opened_whole(page, "/admin/accounts/accountstatechange/", "accountstatechange")
    changes = lines_of_elements(page, "#result_list td.field-status_change, #result_list td.field-hold_change")
    assert {"有効 → 支払停止", "0円 → 1,234,567円"} <= set(changes) and _on_one_line(changes) == {}
    assert in_view("#result_list td.field-db_user_and_xact")
