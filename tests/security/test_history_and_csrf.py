"""ACCT-4 取引履歴照会 and CSRF on every customer POST."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from security.audit import audit_record
from security.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def logged_in(customer, password="Pass1234", **client_kwargs):
    client = Client(**client_kwargs)
    response = client.post("/login/", {"contract_id": customer.contract_id, "password": password})
    assert response.status_code == 302
    return client


def unlocked_by_staff(customer, kind: str, reason: str) -> None:
    """The credential locked (its wrong answers and lockout, ``factories.credential_locked``)
    and lifted by staff's ロック解除 — an unlock row stands only for a lift by a staff user
    who may lift it (security 0022, CI315)."""
    from security.services import credential_unlock

    factories.credential_locked(customer, kind)
    credential_unlock(customer=customer, kind=kind, reason=reason, actor=factories.staff_user("staff01").username)


def active_customer(**kwargs):
    return factories.customer(password="Pass1234", password_is_initial=False, **kwargs)


def test_history_shows_own_operations_of_three_months_only():
    me, other = active_customer(), active_customer()
    with time_machine.travel(timezone.now() - dt.timedelta(days=120)):  # the app may not backdate a row
        audit_record(action="password_change", outcome="success", customer=me)
    audit_record(action="ib_suspend", outcome="success", customer=other)  # not mine
    client = logged_in(me)
    client.post("/settings/password/", {"current_password": "wrong", "new_password": "x",
                                        "new_password_again": "x"})
    html = client.get("/history/?customer=%d" % other.pk).content.decode()
    assert "ログイン" in html and "正常" in html  # this login
    assert "ログインパスワード変更" in html and "失敗" in html  # the failed change just now
    assert "IB取引中止" not in html  # the other customer's row (IDOR attempt ignored)
    assert html.count("<tr>") - 1 == 2  # header + login + failed change; the 120-day-old row is gone


def test_history_says_what_was_refused_in_local_time():
    """Issue 7: 「アクセス拒否」 alone said nothing; times are the bank's (Asia/Tokyo)."""
    me = active_customer()
    account = factories.account(owner=me)
    foreign = factories.account()
    # the refusal happens at 01:02:03 UTC (the app may not backdate an audit row: SEC-11)
    with time_machine.travel(dt.datetime(2026, 11, 26, 1, 2, 3, tzinfo=dt.timezone.utc), tick=False):
        client = logged_in(me)
        assert client.get("/accounts/statements/", {"account": foreign.pk}).status_code == 404
        audit_record(action="step_up", outcome="success", customer=me, summary="staff note", actor="")
        html = client.get("/history/").content.decode()
    assert "2026/11/26 10:02:03" in html  # 01:02:03 UTC
    # ACCT-4 (walk25 F13): no internal id, nothing the request chose; staff keep the id
    assert "アクセス拒否" in html and "照会できない口座の指定（入出金明細照会）" in html
    assert f"id={foreign.pk}" not in html and "当金庫記録" not in html
    assert AuditEvent.objects.get(action="access_refused").summary == (
        f"照会できない口座の指定（入出金明細照会） ／当金庫記録：口座 id={foreign.pk}")
    assert "staff note" not in html  # a success's summary stays with staff
    assert account.number not in html


def test_history_says_what_a_money_operation_did_but_not_staff_notes():
    """ACCT-4: a transfer's or payment's row names its content (the customer's own input);
    a staff action on the customer shows only that it happened."""
    me = active_customer()
    audit_record(action="transfer", outcome="success", customer=me, ip="192.0.2.1",
                 summary="池田泉州銀行 貝塚支店 普通 0012345 ﾀﾅｶ ﾊﾅｺ 50,000円 手数料550円")
    audit_record(action="payeasy", outcome="success", customer=me, ip="192.0.2.1",
                 summary="58002 コウセイモバイル株式会社 6,980円 受付番号26120554682611")
    audit_record(action="transfer_schedule", outcome="success", customer=me, ip="192.0.2.1",
                 summary="#3 池田泉州銀行 貝塚支店 普通 0012345 ﾀﾅｶ ﾊﾅｺ 10,000円 手数料330円 振込日2026年12月8日")
    unlocked_by_staff(me, "password", "本人確認済み（電話）")
    html = logged_in(me).get("/history/").content.decode()
    assert "ﾀﾅｶ ﾊﾅｺ 50,000円 手数料550円" in html
    # rows written before walk22 read 「受付番号 N」 too, like the done pages and newer rows
    assert "コウセイモバイル株式会社 6,980円 受付番号 26120554682611" in html
    assert "受付番号 3 池田泉州銀行 貝塚支店" in html and "#3" not in html
    assert "本人確認済み" not in html and "当金庫窓口" in html


def test_history_leaves_out_staff_work_that_changed_nothing_of_the_customers():
    """walk26 F5, ACCT-4: staff opening the customer's transfer in admin wrote
    「振込の照会（職員） 正常 当金庫窓口」 into the customer's 取引履歴, under 「お心当たりのない
    操作がある場合は、至急当金庫までご連絡ください」. Staff's views, card printing and mail
    resends stay in admin; staff actions that change the customer's state stay listed."""
    from security.history import STAFF_ONLY_ACTIONS

    me = active_customer()
    for action in sorted(STAFF_ONLY_ACTIONS):
        audit_record(action=action, outcome="success", customer=me, actor="staff01", summary="x")
    unlocked_by_staff(me, "image_card", "本人確認済み")
    audit_record(action="transfer_cancel_staff", outcome="success", customer=me, actor="staff01",
                 summary="受付番号 3 振込日2026年12月8日 12,000円 理由：電話")
    audit_record(action="counter_deposit", outcome="success", customer=me, actor="staff01", summary="1 10,000円")
    html = logged_in(me).get("/history/").content.decode()
    assert "振込の照会" not in html and "画像認証カード印刷" not in html and "通知メールの再送" not in html
    assert "ロック解除" in html and "振込予約取消（窓口）" in html and "窓口入金" in html
    # the login, the card's three wrong answers and its lock, and the three state changes
    assert html.count("<tr>") - 1 == 8
    # which 予約 the branch cancelled, without staff's reason (walk29 F5: the row was empty)
    assert "受付番号 3 振込日" in html and "2026年12月8日" in html and "12,000円" in html and "電話" not in html
    assert AuditEvent.objects.filter(customer=me, action="staff_transfer_view").exists()  # staff still read it


def test_history_speaks_to_the_customer_not_staff():
    """walk26 F15, ACCT-4: the customer read 「振込資金返却（職員）」, refusals named the
    payee by codes (「1633-002 110円 …」, 「1633-002 1-3456789 回数超過」), a staff unlock did
    not say which credential, and the batch's execution of a 予約 came 「当金庫窓口」. Staff
    keep the codes in admin."""
    from django.test import override_settings

    from tests.transfers.support import payer
    from transfers import services
    from transfers.banks import zengin_load
    from transfers.directory import PayeeAccountError

    zengin_load(codes={"0161"})
    me, debit = payer()  # password Pass1234
    audit_record(action="interbank_return", outcome="success", customer=me, actor="staff01",
                 summary="受付番号 5 池田泉州銀行 貝塚 普通 0012345 ﾀﾅｶ ﾊﾅｺ 10,000円 名義相違")
    unlocked_by_staff(me, "image_card", "電話で本人確認済み")
    audit_record(action="transfer", outcome="success", customer=me, actor="batch", summary="受付番号 6 …")
    with pytest.raises(services.TransferRefused):
        services.transfer_quote(customer=me, debit_account=debit, bank_code="0161", branch_code="002",
                                amount=100, fee_borne_by_payee=True, day=timezone.localdate())
    with override_settings(TRANSFERS_LOOKUPS_PER_HOUR=1):
        with pytest.raises(PayeeAccountError):
            services.name_lookup(customer=me, bank_code="0161", branch_code="002", account_type="1",
                                 account_number="7654321")
        with pytest.raises(services.TransferRefused):
            services.name_lookup(customer=me, bank_code="0161", branch_code="002", account_type="1",
                                 account_number="3456789")
    html = logged_in(me).get("/history/").content.decode()
    assert "（職員）" not in html and "振込資金の返却（当金庫）" in html
    assert "0161-002" not in html
    # walk27 F11: the branch as the mails and the balances spell branches, 「貝塚支店」
    assert "池田泉州銀行 貝塚支店 100円 先方負担の場合" in html
    assert "池田泉州銀行 貝塚支店 普通 7654321" in html
    assert "池田泉州銀行 貝塚支店 普通 3456789 口座名義の確認回数の上限超過" in html
    assert re.search(r"ロック解除</td>.*?<td data-label=\"内容\">画像認証</td>", html)
    assert "電話で本人確認済み" not in html
    assert "当金庫（自動処理）" in html
    # staff keep the codes (admin shows the whole summary)
    refused = AuditEvent.objects.get(customer=me, action="transfer_lookup", outcome="refused")
    assert refused.summary.endswith("／当金庫記録：0161-002 1-3456789")


def test_history_is_in_the_menu():
    client = logged_in(active_customer())
    assert 'href="/history/"' in client.get("/").content.decode()


@pytest.mark.parametrize("path, data", [
    ("/login/", {"contract_id": "1", "password": "x"}),
    ("/logout/", {}),
    ("/settings/password/", {"current_password": "Pass1234", "new_password": "Next5678",
                             "new_password_again": "Next5678"}),
    ("/session/ping/", {}),
])
def test_csrf_is_enforced_on_every_post(path, data):
    customer = active_customer()
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer.user)
    session = client.session
    session.update({"cosei_stage": "complete", "cosei_auth_at": 2**31, "cosei_seen_at": 2**31})
    session.save()
    response = client.post(path, data)
    assert response.status_code == 403
    customer.user.refresh_from_db()
    assert customer.user.check_password("Pass1234")  # nothing changed


def test_a_refused_staff_action_does_not_show_the_staffs_note():
    """ACCT-4: a staff action on the customer shows only that it happened. A refused one
    (two staff posts of 予約振込の取消 at once: the loser's audit row) showed its summary,
    staff's reason included — 「理由：電話、生年月日で本人確認」 in the customer's 取引履歴."""
    me = active_customer()
    audit_record(action="transfer_cancel_staff", outcome="refused", customer=me, actor="staff01",
                 summary="#12 取消済 理由：電話、生年月日で本人確認")
    html = logged_in(me).get("/history/").content.decode()
    assert "振込予約取消（窓口）" in html and "当金庫窓口" in html
    assert "生年月日" not in html and "理由" not in html


def test_history_does_not_echo_what_the_request_chose():
    """ACCT-4, SEC-13 (walk25 F13): ?account=99999999999999999999 (or markup) was echoed to
    the customer as 「口座 id=99999999999999999999」. The row says what was refused; the
    value stays with staff (admin), escaped and cut as every audit text."""
    me = active_customer()
    factories.account(owner=me)
    client = logged_in(me)
    for typed in ("99999999999999999999", "<b>x</b>"):
        assert client.get("/accounts/statements/", {"account": typed}).status_code == 404
    html = client.get("/history/").content.decode()
    assert html.count("照会できない口座の指定（入出金明細照会）") == 2
    assert "99999999999999999999" not in html and "&lt;b&gt;" not in html and "<b>x" not in html
    summaries = set(AuditEvent.objects.filter(action="access_refused").values_list("summary", flat=True))
    assert "照会できない口座の指定（入出金明細照会） ／当金庫記録：口座 id=99999999999999999999" in summaries


def test_history_says_what_a_counter_deposit_and_an_email_change_did():
    """walk27 F8, ACCT-4: four 窓口入金 were four identical rows with an empty 内容, and an
    address change's request and completion two identical empty rows. The 窓口入金 row
    names the account (masked) and the amount — never the full number or the slip, which
    stay staff's; the address rows say which step, addresses masked."""
    from accounts.services import counter_deposit
    from notifications.models import OutboxMessage
    from notifications.services import email_change_confirm, email_change_request

    me = active_customer(email="old-address@example.jp")
    account = factories.account(owner=me, number="7654321")
    counter_deposit(account=account, amount=12_345, reference="S-3", actor="staff01")
    audit_record(action="counter_deposit", outcome="success", customer=me, actor="staff01",
                 summary="staff's own note")  # not the service's shape: nothing shown
    email_change_request(customer=me, new_email="new-address@example.jp", ip="192.0.2.1")
    mail = OutboxMessage.objects.filter(event="email_verify").latest("id")
    email_change_confirm(customer=me, code=re.search(r"確認コード：(\d{6})", mail.body)[1], ip="192.0.2.1")

    html = logged_in(me).get("/history/").content.decode()
    assert re.search(r"窓口入金</td>\s*<td[^>]*>[^<]*</td>\s*<td data-label=\"内容\">口座 \*\*\*4321 12,345円</td>",
                     html), html
    assert "7654321" not in html and "伝票" not in html and "S-3" not in html and "own note" not in html
    assert "アドレス変更受付（確認コード送信先 ne***@example.jp）" in html
    assert "アドレス変更 ol***@example.jp → ne***@example.jp" in html
    assert "old-address" not in html and "new-address" not in html
    # staff keep the account number and the slip
    assert AuditEvent.objects.filter(customer=me, action="counter_deposit", summary="7654321 12,345円 伝票S-3").exists()
