"""The 振込 pages with the Django test client (XFER-1, XFER-9, SEC-14): every step, kept
input on 戻る, full-width input, messages, exactly once on replays and two tabs, hours."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from accounts.models import Account
from security import cards
from security.models import AuditEvent, StepUp
from tests.security.secondfactor import card_post, right_answers
from tests.transfers.support import content_for, execute, other_bank_payee, payer, registered_payee
from transfers.models import Payee, Transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    customer, debit = payer()
    response = client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    assert response.status_code == 302
    return client, customer, debit


def _card(customer) -> dict:
    challenge = cards.image_card_challenge_current(customer=customer)
    return card_post(challenge, right_answers(challenge))


def _to_details(client, debit, *, number="１２３４５"):
    response = client.post(reverse("transfers:start"), {"debit_account": debit.pk, "mode": "new"})
    assert response.status_code == 302 and response.url == reverse("transfers:bank")
    page = client.get(reverse("transfers:bank"), {"type": "bank", "row": "ア", "letter": "イ"}).content.decode()
    assert "池田泉州銀行" in page and reverse("transfers:branch", args=["0161"]) in page
    page = client.get(reverse("transfers:branch", args=["0161"]), {"row": "カ", "letter": "カ"}).content.decode()
    assert "貝塚" in page
    return client.post(reverse("transfers:account", args=["0161", "002"]),
                       {"account_type": "1", "account_number": number})


def test_new_payee_flow_with_full_width_input_and_kept_input(signed_in):
    client, customer, debit = signed_in
    response = _to_details(client, debit)
    assert response.url == reverse("transfers:details")
    page = client.get(response.url).content.decode()
    assert "ﾀﾅｶ ﾊﾅｺ" in page and "0012345" in page
    assert 'value="ﾔﾏﾀﾞ ﾀﾛｳ"' in page  # 依頼人名 defaults to the holder's kana
    response = client.post(reverse("transfers:details"),
                           {"amount": "５０，０００", "sender_name": "やまだ　たろう"})
    assert response.url == reverse("transfers:confirm")
    page = client.get(response.url).content.decode()
    assert "50,000円" in page and "550円" in page and "50,550円" in page and "ﾔﾏﾀﾞ ﾀﾛｳ" in page
    assert "振込を実行する" in page and "振込を予約する" not in page  # today's: executed at once
    # 戻る keeps what was typed
    page = client.get(reverse("transfers:details")).content.decode()
    assert 'value="５０，０００"' in page
    response = client.post(reverse("transfers:details"), {"amount": "50000", "sender_name": "ﾔﾏﾀﾞ ﾀﾛｳ"})
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', client.get(response.url).content.decode())[1]
    response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    transfer = Transfer.objects.get(customer=customer)
    assert response.url == reverse("transfers:done", args=[transfer.pk])
    debit.refresh_from_db()
    assert debit.balance == 1_000_000 - 50_550
    # a replay of the same confirmation (back button, reload) posts nothing and shows the first result
    again = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    assert again.url == reverse("transfers:done", args=[transfer.pk])
    assert Transfer.objects.count() == 1
    # register the payee on the done page, once
    page = client.get(again.url).content.decode()
    # XFER-1: the done page shows what the confirm page did: お受取金額 and 依頼人名 (walk22)
    assert "<h1>振込完了</h1>" in page and "振込予約の受付完了" not in page
    assert '<dt>お受取金額</dt><dd data-figure="credited">50,000円</dd>' in page
    assert '<dt>依頼人名</dt><dd data-figure="sender">ﾔﾏﾀﾞ ﾀﾛｳ</dd>' in page
    assert "今回の振込先を登録" in page
    # ACCT-4, XFER-1: 取引履歴 names the transfer by the 受付番号 of its done page, as it
    # does reservations, cancels and Pay-easy payments
    assert f"受付番号 {transfer.pk}</span>" in page
    history = client.get(reverse("history")).content.decode()
    assert f"受付番号 {transfer.pk} 池田泉州銀行 貝塚支店 普通 0012345 ﾀﾅｶ ﾊﾅｺ 50,000円 手数料550円" in history
    client.post(again.url)
    client.post(again.url)
    assert Payee.objects.filter(customer=customer).count() == 1
    assert "として登録されています" in client.get(again.url).content.decode()


def test_registered_payee_skips_bank_and_branch_but_shows_the_name(signed_in):
    client, customer, debit = signed_in
    payee = registered_payee(customer, bank_code="0161", bank_name="池田泉州銀行", branch_code="002",
                             branch_name="貝塚", account_type="1", account_number="0012345",
                             holder_kana="ﾀﾅｶ ﾊﾅｺ", nickname="はなこ")
    page = client.get(reverse("transfers:start")).content.decode()
    assert "はなこ" in page
    response = client.post(reverse("transfers:start"),
                           {"debit_account": debit.pk, "mode": "registered", "payee": payee.pk})
    assert response.url == reverse("transfers:details")
    assert "ﾀﾅｶ ﾊﾅｺ" in client.get(response.url).content.decode()


@override_settings(TRANSFERS_LOOKUPS_PER_HOUR=2)
def test_a_registered_payee_is_chosen_while_new_look_ups_are_throttled(signed_in):
    """walk26 F1: after the look-ups of new accounts ran out, 登録済みの振込先 was refused
    with the same message; it goes on, and the refusal of a new payee says so."""
    client, customer, debit = signed_in
    payee = registered_payee(customer, debit=debit)  # 池田泉州銀行 貝塚 普通 0012345 ﾀﾅｶ ﾊﾅｺ
    for number in ("1111111", "2222222"):
        _to_details(client, debit, number=number)
    page = _to_details(client, debit, number="3333333").content.decode()
    assert "新しい振込先の口座名義の確認はしばらくご利用いただけません" in page
    assert "登録済みの振込先へのお振込は、引き続きご利用いただけます。" in page and "お振込を完了してから" not in page
    response = client.post(reverse("transfers:start"),
                           {"debit_account": debit.pk, "mode": "registered", "payee": payee.pk})
    assert response.status_code == 302 and response.url == reverse("transfers:details")
    assert "ﾀﾅｶ ﾊﾅｺ" in client.get(response.url).content.decode()


@pytest.mark.parametrize(("typed", "message"), [
    ("", "振込金額を入力してください。"),
    ("0", "振込金額は1円以上で入力してください。"),
    ("-100", "振込金額にマイナスの金額は指定できません。"),
    ("ｱｲｳ", "振込金額は数字（円単位）で入力してください。"),
    ("1e5", "振込金額は数字（円単位）で入力してください。"),
    ("9" * 25, "振込金額が大きすぎます。"),
    ("1\x00", "振込金額は数字（円単位）で入力してください。"),
    # a blank between digits is a slip, not a separator: joined, 「1　1000」 was 11,000円 (review)
    ("1\u30001000", "振込金額は数字（円単位）で入力してください。"),
    ("1 000", "振込金額は数字（円単位）で入力してください。"),
    # only full-width digits are digits: NFKC read ⑤ as 5 and ¹⁰ as 10 (review)
    ("⑤000", "振込金額は数字（円単位）で入力してください。"),
    ("¹⁰000", "振込金額は数字（円単位）で入力してください。"),
    # only a trailing 円 is dropped: 「12円345」 was read as 12,345円 (walkfix)
    ("12円345", "振込金額は数字（円単位）で入力してください。"),
    ("円1000", "振込金額は数字（円単位）で入力してください。"),
    # commas only in thousands groups: 「1,00,0」 was 1,000円, 「1,00,00」 10,000円 (walk25 F15)
    *[(typed, "振込金額は数字（円単位）で入力してください。")
      for typed in ["1,00,0", "1,00,00", "10000,000", ",1000", "1000,", "1,,000", "１，００，０", ","]],
    ("1,500,000 円", "振込金額と手数料の合計（1,500,550円）がお支払可能額（1,000,000円）を超えています。"),
    ("１，５００，０００", "振込金額と手数料の合計（1,500,550円）がお支払可能額（1,000,000円）を超えています。"),
    ("999,999", "振込金額と手数料の合計（1,000,549円）がお支払可能額（1,000,000円）を超えています。"),
])
def test_amount_messages(signed_in, typed, message):
    client, customer, debit = signed_in
    _to_details(client, debit)
    page = client.post(reverse("transfers:details"), {"amount": typed, "sender_name": "ﾔﾏﾀﾞ"}).content.decode()
    assert message in page
    assert not Transfer.objects.exists()


def test_blanks_around_an_amount_are_fine(signed_in):
    client, customer, debit = signed_in
    _to_details(client, debit)
    response = client.post(reverse("transfers:details"), {"amount": "　１，０００円 ", "sender_name": "ﾔﾏﾀﾞ"})
    assert response.url == reverse("transfers:confirm")
    assert "1,000円" in client.get(response.url).content.decode()


def test_over_limit_message(signed_in):
    from transfers import services

    client, customer, debit = signed_in
    services.transfer_limit_change(customer=customer, new_limit=30_000)
    _to_details(client, debit)
    page = client.post(reverse("transfers:details"), {"amount": "30001", "sender_name": "ﾔﾏﾀﾞ"}).content.decode()
    assert "1日の利用限度額（30,000円）を超えます。本日あと30,000円まで" in page
    refusal = AuditEvent.objects.get(customer=customer, action="transfer", outcome="refused")
    assert "30,001円" in refusal.summary and "利用限度額" in refusal.summary


def test_bad_sender_name_and_account_number(signed_in):
    client, customer, debit = signed_in
    page = _to_details(client, debit, number="12345678").content.decode()
    assert "口座番号は数字7桁以内で入力してください。" in page
    page = _to_details(client, debit, number="7654321").content.decode()
    assert "入力された口座は見つかりませんでした" in page
    for signed in ("-1", "1-", "－１", "12--34"):  # a sign or a stray hyphen is no number (walk23)
        page = _to_details(client, debit, number=signed).content.decode()
        assert "口座番号は数字7桁以内で入力してください。" in page, signed
    _to_details(client, debit)
    page = client.post(reverse("transfers:details"), {"amount": "1000", "sender_name": "山田"}).content.decode()
    assert "依頼人名に使用できない文字「山」" in page


def test_the_debit_account_itself_is_refused_as_the_payee(signed_in):
    """XFER-1, XFER-3: 振込先 = the debit account itself (our bank, same branch, type and
    number) went through to 完了: a Transfer, a journal debiting and crediting the same
    account, the day's limit used (and a fee, if staff set one for 同一店宛). Refused as soon
    as the account is entered (口座名義確認), not only after the amount; and the quote, which
    the confirm re-checks, refuses it too (a wizard that got past the entry some other way).
    Nothing is written."""
    from transfers import services

    client, customer, debit = signed_in
    client.post(reverse("transfers:start"), {"debit_account": debit.pk, "mode": "new"})
    response = client.post(reverse("transfers:account", args=["1633", debit.branch.code]),
                           {"account_type": debit.type, "account_number": debit.number})
    assert response.status_code == 200
    assert "引落口座と同じ口座にはお振込できません" in response.content.decode()
    assert client.get(reverse("transfers:details")).url == reverse("transfers:start")  # no payee kept
    with pytest.raises(services.TransferRefused) as refused:
        services.transfer_quote(customer=customer, debit_account=debit, bank_code="1633",
                                branch_code=debit.branch.code, amount=1000, fee_borne_by_payee=False,
                                day=dt.date.today(), credit_account_id=debit.pk)
    assert refused.value.message == services.SAME_ACCOUNT
    assert not Transfer.objects.exists()
    assert not StepUp.objects.filter(customer=customer, kind="transfer").exists()


def test_two_tabs_the_older_confirmation_executes_nothing(signed_in):
    client, customer, debit = signed_in
    _to_details(client, debit)
    client.post(reverse("transfers:details"), {"amount": "1000", "sender_name": "ﾔﾏﾀﾞ"})
    first = re.search(r'name="confirmation" value="([^"]+)"',
                      client.get(reverse("transfers:confirm")).content.decode())[1]
    client.post(reverse("transfers:details"), {"amount": "2000", "sender_name": "ﾔﾏﾀﾞ"})  # tab 2
    response = client.post(reverse("transfers:confirm"), {"confirmation": first, **_card(customer)})
    assert response.url == reverse("transfers:confirm")
    assert not Transfer.objects.exists()
    second = re.search(r'name="confirmation" value="([^"]+)"', client.get(response.url).content.decode())[1]
    client.post(reverse("transfers:confirm"), {"confirmation": second, **_card(customer)})
    assert Transfer.objects.get().amount == 2000


@pytest.mark.parametrize("method", ["post", "get"])
def test_an_expired_confirm_page_sends_the_customer_back_to_start_once(signed_in, method):
    """SEC-14, XFER-1: a confirm page left open past its step-up's 10 minutes answered every
    retry with 「確認画面の有効時間が過ぎました…最初から」 on the same page — the same
    expired confirmation, a live OTP box, one more code used at each try (walk24). The
    pending operation is dropped and the customer lands on the start page, told once."""
    from security.stepup import STEPUP_EXPIRED

    client, customer, debit = signed_in
    _to_details(client, debit)
    client.post(reverse("transfers:details"), {"amount": "1000", "sender_name": "ﾔﾏﾀﾞ"})
    confirmation = re.search(r'name="confirmation" value="([^"]+)"',
                             client.get(reverse("transfers:confirm")).content.decode())[1]
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=11)):
        if method == "post":
            response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)},
                                   follow=True)
        else:
            response = client.get(reverse("transfers:confirm"), follow=True)
        assert response.redirect_chain[-1][0] == reverse("transfers:start")
        assert response.content.decode().count(STEPUP_EXPIRED) == 1
        assert client.get(reverse("transfers:confirm")).url == reverse("transfers:start")  # nothing pending
        # the same page left open in another tab: not 「別の画面で新しい振込内容が入力された」
        other_tab = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)},
                                follow=True).content.decode()
        assert "既に完了したか別の画面で中止されたため" in other_tab and "新しい振込内容" not in other_tab
    assert not Transfer.objects.exists()


def test_a_confirm_whose_method_was_changed_elsewhere_sends_the_customer_back_once(signed_in):
    """SEC-7, SEC-14 (walk33 F5): the one-time password turned on (or 「パスキーでのみログイン」)
    in another tab while a confirm page asked for the image card: every answer was refused
    with 「認証方法が変更されたため、最初から…」 above a fresh card grid — a dead end. Now, as
    for an expired page, the pending transfer is dropped and the customer is back at the
    start, told once; nothing is sent."""
    from security.stepup import STEPUP_METHOD_CHANGED
    from tests.security import secondfactor

    client, customer, debit = signed_in
    _to_details(client, debit)
    client.post(reverse("transfers:details"), {"amount": "1000", "sender_name": "ﾔﾏﾀﾞ"})
    page = client.get(reverse("transfers:confirm")).content.decode()
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
    assert 'name="card_1"' in page
    answer = _card(customer)
    secondfactor.activate_otp(customer)  # another device, meanwhile
    response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **answer}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("transfers:start")
    assert response.content.decode().count(STEPUP_METHOD_CHANGED) == 1
    assert client.get(reverse("transfers:confirm")).url == reverse("transfers:start")  # nothing pending
    assert not Transfer.objects.exists()


def test_a_fault_at_the_confirm_stays_a_failure_not_a_refusal(signed_in, monkeypatch):
    """review33 F4: a refusal at the confirm is 拒否 with the payee and amount (walk33 F4), but a
    fault — LedgerIntegrityError: a deadlock, a timeout, a bug — is no refusal of the
    customer's transfer: it stays 失敗, with the ledger's own message."""
    from accounts.errors import LedgerIntegrityError
    from transfers import services

    client, customer, debit = signed_in
    _to_details(client, debit)
    client.post(reverse("transfers:details"), {"amount": "1000", "sender_name": "ﾔﾏﾀﾞ"})
    confirmation = re.search(r'name="confirmation" value="([^"]+)"',
                             client.get(reverse("transfers:confirm")).content.decode())[1]

    def fault(**kwargs):  # under the service's naming of refusals (confirm_refusal_summarised)
        raise LedgerIntegrityError("deadlock detected")
    monkeypatch.setattr(services, "journal_post", fault)
    response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    assert response.status_code == 200 and LedgerIntegrityError.message in response.content.decode()
    row = AuditEvent.objects.get(customer=customer, action="transfer")
    assert (row.outcome, row.summary) == ("failure", LedgerIntegrityError.message)
    assert not Transfer.objects.exists()


def test_foreign_transfer_and_payee_are_404(signed_in, django_user_model):
    client, customer, debit = signed_in
    other, other_debit = payer(email="")
    payee = registered_payee(other, bank_code="0161", bank_name="x", branch_code="002",
                             branch_name="y", account_type="1", account_number="0000001", holder_kana="ｱ")
    assert client.get(reverse("transfers:payee_rename", args=[payee.pk])).status_code == 404
    # a POST for it is told what a POST for a deleted payee is (its existence not told) and changes nothing
    response = client.post(reverse("transfers:payee_delete", args=[payee.pk]), follow=True)
    assert "この振込先は既に削除されています。" in response.content.decode()
    assert Payee.objects.filter(pk=payee.pk, customer=other).exists()
    assert client.get(reverse("transfers:done", args=[999999])).status_code == 404
    response = client.post(reverse("transfers:start"), {"debit_account": other_debit.pk, "mode": "new"})
    assert "引落口座を選択してください" in response.content.decode()


@override_settings(SERVICE_HOURS_ENFORCED=True)
def test_pages_refuse_outside_hours(client):
    customer, _debit = payer()
    saturday_night = dt.datetime(2026, 12, 5, 21, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    with time_machine.travel(saturday_night - dt.timedelta(minutes=5), tick=False):
        client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    with time_machine.travel(saturday_night, tick=False):
        for name in ("transfers:start", "transfers:bank", "transfers:details", "transfers:confirm", "transfers:limit"):
            response = client.get(reverse(name))
            assert response.status_code == 503
            assert "土曜・日曜・祝日 8:00～21:00" in response.content.decode()
    with time_machine.travel(saturday_night - dt.timedelta(minutes=1), tick=False):
        assert client.get(reverse("transfers:start")).status_code == 200


def test_limit_change_page_with_stepup(signed_in):
    client, customer, debit = signed_in
    page = client.get(reverse("transfers:limit")).content.decode()
    assert "1,000,000円" in page and "10,000,000円" in page
    # XFER-9 (walk25 F15): a misplaced comma is refused, not dropped (2,00,000 was 200,000円)
    page = client.post(reverse("transfers:limit"), {"new_limit": "2,00,000"}).content.decode()
    assert "利用限度額は数字（円単位）で入力してください。" in page
    response = client.post(reverse("transfers:limit"), {"new_limit": "２，０００，０００"})
    assert response.url == reverse("transfers:limit_confirm")
    assert "0:00から適用" in client.get(response.url).content.decode()
    response = client.post(reverse("transfers:limit_confirm"), _card(customer))
    assert response.url == reverse("transfers:limit_done")
    page = client.get(response.url).content.decode()
    assert 'data-figure="limit-current">1,000,000円' in page and "2,000,000円" in page
    assert AuditEvent.objects.filter(customer=customer, action="limit_change", outcome="success").exists()
    page = client.post(reverse("transfers:limit"), {"new_limit": "20000000"}).content.decode()
    assert "10,000,000円以内" in page
    for negative in ("-1", "－１", "▲1000"):  # walk28 F6: it was told 数字で入力
        page = client.post(reverse("transfers:limit"), {"new_limit": negative}).content.decode()
        assert "1日の利用限度額は0円以上で指定してください。" in page, negative


def test_a_cut_says_it_drops_the_raise_waiting_for_tomorrow(signed_in):
    """XFER-8: with a raise to 2,000,000円 waiting for 0:00 tomorrow, a cut (or the current
    figure again, to call the raise off) drops it — but the confirm page and the mail said
    only 「1,000,000円 から 1,000,000円 に変更します／しました」: the customer could not
    tell that tomorrow's raise was gone. Both now say so."""
    from notifications.models import OutboxMessage
    from transfers import services

    client, customer, debit = signed_in
    services.transfer_limit_change(customer=customer, new_limit=2_000_000)  # waits for tomorrow
    for new_limit in ("1000000", "300000"):
        assert client.post(reverse("transfers:limit"), {"new_limit": new_limit}).url == reverse(
            "transfers:limit_confirm")
        page = client.get(reverse("transfers:limit_confirm")).content.decode()
        assert "2,000,000円への引き上げは取り消されます" in page, new_limit
    assert client.post(reverse("transfers:limit_confirm"), _card(customer)).url == reverse("transfers:limit_done")
    notice = OutboxMessage.objects.filter(customer=customer, event="limit_change").order_by("id").last()
    assert "2,000,000円への引き上げは取り消しました" in notice.body


def test_the_loser_of_a_double_click_on_the_limit_confirm_is_told_done(signed_in):
    """XFER-8, SEC-14: two submits of the confirm at once both loaded the session holding
    the pending change; the second found the step-up used and showed 「既に処理されています」
    on the confirm page. It is sent to the done page like the first; one change."""
    client, customer, debit = signed_in
    client.post(reverse("transfers:limit"), {"new_limit": "500000"})
    pending = client.session["cosei_pending_limit_change"]
    client.get(reverse("transfers:limit_confirm"))
    assert client.post(reverse("transfers:limit_confirm"), _card(customer)).url == reverse("transfers:limit_done")
    session = client.session
    session["cosei_pending_limit_change"] = pending  # what the loser's request had loaded
    session.save()
    loser = client.post(reverse("transfers:limit_confirm"), _card(customer))
    assert loser.status_code == 302 and loser.url == reverse("transfers:limit_done")
    assert "cosei_pending_limit_change" not in client.session
    assert AuditEvent.objects.filter(customer=customer, action="limit_change", outcome="success").count() == 1


def test_a_limit_page_left_open_in_another_tab_changes_nothing(signed_in):
    """SEC-14, XFER-8: tab A confirms a limit of 100,000円; tab B (same session) asks for
    5,000,000円. Submitting tab A must not set 5,000,000円, which it never showed."""
    client, customer, debit = signed_in
    client.post(reverse("transfers:limit"), {"new_limit": "100000"})
    tab_a = client.get(reverse("transfers:limit_confirm")).content.decode()
    assert "100,000円" in tab_a
    shown = re.search(r'name="stepup" value="([^"]+)"', tab_a)
    assert shown, "the confirm page does not name the operation it shows"
    client.post(reverse("transfers:limit"), {"new_limit": "5000000"})  # tab B
    response = client.post(reverse("transfers:limit_confirm"), {"stepup": shown[1], **_card(customer)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "別の画面で新しいお手続きが始まった" in page and "5,000,000円" in page
    assert not AuditEvent.objects.filter(action="limit_change").exists()
    assert "5,000,000円" not in client.get(reverse("transfers:limit")).content.decode()


def test_a_limit_changed_elsewhere_after_the_input_page_is_refused_at_confirm(signed_in):
    """XFER-8, SEC-14: the customer asks for a cut to 500,000円 (the page showed 1,000,000円
    in force); before the confirm, another session cuts to 200,000円. The confirm applied
    500,000円 anyway — as a raise from tomorrow, which no page showed. It refuses now, on
    the page and in the service, and nothing changes."""
    from notifications.models import OutboxMessage
    from transfers import services
    from transfers.models import TransferLimit

    client, customer, debit = signed_in
    assert client.post(reverse("transfers:limit"), {"new_limit": "500000"}).url == reverse("transfers:limit_confirm")
    assert services.LIMIT_CHANGED not in client.get(reverse("transfers:limit_confirm")).content.decode()
    services.transfer_limit_change(customer=customer, new_limit=200_000)  # the other session
    assert services.LIMIT_CHANGED in client.get(reverse("transfers:limit_confirm")).content.decode()
    response = client.post(reverse("transfers:limit_confirm"), _card(customer), follow=True)
    # back on the input page with the figures as they are now, the stale change dropped:
    # a retry on the confirm page was refused the same way every time
    assert response.redirect_chain == [(reverse("transfers:limit"), 302)]
    assert services.LIMIT_CHANGED in response.content.decode()
    assert client.get(reverse("transfers:limit_confirm")).url == reverse("transfers:limit")
    limit = TransferLimit.objects.get(customer=customer)
    assert (limit.daily_limit, limit.pending_limit) == (200_000, None)
    assert AuditEvent.objects.filter(customer=customer, action="limit_change", outcome="success").count() == 1
    assert AuditEvent.objects.filter(customer=customer, action="limit_change", outcome="failure").count() == 1
    assert OutboxMessage.objects.filter(customer=customer, event="limit_change").count() == 1


def test_a_bank_maximum_changed_after_the_input_page_is_refused_at_confirm(signed_in):
    """XFER-8: staff raise the bank maximum while the customer is between input (which
    showed 10,000,000円 as the most) and confirm: the change is refused, not applied
    against figures the customer did not see."""
    from transfers import services
    from transfers.models import TransferLimit, TransferSettings

    client, customer, debit = signed_in
    client.post(reverse("transfers:limit"), {"new_limit": "3000000"})
    TransferSettings.objects.update_or_create(pk=1, defaults={"bank_max_daily_limit": 20_000_000})
    response = client.post(reverse("transfers:limit_confirm"), _card(customer), follow=True)
    assert response.redirect_chain == [(reverse("transfers:limit"), 302)]
    assert services.LIMIT_CHANGED in response.content.decode()
    assert not TransferLimit.objects.filter(customer=customer, pending_limit__isnull=False).exists()


def test_a_wrong_method_gets_a_japanese_page(signed_in):
    """XFER-6, UI-1: a bookmarked or typed POST-only address (振込予約取消's 取消 button,
    a payee's 削除) opened with GET, or a PUT on a confirm page, was a blank 405 page; it
    is a page in Japanese with the way back, and the Allow header stays."""
    client, customer, debit = signed_in
    for method, url in [("GET", "/transfers/scheduled/1/cancel/"), ("PUT", reverse("transfers:confirm")),
                        ("DELETE", reverse("transfers:limit_confirm")), ("PATCH", "/payeasy/confirm/"),
                        # read-only lists answered a POST with the page (review3)
                        ("POST", reverse("transfers:payees")), ("POST", "/history/")]:
        response = client.generic(method, url)
        assert response.status_code == 405, (method, url)
        assert response["Allow"]
        page = response.content.decode()
        assert "この操作は受け付けられません" in page and reverse("home") in page, (method, url)
    assert not Transfer.objects.exists()


def test_settings_page_links_payees_and_limit(signed_in):
    client, customer, debit = signed_in
    page = client.get(reverse("security:settings")).content.decode()
    assert reverse("transfers:payees") in page and reverse("transfers:limit") in page
    assert reverse("transfers:start") in client.get("/").content.decode()


def test_payee_management_pages_rename_and_delete(signed_in):
    client, customer, debit = signed_in
    payee = registered_payee(customer, bank_code="0161", bank_name="池田泉州銀行", branch_code="002",
                             branch_name="貝塚", account_type="1", account_number="0012345",
                             holder_kana="ﾀﾅｶ ﾊﾅｺ")
    assert "ﾀﾅｶ ﾊﾅｺ" in client.get(reverse("transfers:payees")).content.decode()
    page = client.post(reverse("transfers:payee_rename", args=[payee.pk]), {"nickname": "あ" * 21}).content.decode()
    assert "登録名は20文字以内" in page
    response = client.post(reverse("transfers:payee_rename", args=[payee.pk]), {"nickname": "はなこさん"})
    assert response.url == reverse("transfers:payees")
    assert "はなこさん" in client.get(response.url).content.decode()
    assert "削除します" in client.get(reverse("transfers:payee_delete", args=[payee.pk])).content.decode()
    response = client.post(reverse("transfers:payee_rename", args=[payee.pk]), {"nickname": "　 "})
    page = client.get(response.url).content.decode()  # cleared: the holder's name again, and said so (walk24)
    assert "ﾀﾅｶ ﾊﾅｺ" in page and "登録名を削除しました。受取人名で表示します。" in page
    client.post(reverse("transfers:payee_delete", args=[payee.pk]))
    assert not Payee.objects.filter(customer=customer).exists()
    assert [(event.action, event.summary.rsplit(" ", 1)[-1]) for event in AuditEvent.objects.filter(
        customer=customer, action__startswith="payee_").order_by("id")] == [
        ("payee_register", "ﾊﾅｺ"),  # registered after a transfer, as the database holds (transfers 0022)
        ("payee_rename", "登録名「はなこさん」"), ("payee_rename", "登録名を削除"), ("payee_delete", "ﾊﾅｺ")]


@pytest.mark.parametrize("url", ["transfers:payee_delete", "transfers:payee_rename"])
def test_a_payee_deleted_in_another_tab_is_said_so_not_a_404(signed_in, url):
    """XFER-7, SEC-14: the second click of 削除 (or a rename in a tab opened before the
    delete) posted for a payee already gone and got the 404 page; it is told 「既に削除
    されています」 on the list, and nothing is written. A GET of a gone payee stays a 404."""
    client, customer, debit = signed_in
    payee = registered_payee(customer, bank_code="0161", bank_name="池田泉州銀行", branch_code="002",
                             branch_name="貝塚", account_type="1", account_number="0012345",
                             holder_kana="ﾀﾅｶ ﾊﾅｺ")
    client.post(reverse("transfers:payee_delete", args=[payee.pk]))
    events = AuditEvent.objects.count()

    response = client.post(reverse(url, args=[payee.pk]), {"nickname": "はなこ"}, follow=True)

    assert response.redirect_chain == [(reverse("transfers:payees"), 302)]
    assert "この振込先は既に削除されています。" in response.content.decode()
    assert AuditEvent.objects.count() == events
    assert client.get(reverse(url, args=[payee.pk])).status_code == 404


@pytest.mark.parametrize("nickname", ["\u202eさこなは", "はな\u200bこ", "はな\x85こ", "はな\x9bこ", "\ufeffはなこ"])
def test_a_nickname_with_invisible_or_direction_characters_is_refused(signed_in, nickname):
    """XFER-7: the 登録名 refused only ASCII control characters; U+202E (right-to-left
    override) turned 「さこなは」 into 「はなこさ」 on the payee list and the transfer's
    payee choice, and zero-width or C1 characters made two nicknames look alike. The same
    rule as a passkey's name: no control or format characters."""
    client, customer, debit = signed_in
    payee = registered_payee(customer, bank_code="0161", bank_name="池田泉州銀行", branch_code="002",
                             branch_name="貝塚", account_type="1", account_number="0012345",
                             holder_kana="ﾀﾅｶ ﾊﾅｺ")
    page = client.post(reverse("transfers:payee_rename", args=[payee.pk]), {"nickname": nickname}).content.decode()
    assert "登録名に使用できない文字が含まれています。" in page
    assert Payee.objects.get(pk=payee.pk).nickname == ""


@pytest.mark.parametrize(("typed", "stored"), [
    ("ｶﾞ" * 20, "ガ" * 20),               # 40 code points typed, 20 characters seen
    ("か\u3099" * 20, "が" * 20),          # a combining mark: composed (NFC)
    ("ﾊﾟﾊﾟのｺｳｻﾞ", "パパのコウザ"),
    ("ＡＢＣ大家さん 123", "ＡＢＣ大家さん 123"),  # only the half-width katakana change
])
def test_a_nickname_is_counted_as_the_customer_sees_it_and_kept_so(signed_in, typed, stored):
    """XFER-7, UI-1 (probe34 F6): 「ｶﾞ」×20 was refused as over 20 characters — each ｶﾞ is
    two code points. The 登録名 is kept as ``display_name`` makes it (half-width katakana
    full-width, ｶﾞ → ガ: the page's hint says so), and counted as kept; 21 are still refused."""
    client, customer, debit = signed_in
    payee = registered_payee(customer, bank_code="0161", bank_name="池田泉州銀行", branch_code="002",
                             branch_name="貝塚", account_type="1", account_number="0012345",
                             holder_kana="ﾀﾅｶ ﾊﾅｺ")
    url = reverse("transfers:payee_rename", args=[payee.pk])
    assert "半角カナは全角カナにして登録します" in client.get(url).content.decode()
    response = client.post(url, {"nickname": typed})
    assert response.status_code == 302 and response.url == reverse("transfers:payees")
    assert Payee.objects.get(pk=payee.pk).nickname == stored
    assert stored in client.get(response.url).content.decode()
    page = client.post(url, {"nickname": "ｶﾞ" * 21}).content.decode()
    assert "登録名は20文字以内で入力してください。" in page
    assert Payee.objects.get(pk=payee.pk).nickname == stored


def test_the_bank_type_links_carry_the_row_url_encoded(signed_in):
    """XFER-1 (walk28 F3): the 種類 links echoed ``row`` into their query unencoded:
    ``row=カ&type=shinkin`` made every link carry a second ``type``, and ``row=%2541#frag``
    sent ``row=A`` and cut the rest off as a fragment."""
    import html
    from urllib.parse import parse_qs, urlsplit

    client, customer, debit = signed_in
    client.post(reverse("transfers:start"), {"debit_account": debit.pk, "mode": "new"})
    for row in ("カ&type=shinkin", "%41#frag", "ア"):
        page = client.get(reverse("transfers:bank"), {"type": "bank", "row": row}).content.decode()
        type_list = page.split('<ul class="type-list">', 1)[1].split("</ul>", 1)[0]  # the 種類 links only
        links = [html.unescape(href) for href in re.findall(r'<a href="(\?type=[^"]*)"', type_list)]
        assert len(links) >= 3, page
        for link in links:
            parts = urlsplit(link)
            assert parts.fragment == "" and parse_qs(parts.query)["row"] == [row], link
            assert len(parse_qs(parts.query)["type"]) == 1, link
    assert '<a href="?type=shinkin&amp;row=%E3%82%AB' in client.get(
        reverse("transfers:bank"), {"row": "カ&type=x"}).content.decode()


def test_kana_screens_take_odd_input_without_error(signed_in):
    client, customer, debit = signed_in
    client.post(reverse("transfers:start"), {"debit_account": debit.pk, "mode": "new"})
    for params in ({"q": "\x00"}, {"q": "いけだ\x00"}, {"row": "\x00", "letter": "アイ"}, {"q": "0161"},
                   {"q": "x" * 500}, {"type": "nope", "row": "ア"}):
        assert client.get(reverse("transfers:bank"), params).status_code == 200
        assert client.get(reverse("transfers:branch", args=["0161"]), params).status_code == 200
    assert "池田泉州銀行" in client.get(reverse("transfers:bank"), {"q": "いけだ"}).content.decode()
    assert "池田泉州銀行" in client.get(reverse("transfers:bank"), {"q": "161"}).content.decode()
    # XFER-9: a code typed in full-width digits is the same code
    assert "池田泉州銀行" in client.get(reverse("transfers:bank"), {"q": "０１６１"}).content.decode()
    assert "貝塚" in client.get(reverse("transfers:branch", args=["0161"]), {"q": "００２"}).content.decode()
    assert "貝塚" in client.get(reverse("transfers:branch", args=["0161"]), {"q": "ｶｲﾂﾞｶ"}).content.decode()
    assert client.get(reverse("transfers:branch", args=["9999"])).status_code == 404
    assert client.get(reverse("transfers:account", args=["0161", "999"])).status_code == 404


@pytest.mark.parametrize(("query", "found"), [
    ("いけだせんしゅう", "池田泉州銀行"), ("ｲｹﾀﾞｾﾝｼｭｳ", "池田泉州銀行"), ("センシュウ", "池田泉州銀行"),
    ("ユウチョ", "ゆうちょ銀行"), ("みずほ銀行", "みずほ銀行"), ("みずほぎんこう", "みずほ銀行"),
    ("三菱UFJ", "三菱ＵＦＪ銀行"), ("三菱ufj銀行", "三菱ＵＦＪ銀行"), ("ミツビシ", "三菱ＵＦＪ銀行"),
])
def test_the_bank_search_finds_what_customers_type(signed_in, query, found):
    """XFER-9 (walk30 F1): small kana, the name with its 銀行 / ぎんこう, ASCII letters —
    each found nothing, while the search box asks for 「金融機関名の一部」. The query is
    folded as Zengin writes names (no small kana; the type shown apart; letters full-width)."""
    client, customer, debit = signed_in
    client.post(reverse("transfers:start"), {"debit_account": debit.pk, "mode": "new"})
    assert found in client.get(reverse("transfers:bank"), {"q": query}).content.decode()


def test_the_branch_search_finds_zu_for_zengins_du(signed_in):
    """walk30 F1: customers write かいずか for 貝塚 (Zengin カイヅカ), and しゅう for シユウ."""
    client, customer, debit = signed_in
    client.post(reverse("transfers:start"), {"debit_account": debit.pk, "mode": "new"})
    for query in ("かいずか", "かいづか", "カイズカ", "貝塚支店", "かいづかしてん"):
        assert "貝塚" in client.get(reverse("transfers:branch", args=["0161"]), {"q": query}).content.decode(), query
    assert "該当する" in client.get(reverse("transfers:bank"), {"q": "存在しない銀行"}).content.decode()


def test_a_fee_changed_after_the_confirm_page_sends_the_customer_back_to_start(signed_in):
    """XFER-4, XFER-5 (walk30 F3): staff changed the fee row of the 振込日 while the 予約
    confirm page was open. The refusal came back with 「本人認証は完了しています」 and the
    予約する button, which could only fail the same way, every time. It is final now: back to
    the start with the message, nothing booked; the next confirm page shows the new fee."""
    from tests.transfers.test_record_guards import future_day
    from transfers.models import FeeSchedule
    from transfers.services import FEE_CHANGED

    day = future_day()  # by the real clock: the fee table's own rule reads the database's
    booking = {"amount": "10000", "sender_name": "ﾔﾏﾀﾞ ﾀﾛｳ", "transfer_date": day.isoformat()}

    client, customer, debit = signed_in
    _to_details(client, debit)
    assert client.post(reverse("transfers:details"), booking).url == reverse("transfers:confirm")
    page = client.get(reverse("transfers:confirm")).content.decode()
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
    FeeSchedule.objects.create(effective_from=day, other_bank_under=990, other_bank_over=990)
    response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    assert response.status_code == 302 and response.url == reverse("transfers:start")
    assert FEE_CHANGED in client.get(response.url).content.decode()
    assert not Transfer.objects.exists()
    assert client.get(reverse("transfers:confirm")).url == reverse("transfers:start")  # no dead-end page left
    _to_details(client, debit)
    assert client.post(reverse("transfers:details"), booking).url == reverse("transfers:confirm")
    assert "990円" in client.get(reverse("transfers:confirm")).content.decode()


def test_odd_bank_and_branch_codes_in_the_path_are_404(signed_in):
    """XFER-1, XFER-2: a bank or branch code in the URL that is not 4 / 3 ASCII digits
    names no bank — NUL reached PostgreSQL as a text parameter (DataError, a 500)."""
    client, customer, debit = signed_in
    client.post(reverse("transfers:start"), {"debit_account": debit.pk, "mode": "new"})
    for path in ("/transfers/new/bank/%00/", "/transfers/new/bank/0161%00/", "/transfers/new/bank/%00/002/",
                 "/transfers/new/bank/0161/%00/", "/transfers/new/bank/0161/002%00/",
                 "/transfers/new/bank/０１６１/", "/transfers/new/bank/0161/００２/",
                 "/transfers/new/bank/" + "9" * 5000 + "/", "/transfers/new/bank/0161/" + "9" * 5000 + "/",
                 "/transfers/new/bank/%E2%80%AE0161/"):
        assert client.get(path).status_code == 404, path
        assert client.post(path, {"account_type": "1", "account_number": "1"}).status_code == 404, path
    assert client.get("/transfers/new/bank/0161/002/").status_code == 200
    assert not Payee.objects.exists() and not Transfer.objects.exists()


@pytest.mark.parametrize("replaced", [False, True])
def test_a_limit_confirm_posted_again_after_it_went_through_shows_the_done_page(signed_in, replaced):
    """XFER-8, SEC-14: the confirm page in a second tab (or the same POST replayed) after
    the first submit changed the limit: nothing was pending any more, and the customer
    landed on the input page with 「既に完了したか別の画面で中止された」, not told the
    change went through. The page posts the step-up it showed; a used one of the
    customer's of this kind is the done page (no second change). ``replaced``: another
    change was started in between (it stays pending)."""
    client, customer, debit = signed_in
    client.post(reverse("transfers:limit"), {"new_limit": "500000"})
    page = client.get(reverse("transfers:limit_confirm")).content.decode()
    answer = {"stepup": re.search(r'name="stepup" value="([^"]+)"', page)[1], **_card(customer)}
    assert client.post(reverse("transfers:limit_confirm"), answer).url == reverse("transfers:limit_done")
    if replaced:
        client.post(reverse("transfers:limit"), {"new_limit": "300000"})
    replay = client.post(reverse("transfers:limit_confirm"), answer)
    assert replay.status_code == 302 and replay.url == reverse("transfers:limit_done")
    page = client.get(replay.url).content.decode()
    assert "既に完了した" not in page and "500,000円" in page
    assert ("cosei_pending_limit_change" in client.session) is replaced
    assert AuditEvent.objects.filter(customer=customer, action="limit_change", outcome="success").count() == 1


def test_a_limit_confirm_names_only_a_used_step_up_of_the_customers_own_limit_change(signed_in):
    """SEC-14: a posted step-up that is not this customer's used 利用限度額変更 (another
    customer's, another kind, one not used) is not taken as done: nothing pending stays
    「既に完了したか…」 and nothing else is disclosed."""
    from tests.security.secondfactor import customer_with_card

    client, customer, debit = signed_in
    other = customer_with_card()
    foreign = StepUp.objects.create(customer=other, kind="limit_change", content={}, content_hash="x",
                                    method="image_card", expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    own_other_kind = StepUp.objects.create(customer=customer, kind="transfer_cancel", content={},
                                           content_hash="x", method="image_card", expires_at=foreign.expires_at)
    # born unanswered (security 0011), then answered and used once, as the flow does
    used = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    StepUp.objects.filter(pk__in=[foreign.pk, own_other_kind.pk]).update(verified_at=used, used_at=used)
    own_unused = StepUp.objects.create(customer=customer, kind="limit_change", content={}, content_hash="x",
                                       method="image_card", expires_at=foreign.expires_at)
    for stepup in (foreign, own_other_kind, own_unused, "not-a-uuid"):
        response = client.post(reverse("transfers:limit_confirm"), {"stepup": str(getattr(stepup, "pk", stepup))},
                               follow=True)
        assert response.redirect_chain == [(reverse("transfers:limit"), 302)]
        assert "既に完了したか別の画面で中止されたため" in response.content.decode()


def test_debit_frozen_after_the_right_answer_keeps_the_answer_and_shows_no_challenge(signed_in):
    """SEC-14, XFER-1 (walk25 F11): staff froze the 引落口座 while the customer was on the
    confirm page. The right answer is refused by the freeze: the page comes back with the
    message and the button only — no image-card challenge (its challenge is closed, its 16
    images would 404) — and says the answer stands. After the unfreeze the button alone
    executes, without a new answer and without a counted failure."""
    client, customer, debit = signed_in
    _to_details(client, debit)
    response = client.post(reverse("transfers:details"), {"amount": "50000", "sender_name": "ﾔﾏﾀﾞ ﾀﾛｳ"})
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', client.get(response.url).content.decode())[1]
    Account.objects.filter(pk=debit.pk).update(status=Account.Status.FROZEN)
    response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    page = response.content.decode()
    assert response.status_code == 200 and "お支払いが停止されているため" in page
    assert "/image-auth/" not in page and 'name="card_1"' not in page
    assert "本人認証は完了しています" in page and "振込を実行する" in page
    # 取引履歴 (walk33 F4): 拒否, with the payee and the amount, as at the input page — not a bare 失敗
    refusal = AuditEvent.objects.get(customer=customer, action="transfer")
    assert refusal.outcome == "refused"
    assert refusal.summary.startswith("池田泉州銀行 貝塚支店 50,000円 この口座はお支払いが停止されているため")
    stepup = re.search(r'name="stepup" value="([^"]+)"', page)[1]
    # a reload of the page shows the same: no new challenge either
    page = client.get(reverse("transfers:confirm")).content.decode()
    assert "/image-auth/" not in page and "本人認証は完了しています" in page
    Account.objects.filter(pk=debit.pk).update(status=Account.Status.OPEN)
    response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, "stepup": stepup})
    transfer = Transfer.objects.get(customer=customer)
    assert response.url == reverse("transfers:done", args=[transfer.pk])
    debit.refresh_from_db()
    assert debit.balance == 1_000_000 - 50_550
    assert not AuditEvent.objects.filter(action="step_up", outcome="failure").exists()


def test_start_page_names_a_frozen_debit_account(signed_in):
    """XFER-1, ACCT-1 (walk25 F16): the 振込 start page dropped a frozen 引落口座 without a
    word. It is still not offered, and one line says it cannot be used now and to ask the
    branch — no internal reason."""
    client, customer, debit = signed_in
    from tests import factories

    frozen = factories.account(owner=customer, balance=50_000)
    Account.objects.filter(pk=frozen.pk).update(status=Account.Status.FROZEN)
    page = client.get(reverse("transfers:start")).content.decode()
    assert f'value="{debit.pk}"' in page and f'value="{frozen.pk}"' not in page
    assert (f"***{frozen.number[-4:]}は、現在お取引を停止しているためご利用いただけません。"
            "詳しくはお取引店にお問い合わせください。") in page
    assert "支払停止" not in page
    Account.objects.filter(pk=frozen.pk).update(status=Account.Status.OPEN)
    assert "お取引を停止している" not in client.get(reverse("transfers:start")).content.decode()


def test_a_limit_capped_by_the_bank_maximum_says_so_and_the_capped_figure_lowers_the_choice(signed_in):
    """XFER-8 (walk26 F6): with the bank maximum lowered to 800,000円, the page said only
    「現在の1日の利用限度額 800,000円」 — no hint that the bank capped it — and 800,000 was
    refused 「現在の利用限度額と同じです。」 though the customer's choice (1,000,000円, the
    default) stayed and came back in full when the maximum rose. The page names the choice
    and the cap; the capped figure typed again lowers the choice to it."""
    from notifications.models import OutboxMessage
    from transfers.models import TransferLimit, TransferSettings

    client, customer, debit = signed_in
    # the first transfer makes the limit row: it keeps the default as the customer's choice
    execute(customer, content_for(customer, debit, other_bank_payee(), 1_000))
    assert TransferLimit.objects.get(customer=customer).daily_limit == 1_000_000
    TransferSettings.objects.filter(pk=1).update(bank_max_daily_limit=800_000)
    page = client.get(reverse("transfers:limit")).content.decode()
    assert 'data-figure="limit-current">800,000円（当金庫の上限額）' in page
    assert 'data-figure="limit-chosen">1,000,000円（当金庫の上限額800,000円を超えるため' in page
    assert "ご設定の1,000,000円ではなく800,000円が適用されています" in page
    response = client.post(reverse("transfers:limit"), {"new_limit": "800,000"})
    assert response.status_code == 302 and response.url == reverse("transfers:limit_confirm")
    page = client.get(response.url).content.decode()
    assert "1,000,000円（当金庫の上限により800,000円）</strong> から" in page and "本日から適用されます" in page
    assert client.post(reverse("transfers:limit_confirm"), _card(customer)).url == reverse("transfers:limit_done")
    assert TransferLimit.objects.get(customer=customer).daily_limit == 800_000
    notice = OutboxMessage.objects.filter(customer=customer, event="limit_change").latest("id")
    assert "1日の振込利用限度額を1,000,000円（当金庫の上限により800,000円）から800,000円に変更しました" in notice.body
    page = client.get(reverse("transfers:limit")).content.decode()
    assert 'data-figure="limit-current">800,000円</dd>' in page and "limit-chosen" not in page
    assert "現在の利用限度額と同じです。" in client.post(reverse("transfers:limit"),
                                                        {"new_limit": "800000"}).content.decode()
    TransferSettings.objects.filter(pk=1).update(bank_max_daily_limit=10_000_000)  # the choice holds
    assert 'data-figure="limit-current">800,000円</dd>' in client.get(reverse("transfers:limit")).content.decode()
