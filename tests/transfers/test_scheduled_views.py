"""The 予約振込 pages with the Django test client (XFER-5, XFER-6): the date in the flow
(refusals with reasons, typed on a phone, a picker on a PC), 振込予約取消 with the step-up,
and 予約状況."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Account
from security.audit import reference_text
from security.models import AuditEvent
from tests.transfers.scheduled_support import at, told_as_the_batch
from tests.transfers.support import payer
from tests.transfers.test_views import _card, _to_details
from transfers import scheduled
from transfers.forms import DATE_EMPTY
from transfers.models import Transfer

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 12, 7)
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


@pytest.fixture
def signed_in(client):
    """Signed in on Monday 2026-12-07 10:00 (the clock runs on from there)."""
    with time_machine.travel(at(MONDAY), tick=True):
        customer, debit = payer()
        response = client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
        assert response.status_code == 302
        yield client, customer, debit


def _details(client, **values):
    return client.post(reverse("transfers:details"), {"amount": "10000", "sender_name": "ﾔﾏﾀﾞ ﾀﾛｳ", **values})


def test_schedule_cancel_and_history_pages(signed_in):
    client, customer, debit = signed_in
    if True:
        _to_details(client, debit)
        page = client.get(reverse("transfers:details")).content.decode()
        assert 'type="date"' in page and 'min="2026-12-07"' in page and 'max="2027-02-05"' in page
        for typed, fragment in [("2026/12/12", "土曜日"), ("２０２６－１２－３１", "年末年始"),
                                ("2027-02-08", "60日先"), ("2026-12-06", "過去"), ("12/08", "年・月・日"),
                                ("2026-02-30", "存在しない"), ("2026\x00", "年・月・日"), ("9" * 3000, "年・月・日")]:
            response = _details(client, transfer_date=typed)
            assert response.status_code == 200, typed
            assert fragment in response.content.decode(), typed
        assert not Transfer.objects.exists()
        response = _details(client, amount="2000000", transfer_date="2026/12/08")  # over the limit of that day
        assert "12月8日の振込の合計（予約分を含む）" in response.content.decode()
        response = _details(client, transfer_date="２０２６／１２／０８")
        assert response.url == reverse("transfers:confirm")
        page = client.get(response.url).content.decode()
        assert "2026年12月8日" in page
        # XFER-5: a reservation's confirm says so (it said 「お振込します」「振込を実行する」)
        assert "以下の内容で振込を予約します" in page and "振込を予約する" in page and "振込を実行する" not in page
        confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
        response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
        transfer = Transfer.objects.get(customer=customer)
        assert response.url == reverse("transfers:done", args=[transfer.pk])
        assert transfer.status == Transfer.Status.SCHEDULED and transfer.transfer_date == dt.date(2026, 12, 8)
        assert "振込予約を受け付けました" in client.get(response.url).content.decode()
        debit.refresh_from_db()
        assert debit.balance == 1_000_000  # nothing debited yet

        # 振込予約取消: listed with date, payee, amount and fee; cancel with the image card
        page = client.get(reverse("transfers:scheduled")).content.decode()
        assert "2026年12月8日" in page and "ﾀﾅｶ ﾊﾅｺ" in page and "10,000円" in page and "330円" in page
        response = client.post(reverse("transfers:scheduled_cancel_start", args=[transfer.pk]))
        assert response.url == reverse("transfers:scheduled_cancel")
        page = client.get(response.url).content.decode()
        assert "予約を取り消す" in page
        pending = client.session["cosei_pending_transfer_cancel"]
        response = client.post(reverse("transfers:scheduled_cancel"), _card(customer))
        assert response.url == reverse("transfers:scheduled")
        transfer.refresh_from_db()
        assert transfer.status == Transfer.Status.CANCELLED
        assert AuditEvent.objects.filter(action="transfer_cancel", outcome="success").count() == 1
        # a replay of the cancel (a tab left on the confirm page) posts nothing more and
        # says why — it landed on the list without a word (walk23)
        replay = client.post(reverse("transfers:scheduled_cancel"), _card(customer), follow=True)
        assert replay.redirect_chain == [(reverse("transfers:scheduled"), 302)]
        assert "このお手続きは、既に完了したか別の画面で中止されたため、実行しませんでした。" in replay.content.decode()
        assert AuditEvent.objects.filter(action="transfer_cancel", outcome="success").count() == 1
        # the loser of a double click (its session still held the pending cancel) is told
        # done like the winner, not 「既に処理されています」 (SEC-14)
        session = client.session
        session["cosei_pending_transfer_cancel"] = pending
        session.save()
        loser = client.post(reverse("transfers:scheduled_cancel"), _card(customer))
        assert loser.status_code == 302 and loser.url == reverse("transfers:scheduled")
        assert "cosei_pending_transfer_cancel" not in client.session
        assert AuditEvent.objects.filter(action="transfer_cancel", outcome="success").count() == 1
        page = client.get(reverse("transfers:scheduled_history")).content.decode()
        assert "取消済" in page
        # 取引履歴: the reservation and its cancel name it 「受付番号 N」 like the done page
        # (they wrote 「#N」; walk22)
        history = client.get(reverse("history")).content.decode()
        assert history.count(f"受付番号 {transfer.pk} ") == 2 and f"#{transfer.pk}" not in history


def test_on_the_day_it_is_listed_but_not_cancellable_and_history_shows_the_reason(signed_in):
    client, customer, debit = signed_in
    if True:
        _to_details(client, debit)
        response = _details(client, transfer_date="2026-12-08")
        confirmation = re.search(r'name="confirmation" value="([^"]+)"', client.get(response.url).content.decode())[1]
        client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    transfer = Transfer.objects.get(customer=customer)
    with time_machine.travel(at(dt.date(2026, 12, 8), 0, 2), tick=True):
        client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
        page = client.get(reverse("transfers:scheduled")).content.decode()
        assert scheduled.CANCEL_ON_THE_DAY in page and "この予約を取り消す" not in page
        response = client.post(reverse("transfers:scheduled_cancel_start", args=[transfer.pk]), follow=True)
        assert scheduled.CANCEL_ON_THE_DAY in response.content.decode()
    # the batch's step, with its time (the database refuses a 未処理 without one: CI202)
    Transfer.objects.filter(pk=transfer.pk).update(status=Transfer.Status.UNPROCESSED,
                                                   unprocessed_reason=Transfer.Reason.INSUFFICIENT_FUNDS,
                                                   executed_at=at(dt.date(2026, 12, 8), 9))
    told_as_the_batch(transfer.pk)
    with time_machine.travel(at(dt.date(2026, 12, 8), 10), tick=True):
        client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
        page = client.get(reverse("transfers:scheduled_history")).content.decode()
    assert "未処理（残高不足）" in page


def test_phone_types_the_date_without_a_picker_and_menu_and_settings_link_it(signed_in):
    client, customer, debit = signed_in
    if True:
        _to_details(client, debit)
        page = client.get(reverse("transfers:details"), HTTP_USER_AGENT=IPHONE).content.decode()
        assert 'type="date"' not in page and 'inputmode="numeric"' in page
        assert reverse("transfers:scheduled") in client.get(reverse("security:settings")).content.decode()


def test_todays_date_given_is_a_same_day_transfer_as_the_hint_and_the_pickers_min_say(signed_in):
    """XFER-5, UI-1: the picker starts at today and today, typed or picked, is a same-day
    transfer; the hint said 「本日のお振込は空欄のまま」 as if only an empty field meant today."""
    client, customer, debit = signed_in
    _to_details(client, debit)
    page = client.get(reverse("transfers:details")).content.decode()
    assert 'min="2026-12-07"' in page and "本日のお振込は本日の日付のままお進みください。" in page
    response = _details(client, transfer_date="2026/12/07")
    assert response.url == reverse("transfers:confirm")
    page = client.get(response.url).content.decode()
    assert "振込を実行する" in page and "振込を予約する" not in page
    assert "本日（2026年12月7日）" in page


def test_the_date_is_shown_filled_with_today_and_an_empty_one_is_asked_for(signed_in):
    """XFER-5, UI-1 (walk33 F2): a date the PC's picker could not hold (12/11 with no year)
    is sent as '', which meant 本日 — a meant 予約 was executed at once and could not be
    cancelled. The field now starts with today's date, on a PC and a phone; sent empty it is
    asked for and nothing goes on. A 予約's confirm says the date is one."""
    client, customer, debit = signed_in
    _to_details(client, debit)
    assert 'value="2026-12-07"' in client.get(reverse("transfers:details")).content.decode()
    phone = client.get(reverse("transfers:details"), HTTP_USER_AGENT=IPHONE).content.decode()
    assert 'value="2026/12/07"' in phone
    for empty in ("", "   "):
        response = _details(client, transfer_date=empty)
        assert response.status_code == 200
        assert DATE_EMPTY in response.content.decode()
        assert client.get(reverse("transfers:confirm")).url == reverse("transfers:start"), "nothing to confirm"
    # the customer's own date is kept when they come back to the page
    _details(client, transfer_date="2026/12/11")
    assert 'value="2026/12/11"' in client.get(reverse("transfers:details")).content.decode()
    page = client.get(reverse("transfers:confirm")).content.decode()
    assert "2026年12月11日（予約）" in page and "本日（" not in page


def test_the_last_date_the_page_names_is_a_business_day_it_takes(client):
    """XFER-5, XFER-11 (probe34 F2): on Tuesday 2026-12-08, 2099-12-31 was refused with
    「振込日は2027年2月6日（60日後）までの営業日を…」 and 2027-02-06 then as 土曜日. The
    page names 2027年2月5日 (the picker's max, the hint, the refusal) and takes it."""
    with time_machine.travel(at(dt.date(2026, 12, 8)), tick=True):
        customer, debit = payer()
        client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
        _to_details(client, debit)
        page = client.get(reverse("transfers:details")).content.decode()
        assert 'max="2027-02-05"' in page and "翌営業日から2027年2月5日までの営業日を" in page
        refused = _details(client, transfer_date="2099-12-31").content.decode()
        assert "振込日は2027年2月5日までの営業日を指定してください（ご予約は60日先までの営業日です）。" in refused
        assert "2027年2月6日" not in refused
        response = _details(client, transfer_date="2027-02-05")
        assert response.status_code == 302 and response.url == reverse("transfers:confirm")
        assert "2027年2月5日" in client.get(response.url).content.decode()


@pytest.mark.parametrize(("today", "example"), [
    (dt.date(2026, 12, 30), "2027/01/04"),  # the year-end closing: Dec 31 – Jan 3 is no transfer date
    (dt.date(2027, 1, 8), "2027/01/12"),    # Friday before 成人の日 (Mon Jan 11)
    (MONDAY, "2026/12/08"),
])
def test_the_date_example_is_the_next_business_day_on_pc_and_phone(client, today, example):
    """XFER-5, XFER-11, UI-1: the transfer date's example is the first date a reservation can
    take; it was a fixed 「2026/03/05」, a day in the past or a holiday (walk22)."""
    with time_machine.travel(at(today), tick=True):
        customer, debit = payer()
        client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
        _to_details(client, debit)
        page = client.get(reverse("transfers:details")).content.decode()
        assert f"までの営業日を「{example}」のように入力してください" in page
        assert "2026/03/05" not in page
        phone = client.get(reverse("transfers:details"), HTTP_USER_AGENT=IPHONE).content.decode()
        assert f'placeholder="例：{example}"' in phone
        refused = _details(client, transfer_date="12/08").content.decode()
        assert f"振込日は「{example}」のように年・月・日を数字で入力してください。" in refused


def _schedule_one(client, customer, debit) -> Transfer:
    _to_details(client, debit)
    response = _details(client, transfer_date="2026-12-08")
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', client.get(response.url).content.decode())[1]
    client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    return Transfer.objects.get(customer=customer)


def test_the_reservation_done_page_says_so_and_shows_what_the_payee_receives(signed_in):
    """XFER-1, XFER-5: the done page of a reservation is titled 「振込予約の受付完了」 (it
    said 振込完了, for a transfer not made yet) and, like the confirm page, shows お受取金額
    and 依頼人名 (walk22)."""
    client, customer, debit = signed_in
    _to_details(client, debit)
    response = _details(client, transfer_date="2026-12-08", fee_borne_by_payee="on")
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', client.get(response.url).content.decode())[1]
    response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    page = client.get(response.url).content.decode()
    assert "<title>振込予約の受付完了" in page and "<h1>振込予約の受付完了</h1>" in page and "振込完了" not in page
    assert re.search(r'<dt>お受取金額</dt><dd data-figure="credited">9,670円</dd>', page)
    assert re.search(r'<dt>お引落金額</dt><dd data-figure="debited">10,000円</dd>', page)
    assert re.search(r'<dt>依頼人名</dt><dd data-figure="sender">ﾔﾏﾀﾞ ﾀﾛｳ</dd>', page)


def test_the_done_page_says_what_became_of_the_booking(signed_in):
    """walk26 F2, XFER-5/6: an old confirmation replayed after its 予約 was cancelled led
    to a page titled 「振込完了」 saying 「振込手続きが完了しました」 with 取消済 below and
    「今回の振込先を登録」; the same for 未処理. The heading and sentence follow the state,
    and a payee is offered only after a transfer made or booked."""
    from django.utils import timezone

    from transfers.models import Payee

    client, customer, debit = signed_in
    _to_details(client, debit)
    response = _details(client, transfer_date="2026-12-08")
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', client.get(response.url).content.decode())[1]
    client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    transfer = Transfer.objects.get(customer=customer)
    done = reverse("transfers:done", args=[transfer.pk])
    page = client.get(done).content.decode()
    assert "<h1>振込予約の受付完了</h1>" in page and "今回の振込先を登録" in page

    # cancelled as the customer cancels (transfers 0031: with its audit row and mail)
    from transfers.scheduled import scheduled_transfer_cancel
    scheduled_transfer_cancel(customer=customer, transfer_id=transfer.pk)
    response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    assert response.url == done  # the replayed confirmation shows its result
    page = client.get(done).content.decode()
    assert "<title>振込予約（取消済）" in page and "<h1>振込予約（取消済）</h1>" in page
    assert "ご予約のお振込は取り消されています。お振込は行われていません。" in page
    assert "振込完了" not in page and "振込手続きが完了しました" not in page and "今回の振込先を登録" not in page
    response = client.post(done)  # the button of a page shown before the cancel
    assert response.url == done and not Payee.objects.filter(customer=customer).exists()
    assert "実行されなかったお振込の振込先は、ここでは登録できません。" in client.get(done).content.decode()

    _to_details(client, debit)
    response = _details(client, transfer_date="2026-12-09")
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', client.get(response.url).content.decode())[1]
    client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    unprocessed = Transfer.objects.get(customer=customer, status=Transfer.Status.SCHEDULED)
    Transfer.objects.filter(pk=unprocessed.pk).update(  # by the batch on its date (transfers 0027, CI223)
        status=Transfer.Status.UNPROCESSED, executed_at=timezone.make_aware(dt.datetime(2026, 12, 9, 0, 5)),
        unprocessed_reason=Transfer.Reason.INSUFFICIENT_FUNDS)
    told_as_the_batch(unprocessed.pk)
    page = client.get(reverse("transfers:done", args=[unprocessed.pk])).content.decode()
    assert "<h1>振込予約（未処理）</h1>" in page
    assert "ご予約のお振込は、残高不足のため振込指定日に実行できませんでした（未処理）。" in page
    assert "振込完了" not in page and "今回の振込先を登録" not in page


def test_cancel_returns_where_the_customer_came_from(signed_in):
    """XFER-6, UI-1: 振込予約取消 and 予約状況 lead back to the page they were opened from —
    各種設定 or 取引履歴照会 (?from=, a key of a fixed table) — and offer no 「各種設定に戻る」
    when opened from the menu or the done page; they always did (walk22)."""
    client, customer, debit = signed_in
    transfer = _schedule_one(client, customer, debit)
    settings_url, history_url = reverse("security:settings"), reverse("history")
    scheduled_url = reverse("transfers:scheduled")
    assert f'href="{scheduled_url}?from=settings"' in client.get(settings_url).content.decode()
    assert f'href="{scheduled_url}?from=history"' in client.get(history_url).content.decode()

    for page_name in ("transfers:scheduled", "transfers:scheduled_history"):
        page = client.get(reverse(page_name) + "?from=settings").content.decode()
        assert f'<a href="{settings_url}">各種設定に戻る</a>' in page and "?from=settings" in page
        page = client.get(reverse(page_name) + "?from=history").content.decode()
        assert f'<a href="{history_url}">取引履歴照会に戻る</a>' in page and "各種設定に戻る" not in page
        for origin in ("", "?from=https://evil.example/", "?from=//evil.example", "?from=settings%0A"):
            page = client.get(reverse(page_name) + origin).content.decode()
            assert "に戻る" not in page and "evil" not in page and "from=" not in page, origin

    # through the cancel: start, confirm page, done — the origin is kept
    response = client.post(reverse("transfers:scheduled_cancel_start", args=[transfer.pk]) + "?from=settings")
    assert response.url == reverse("transfers:scheduled_cancel") + "?from=settings"
    page = client.get(response.url).content.decode()
    assert f'<a href="{scheduled_url}?from=settings">戻る</a>' in page
    response = client.post(reverse("transfers:scheduled_cancel") + "?from=settings", _card(customer))
    assert response.url == scheduled_url + "?from=settings"
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.CANCELLED
    assert "各種設定に戻る" in client.get(response.url).content.decode()
    # a hostile origin on the cancel is no origin: back to the list itself
    response = client.post(reverse("transfers:scheduled_cancel_start", args=[transfer.pk]) + "?from=//evil.example")
    assert response.url == scheduled_url


def test_another_customers_scheduled_transfer_is_404(signed_in):
    client, customer, debit = signed_in
    response = client.post(reverse("transfers:scheduled_cancel_start", args=[999_999]))
    assert response.status_code == 404
    assert Account.objects.filter(pk=debit.pk).exists()


def _shown_stepup(page: str) -> str:
    """The operation a confirm page shows, as its form posts it back (SEC-14)."""
    shown = re.search(r'name="stepup" value="([^"]+)"', page)
    assert shown, "the confirm page does not name the operation it shows"
    return shown[1]


def test_a_cancel_page_left_open_in_another_tab_cancels_nothing(signed_in):
    """SEC-14, XFER-6: tab A shows 取消 of transfer X; tab B (same session) starts 取消 of
    Y. Submitting tab A must not cancel Y, which tab A never showed; the page then shows
    Y with a message, and Y is cancelled only when confirmed from that page."""
    client, customer, debit = signed_in
    made = []
    for day, amount in (("2026-12-08", "10000"), ("2026-12-09", "20000")):
        _to_details(client, debit)
        response = _details(client, amount=amount, transfer_date=day)
        confirmation = re.search(r'name="confirmation" value="([^"]+)"',
                                 client.get(response.url).content.decode())[1]
        client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
        made.append(Transfer.objects.filter(customer=customer).latest("pk"))
    x, y = made
    client.post(reverse("transfers:scheduled_cancel_start", args=[x.pk]))
    tab_a = client.get(reverse("transfers:scheduled_cancel")).content.decode()
    assert "10,000円" in tab_a
    client.post(reverse("transfers:scheduled_cancel_start", args=[y.pk]))  # tab B
    response = client.post(reverse("transfers:scheduled_cancel"),
                           {"stepup": _shown_stepup(tab_a), **_card(customer)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "別の画面で新しいお手続きが始まった" in page and "20,000円" in page
    assert set(Transfer.objects.values_list("status", flat=True)) == {Transfer.Status.SCHEDULED}
    assert not AuditEvent.objects.filter(action="transfer_cancel").exists()
    response = client.post(reverse("transfers:scheduled_cancel"), {"stepup": _shown_stepup(page), **_card(customer)})
    assert response.url == reverse("transfers:scheduled")
    x.refresh_from_db(), y.refresh_from_db()
    assert (x.status, y.status) == (Transfer.Status.SCHEDULED, Transfer.Status.CANCELLED)


def test_a_reservation_to_our_account_closed_before_the_confirm_is_refused_there(signed_in):
    """XFER-5, XFER-3: the payee's account at our bank is closed between 口座名義確認 and the
    確認 of a 予約振込. The reservation was accepted (nothing is debited until its date, so
    the ledger never saw the closed account) and failed only on the day. The confirm now
    refuses it with the reason, and nothing is booked, audited as done or mailed."""
    from notifications.models import OutboxMessage
    from tests import factories
    from transfers.services import PAYEE_ACCOUNT_CLOSED

    client, customer, debit = signed_in
    payee_account = factories.account(balance=0)
    client.post(reverse("transfers:start"), {"debit_account": debit.pk, "mode": "new"})
    response = client.post(reverse("transfers:account", args=["1633", payee_account.branch.code]),
                           {"account_type": payee_account.type, "account_number": payee_account.number})
    assert response.url == reverse("transfers:details")
    assert _details(client, transfer_date="2026-12-08").url == reverse("transfers:confirm")
    page = client.get(reverse("transfers:confirm")).content.decode()
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
    Account.objects.filter(pk=payee_account.pk).update(status=Account.Status.CLOSED)
    response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    assert response.status_code == 200
    assert PAYEE_ACCOUNT_CLOSED in response.content.decode()
    assert not Transfer.objects.exists()
    assert not AuditEvent.objects.filter(action="transfer_schedule", outcome="success").exists()
    # 取引履歴: 拒否 with the payee and the amount (walk33 F4), as at the input page
    assert AuditEvent.objects.filter(action="transfer", outcome="refused",
                                     summary__endswith=f"円 {PAYEE_ACCOUNT_CLOSED}").exists()
    assert not OutboxMessage.objects.filter(customer=customer, event="transfer_scheduled").exists()


def test_a_cancel_confirm_posted_again_after_it_went_through_says_it_was_cancelled(signed_in):
    """XFER-5, SEC-14: the 取消 confirm page in a second tab (or its POST replayed) after
    the first submit cancelled the reservation landed on the list with 「既に完了したか別の
    画面で中止された」; the page posts the step-up it showed, and a used one of the
    customer's 取消 is told 「取り消しました」 like the first. Nothing is written twice."""
    client, customer, debit = signed_in
    transfer = _schedule_one(client, customer, debit)
    client.post(reverse("transfers:scheduled_cancel_start", args=[transfer.pk]) + "?from=settings")
    page = client.get(reverse("transfers:scheduled_cancel") + "?from=settings").content.decode()
    answer = {"stepup": _shown_stepup(page), **_card(customer)}
    url = reverse("transfers:scheduled_cancel") + "?from=settings"
    assert client.post(url, answer).url == reverse("transfers:scheduled") + "?from=settings"
    replay = client.post(url, answer, follow=True)
    assert replay.redirect_chain == [(reverse("transfers:scheduled") + "?from=settings", 302)]
    page = replay.content.decode()
    assert "お振込のご予約を取り消しました。" in page and "既に完了した" not in page
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.CANCELLED
    assert AuditEvent.objects.filter(action="transfer_cancel", outcome="success").count() == 1
    assert not AuditEvent.objects.filter(action="transfer_cancel").exclude(outcome="success").exists()


def test_the_own_account_is_shown_as_on_every_page_and_the_payee_in_full(signed_in):
    """UI-1 (walk24): the customer's own account is written 「支店 科目 ***下4桁」
    (``account_label``) on every page — 残高照会, 入出金明細 and Pay-easy did, while the 振込
    pages showed the 引落口座's whole number. The payee's number, which the customer types
    and checks, stays whole. docs/transfers.md has the rule."""
    from accounts.templatetags.accounts_format import account_label

    client, customer, debit = signed_in
    own = account_label(debit)
    pages = {"start": client.get(reverse("transfers:start")).content.decode()}
    _to_details(client, debit)
    pages["details"] = client.get(reverse("transfers:details")).content.decode()
    confirm = client.get(_details(client, transfer_date="2026-12-08").url).content.decode()
    pages["confirm"] = confirm
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', confirm)[1]
    done = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    pages["done"] = client.get(done.url).content.decode()
    pages["scheduled"] = client.get(reverse("transfers:scheduled")).content.decode()
    transfer = Transfer.objects.get(customer=customer)
    client.post(reverse("transfers:scheduled_cancel_start", args=[transfer.pk]))
    pages["cancel"] = client.get(reverse("transfers:scheduled_cancel")).content.decode()
    for name, page in pages.items():
        assert own in page and debit.number not in page, name
        if name != "start":
            assert "0012345" in page, name  # the payee's account number, whole


def test_cancel_refused_after_the_right_answer_goes_back_to_the_list(signed_in):
    """XFER-6, SEC-14 (walk25 F11): the branch cancelled the 予約 while the customer was on
    振込予約取消（確認）. The customer's right answer then meets 「予約中ではない」: that can
    never succeed, so the customer is back on the list with the message (as after a
    cancel) — not on the confirm page with a button and a closed challenge's images."""
    client, customer, debit = signed_in
    with time_machine.travel(at(MONDAY), tick=True):
        _to_details(client, debit)
        response = _details(client, transfer_date="2026-12-08")
        page = client.get(response.url).content.decode()
        confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
        client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
        transfer = Transfer.objects.get(customer=customer)
        client.post(reverse("transfers:scheduled_cancel_start", args=[transfer.pk]))
        assert "予約を取り消す" in client.get(reverse("transfers:scheduled_cancel")).content.decode()
        scheduled.scheduled_transfer_staff_cancel(transfer_id=transfer.pk, reason="お申し出", actor="staff01")
        response = client.post(reverse("transfers:scheduled_cancel"), _card(customer), follow=True)
        assert response.redirect_chain == [(reverse("transfers:scheduled"), 302)]
        # walk29 F5: said as cancelled by the branch, not 「予約中ではないため」
        assert scheduled.CANCEL_ALREADY_BY_BANK in response.content.decode()
        assert scheduled.CANCEL_NOT_SCHEDULED not in response.content.decode()
        assert "cosei_pending_transfer_cancel" not in client.session
        # walk29 F5's leftover: the customer's own 取引履歴 row is the cancel's refusal with
        # its 受付番号 (拒否), not a bare 「失敗」 that names no 予約
        row = AuditEvent.objects.get(action="transfer_cancel", customer=customer)
        assert row.outcome == "refused"
        assert row.summary == f"{reference_text(transfer.pk)} {scheduled.CANCEL_ALREADY_BY_BANK}"[:200]
        assert reference_text(transfer.pk) in client.get(reverse("history")).content.decode()


# --- the input page shown before 0:00, confirmed after it (review33 F6) ----------------------

TUESDAY = MONDAY + dt.timedelta(days=1)


@pytest.mark.parametrize("after_midnight", ["confirm-post", "confirm-page"])
def test_a_transfer_confirmed_after_midnight_goes_back_to_choose_the_date(client, after_midnight):
    """XFER-5, XFER-9, SEC-14 (review33 F6): the 振込日 is shown with today's date; the page
    opened at 23:58 and the confirm answered (or only shown) after 0:00 has a day that is
    past. It was 「日付が変わったため…最初から操作をやり直してください」 on the confirm page
    with the button that can only fail again. Now: nothing posted, no 500, 取引履歴 拒否 with
    the payee and the amount, and the input page again with what was typed — the date as
    given (not silently today's), asked for again at the field; today's date then goes through."""
    from accounts.models import Journal
    from transfers.forms import DATE_CHOOSE_AGAIN
    from transfers.services import DATE_PASSED

    passed = DATE_PASSED.format(day="2026年12月7日")
    with time_machine.travel(at(MONDAY, 23, 58), tick=True) as traveller:
        customer, debit = payer()
        assert client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"}).status_code == 302
        _to_details(client, debit)
        assert 'value="2026-12-07"' in client.get(reverse("transfers:details")).content.decode()  # today's
        response = _details(client, transfer_date="2026-12-07")  # sent as shown
        assert response.url == reverse("transfers:confirm")
        page = client.get(response.url).content.decode()
        assert "振込を実行する" in page
        confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
        answer = _card(customer)
        traveller.move_to(at(TUESDAY, 0, 1))
        if after_midnight == "confirm-post":
            response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **answer})
            # 取引履歴: 拒否 with the payee and the amount, as any refusal of the confirm
            refusal = AuditEvent.objects.get(customer=customer, action="transfer")
            assert (refusal.outcome, refusal.summary) == ("refused", f"池田泉州銀行 貝塚支店 10,000円 {passed}")
        else:
            response = client.get(reverse("transfers:confirm"))
        assert response.status_code == 302 and response.url == reverse("transfers:details")
        assert not Transfer.objects.exists() and not Journal.objects.filter(kind=Journal.Kind.TRANSFER).exists()
        page = client.get(response.url).content.decode()
        assert passed in page  # what happened, above the form
        assert DATE_CHOOSE_AGAIN.format(day="2026年12月7日") in page  # at the field
        assert 'value="2026-12-07"' in page and 'value="10000"' in page and 'value="2026-12-08"' not in page
        # nothing to confirm any more: the old confirm page's POST does nothing
        assert client.get(reverse("transfers:confirm")).url == reverse("transfers:start")
        # the date typed again: today's transfer goes through, once
        response = _details(client, transfer_date="2026-12-08")
        assert response.url == reverse("transfers:confirm")
        page = client.get(response.url).content.decode()
        confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
        response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    transfer = Transfer.objects.get(customer=customer)
    assert response.url == reverse("transfers:done", args=[transfer.pk])
    assert (transfer.transfer_date, transfer.amount, transfer.status) == (TUESDAY, 10_000, Transfer.Status.EXECUTED)


def test_the_input_page_sent_after_midnight_with_yesterdays_date_is_refused_at_the_field(client):
    """review33 F6: the input page opened at 23:58 and sent after 0:00 with the date it
    showed: refused at the date (a past day), nothing pending, the date as sent."""
    with time_machine.travel(at(MONDAY, 23, 58), tick=True) as traveller:
        customer, debit = payer()
        assert client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"}).status_code == 302
        _to_details(client, debit)
        assert 'value="2026-12-07"' in client.get(reverse("transfers:details")).content.decode()
        traveller.move_to(at(TUESDAY, 0, 1))
        response = _details(client, transfer_date="2026-12-07")
        assert response.status_code == 200
        page = response.content.decode()
        assert scheduled.DATE_PAST in page and 'value="2026-12-07"' in page
        assert client.get(reverse("transfers:confirm")).url == reverse("transfers:start")  # nothing pending
    assert not Transfer.objects.exists()


# --- a 予約 confirmed before 0:00 for the day that then begins (sched35) ----------------------


def _booking_confirm_page(client, transfer_date: str, **posted) -> tuple:
    """Signed in at Monday 23:58 with the confirm page of a transfer dated ``transfer_date``
    shown; returns the customer, the page and the step-up's id (the clock runs on: the
    caller's ``time_machine`` traveller moves it)."""
    customer, debit = payer()
    assert client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"}).status_code == 302
    _to_details(client, debit)
    response = _details(client, transfer_date=transfer_date, **posted)
    assert response.url == reverse("transfers:confirm")
    page = client.get(response.url).content.decode()
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
    return customer, page, confirmation


@pytest.mark.parametrize("after_midnight", ["confirm-post", "confirm-page"])
def test_a_booking_for_tomorrow_confirmed_after_midnight_is_refused_not_executed(client, after_midnight):
    """XFER-5, XFER-1, SEC-14 (sched35): the confirm page shown at 23:58 said 予約 for
    Tuesday; answered (or only shown again) at 0:01 on Tuesday it executed a same-day
    transfer at once — the view chose by the clock at the submit. Now what the page showed
    decides, and a 予約 for a day begun is refused: nothing posted, nothing booked, the right
    card answer neither consumed nor counted, 取引履歴 拒否 with the payee and the amount, and
    the input page again with what was typed, the date asked for again at the field."""
    from accounts.models import Journal
    from security.models import Credential, StepUp
    from transfers.forms import DATE_BOOKING_TODAY
    from transfers.services import SCHEDULE_DATE_PASSED

    refused = SCHEDULE_DATE_PASSED.format(day="2026年12月8日")
    with time_machine.travel(at(MONDAY, 23, 58), tick=True) as traveller:
        # a field of the same name posted with the input changes nothing: the server decides
        customer, page, confirmation = _booking_confirm_page(client, "2026-12-08", scheduled="")
        assert "以下の内容で振込を予約します" in page and "振込を予約する" in page
        assert client.session["cosei_pending_transfer"]["content"]["scheduled"] is True
        answer = _card(customer)
        traveller.move_to(at(TUESDAY, 0, 1))
        if after_midnight == "confirm-post":
            # nor with the confirmation: it is held on the server, bound by the step-up
            response = client.post(reverse("transfers:confirm"),
                                   {"confirmation": confirmation, "scheduled": "", **answer})
            row = AuditEvent.objects.get(customer=customer, action="transfer")
            assert (row.outcome, row.summary) == ("refused", f"池田泉州銀行 貝塚支店 10,000円 {refused}")
        else:
            response = client.get(reverse("transfers:confirm"))
            assert not AuditEvent.objects.filter(customer=customer, action="transfer").exists()
        assert response.status_code == 302 and response.url == reverse("transfers:details")
        assert not Transfer.objects.exists() and not Journal.objects.filter(kind=Journal.Kind.TRANSFER).exists()
        stepup = StepUp.objects.get(pk=confirmation)
        assert stepup.used_at is None  # not consumed
        assert Credential.objects.get(customer=customer, kind="image_card").failures == 0  # not counted
        page = client.get(response.url).content.decode()
        assert refused in page  # what happened, above the form
        assert DATE_BOOKING_TODAY.format(day="2026年12月8日") in page  # at the field
        assert 'value="2026-12-08"' in page and 'value="10000"' in page and "ﾔﾏﾀﾞ ﾀﾛｳ" in page
        assert client.get(reverse("transfers:confirm")).url == reverse("transfers:start")  # nothing pending
        # sent again with today's date, it is a same-day transfer, said so, and executes once
        response = _details(client, transfer_date="2026-12-08")
        page = client.get(response.url).content.decode()
        assert "振込を実行する" in page and "振込を予約する" not in page
        confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
        response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    transfer = Transfer.objects.get(customer=customer)
    assert response.url == reverse("transfers:done", args=[transfer.pk])
    assert (transfer.transfer_date, transfer.status) == (TUESDAY, Transfer.Status.EXECUTED)


def test_a_booking_for_a_later_day_confirmed_after_midnight_is_still_booked(client):
    """XFER-5 (sched35): the 予約 for Wednesday shown at 23:58 on Monday and confirmed at
    0:01 on Tuesday is booked, as shown — nothing debited."""
    with time_machine.travel(at(MONDAY, 23, 58), tick=True) as traveller:
        customer, page, confirmation = _booking_confirm_page(client, "2026-12-09")
        assert "振込を予約する" in page
        answer = _card(customer)
        traveller.move_to(at(TUESDAY, 0, 1))
        response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **answer})
    transfer = Transfer.objects.get(customer=customer)
    assert response.url == reverse("transfers:done", args=[transfer.pk])
    assert (transfer.transfer_date, transfer.status, transfer.journal_id) == (
        dt.date(2026, 12, 9), Transfer.Status.SCHEDULED, None)
    assert Account.objects.get(pk=transfer.debit_account_id).balance == 1_000_000


def test_a_same_day_transfer_is_executed_and_the_flag_is_bound_by_the_step_up(client):
    """XFER-5, SEC-14 (sched35): a same-day transfer shown and confirmed on the day executes
    at once; the 即時/予約 flag the page showed cannot be turned by the session either — a
    pending content changed after the confirm page (the flag flipped) is refused by the
    step-up (its content hash), nothing done."""
    from security.stepup import STEPUP_CONTENT_CHANGED

    with time_machine.travel(at(MONDAY, 10), tick=True):
        customer, page, confirmation = _booking_confirm_page(client, "2026-12-08")
        session = client.session
        session["cosei_pending_transfer"]["content"]["scheduled"] = False  # a 予約 made a 即時
        session.save()
        response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
        assert STEPUP_CONTENT_CHANGED in response.content.decode()
        assert not Transfer.objects.exists()
        response = _details(client, transfer_date="2026-12-07")  # today's: a new content
        page = client.get(response.url).content.decode()
        assert "振込を実行する" in page
        confirmation = re.search(r'name="confirmation" value="([^"]+)"', page)[1]
        response = client.post(reverse("transfers:confirm"), {"confirmation": confirmation, **_card(customer)})
    transfer = Transfer.objects.get(customer=customer)
    assert response.url == reverse("transfers:done", args=[transfer.pk])
    assert (transfer.transfer_date, transfer.status) == (MONDAY, Transfer.Status.EXECUTED)
    assert transfer.journal_id is not None
