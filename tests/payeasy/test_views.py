"""PAY-1 pages through the Django client: the whole flow with the image-card step-up,
full-width digits and hyphens, one message per wrong field, the back button keeping the
input, the duplicate acknowledgement, no print button on a phone, and Pay-easy hours."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Account, Journal
from payeasy.models import Payment
from payeasy.views import PENDING
from security import cards
from security.models import AuditEvent, StepUp
from tests.payeasy import support
from tests.security.secondfactor import card_post, right_answers, wrong_answers

pytestmark = pytest.mark.django_db

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/15.0 Mobile/15E148 Safari/604.1")


@pytest.fixture(autouse=True)
def demo_bills():
    support.seeded()


def to_confirm(client, account, biller, numbers: dict, amount=None):
    assert client.post("/payeasy/", {"account": account.pk, "biller": biller}).url == "/payeasy/numbers/"
    response = client.post("/payeasy/numbers/", numbers)
    assert response.status_code == 302, response.content.decode()
    assert response.url == "/payeasy/bill/"
    response = client.post("/payeasy/bill/", {} if amount is None else {"amount": amount})
    assert response.url == "/payeasy/confirm/"
    return response


def pending_id(customer) -> str:
    """The step-up the confirm page shows (its hidden ``pending`` field)."""
    return str(StepUp.objects.filter(customer=customer, kind="payeasy").latest("created_at").pk)


def answer_card(client, customer, extra=None):
    challenge = cards.image_card_challenge_current(customer=customer)
    return client.post("/payeasy/confirm/", {**card_post(challenge, right_answers(challenge)),
                                             "pending": pending_id(customer), **(extra or {})})


def test_pay_a_tax_with_full_width_digits_and_the_image_card():
    customer, account = support.payer()
    client = support.logged_in(customer)
    assert "税金・各種料金の払込み" in client.get("/").content.decode()  # in the menu
    page = client.get("/payeasy/").content.decode()
    assert "収納機関番号" in page and "取り消すことができません" in page
    to_confirm(client, account, "００１００", {
        "number": "１２３４－５６７８－９０１２－３４５６", "confirmation": "１２３-４５６", "category": "１０１"})
    page = client.get("/payeasy/confirm/").content.decode()
    assert "48,000円" in page and "国税（大阪北税務署）" in page and "取り消すことができません" in page

    challenge = cards.image_card_challenge_current(customer=customer)
    page = client.post("/payeasy/confirm/", {**card_post(challenge, wrong_answers(challenge)),
                                             "pending": pending_id(customer)}).content.decode()
    assert not Payment.objects.exists()
    response = answer_card(client, customer)
    assert response.url == "/payeasy/done/"
    payment = Payment.objects.get()
    page = client.get("/payeasy/done/").content.decode()
    assert payment.reference in page and 'data-action="print"' in page
    assert StepUp.objects.get(customer=customer, kind="payeasy").used_at is not None
    account.refresh_from_db()
    assert account.balance == 200_000 - 48_000

    # submitted again (double click, browser back + resubmit): nothing more happens, and
    # the customer sees the receipt of the payment made, not the start page
    again = answer_card(client, customer)
    assert again.url == "/payeasy/done/"
    assert payment.reference in client.get("/payeasy/done/").content.decode()
    assert Payment.objects.count() == 1
    assert Journal.objects.filter(kind=Journal.Kind.PAYEASY).count() == 1
    history = client.get("/history/").content.decode()
    assert "税金・各種料金の払込み" in history


@pytest.mark.parametrize("status", [Account.Status.CLOSED, Account.Status.FROZEN])
def test_only_open_accounts_are_offered_and_accepted(status):
    """PAY-1, ACCT-5: お支払口座 listed the customer's closed and frozen accounts too; one
    posted got as far as the confirm. Only open accounts are offered; a POST naming
    another is a form error on the first page — no wizard, no step-up, no payment."""
    from payeasy.forms import ACCOUNT_INVALID
    from tests import factories
    from tests.payeasy.test_link import link_url, signed_link

    customer, account = support.payer()
    other = factories.account(owner=customer, balance=0 if status == Account.Status.CLOSED else 50_000)
    Account.objects.filter(pk=other.pk).update(status=status)
    client = support.logged_in(customer)
    page = client.get("/payeasy/").content.decode()
    assert f'value="{account.pk}"' in page and f'value="{other.pk}"' not in page
    # walk25 F16: a frozen one is named as not usable now (it vanished without a word); a closed one is not
    stopped = "は、現在お取引を停止しているためご利用いただけません。詳しくはお取引店にお問い合わせください。"
    assert (stopped in page) == (status == Account.Status.FROZEN)
    assert (f"***{other.number[-4:]}は" in page) == (status == Account.Status.FROZEN)
    response = client.post("/payeasy/", {"account": other.pk, "biller": "00100"})
    assert response.status_code == 200 and ACCOUNT_INVALID in response.content.decode()
    assert "cosei_payeasy" not in client.session
    assert client.get(link_url(signed_link())).url == "/payeasy/link/bill/"  # 情報リンク: the same choice
    page = client.get("/payeasy/link/bill/").content.decode()
    assert f'value="{other.pk}"' not in page and (stopped in page) == (status == Account.Status.FROZEN)
    response = client.post("/payeasy/link/bill/", {"account": other.pk})
    assert response.status_code == 200 and ACCOUNT_INVALID in response.content.decode()
    assert not StepUp.objects.filter(customer=customer, kind="payeasy").exists()
    assert not Payment.objects.exists() and not Journal.objects.filter(kind=Journal.Kind.PAYEASY).exists()


def test_each_wrong_field_has_its_own_message():
    customer, account = support.payer()
    client = support.logged_in(customer)
    page = client.post("/payeasy/", {"account": "", "biller": "12"}).content.decode()
    assert "お支払口座を選択してください。" in page and "収納機関番号は5桁の数字で入力してください。" in page
    page = client.post("/payeasy/", {"account": account.pk, "biller": "99999"}).content.decode()
    assert "お取り扱いしていません" in page
    page = client.post("/payeasy/", {"account": account.pk, "biller": "1" * 10_000}).content.decode()
    assert "収納機関番号は5桁の数字で入力してください。" in page
    client.post("/payeasy/", {"account": account.pk, "biller": "00100"})
    response = client.post("/payeasy/numbers/", {"number": "12ab", "confirmation": "", "category": "1\x002"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "納付番号は20桁以内の数字で入力してください。" in page
    assert "確認番号を入力してください。" in page
    assert "納付区分は3桁以内の数字で入力してください。" in page  # a NUL byte is refused like any non-digit
    assert "9" * 40 not in page
    page = client.post("/payeasy/numbers/", {"number": "9" * 40, "confirmation": "1", "category": "1"}).content.decode()
    assert "納付番号は20桁以内の数字で入力してください。" in page


def test_open_amount_page_and_the_back_button_keeps_the_input():
    customer, account = support.payer(balance=500_000)
    client = support.logged_in(customer)
    client.post("/payeasy/", {"account": account.pk, "biller": "00100"})
    client.post("/payeasy/numbers/", {"number": "1234567890123457", "confirmation": "234567", "category": "102"})
    page = client.post("/payeasy/bill/", {"amount": "2000000"}).content.decode()
    assert "払込金額は1円以上1,000,000円以下で入力してください。" in page
    page = client.post("/payeasy/bill/", {"amount": "abc"}).content.decode()
    assert "払込金額は1円以上の金額を数字で入力してください。" in page
    assert client.post("/payeasy/bill/", {"amount": "１２，３４５"}).url == "/payeasy/confirm/"
    # back: each earlier page shows what was typed
    assert 'value="12345"' in client.get("/payeasy/bill/").content.decode()
    numbers = client.get("/payeasy/numbers/").content.decode()
    assert 'value="1234567890123457"' in numbers and 'value="234567"' in numbers
    assert 'value="00100"' in client.get("/payeasy/").content.decode()
    assert "12,345円" in client.get("/payeasy/confirm/").content.decode()
    assert answer_card(client, customer).url == "/payeasy/done/"
    assert Payment.objects.get().amount == 12_345


RANGE = "払込金額は1円以上1,000,000円以下で入力してください。"
NOT_DIGITS = "払込金額は1円以上の金額を数字で入力してください。"


@pytest.mark.parametrize(("typed", "told"), [
    *[(typed, NOT_DIGITS) for typed in ["-1", "−5", "－１，０００", "ー500", "1-000", "1　1000", "1 000",
                                        "12\t345", "⑤000", "¹⁰000", "0", "０００", "1\x002",
                                        "1,00,0", "1,00,00", "10000,000"]],  # walk25 F15
    *[(typed, RANGE) for typed in ["99999999999999999999", "１" * 13, "9" * 41, "1,000,001円"]],
])
def test_a_wrong_open_amount_is_refused_with_its_reason(typed, told):
    """PAY-1, XFER-9: the minus sign of an open amount was dropped with the separators of
    the numbers (「-1」 became a confirm page for 1円); a dash in an amount is refused, and
    so is a blank between digits (「1　1000」 was 11,000円). PAY-2: 20 nines were told
    「…1円以上の金額を数字で…」 — wrong for digits ≥ 1; a too-large amount is told the
    bill's range, as the transfer form tells it (cosei_ib.textinput.parse_yen)."""
    customer, account = support.payer()
    client = support.logged_in(customer)
    client.post("/payeasy/", {"account": account.pk, "biller": "00100"})
    client.post("/payeasy/numbers/", {"number": "1234567890123457", "confirmation": "234567", "category": "102"})
    response = client.post("/payeasy/bill/", {"amount": typed})
    assert response.status_code == 200
    page = response.content.decode()
    other = NOT_DIGITS if told == RANGE else RANGE
    assert told in page and other not in page
    assert not StepUp.objects.filter(customer=customer, kind="payeasy").exists()


def test_duplicate_must_be_acknowledged_on_the_confirm_page():
    customer, account = support.payer()
    client = support.logged_in(customer)
    power = {"number": "0012345678"}
    to_confirm(client, account, "58001", power)
    assert answer_card(client, customer).url == "/payeasy/done/"
    first = Payment.objects.get()
    to_confirm(client, account, "58001", power)  # the next month's bill of the same number
    page = client.get("/payeasy/confirm/").content.decode()
    assert "二重払いにご注意ください" in page and "8,432円" in page and first.reference in page
    paid_on = timezone.localtime(first.paid_at)
    assert f"{paid_on.year}年{paid_on.month}月{paid_on.day}日" in page
    page = answer_card(client, customer).content.decode()
    assert "チェックを入れてください" in page
    assert Payment.objects.count() == 1
    assert answer_card(client, customer, {"acknowledge": "1"}).url == "/payeasy/done/"
    assert Payment.objects.count() == 2


def test_a_confirm_page_left_open_in_another_tab_pays_nothing():
    """Tab A shows bill X; tab B (same session) starts bill Y. Confirming in tab A would
    pay Y, which tab A never showed: refused, nothing paid; tab B still works."""
    customer, account = support.payer()
    client = support.logged_in(customer)
    to_confirm(client, account, "58002", {"number": "09012345678"})
    tab_a = pending_id(customer)
    to_confirm(client, account, "27100", {"number": "27100000000001", "confirmation": "111111"})
    challenge = cards.image_card_challenge_current(customer=customer)
    page = client.post("/payeasy/confirm/", {**card_post(challenge, right_answers(challenge)),
                                             "pending": tab_a}).content.decode()
    assert "別の画面で新しい払込み" in page
    assert not Payment.objects.exists()
    assert answer_card(client, customer).url == "/payeasy/done/"
    assert Payment.objects.get().amount == 23_500


def test_a_confirm_posted_when_nothing_is_pending_says_why():
    """SEC-14, PAY-1: a confirm page whose payment was given up (or expired) elsewhere,
    posted, landed on the start page without a word; it is told, and nothing is paid."""
    customer, account = support.payer()
    client = support.logged_in(customer)
    to_confirm(client, account, "58002", {"number": "09012345678"})
    tab_a = pending_id(customer)
    session = client.session
    session.pop(PENDING)  # what the other tab's 中止 or the expiry left
    session.save()
    challenge = cards.image_card_challenge_current(customer=customer)
    response = client.post("/payeasy/confirm/", {**card_post(challenge, right_answers(challenge)),
                                                 "pending": tab_a}, follow=True)
    assert response.redirect_chain[-1][0].startswith("/payeasy/")
    assert "既に完了したか別の画面で中止されたため" in response.content.decode()
    assert not Payment.objects.exists()


def test_refusal_at_payment_is_shown_and_audited():
    customer, account = support.payer(balance=1_000)
    client = support.logged_in(customer)
    to_confirm(client, account, "58002", {"number": "090-1234-5678"})
    page = answer_card(client, customer).content.decode()
    assert "お支払可能額が不足" in page and "1,000円" in page
    # 取引履歴 (walk33 F4): 拒否, naming the biller and the amount — it was a bare 失敗
    refusal = AuditEvent.objects.get(customer=customer, action="payeasy")
    assert refusal.outcome == "refused"
    assert re.fullmatch(r"58002 \S.* [0-9,]+円 お支払可能額が不足.*", refusal.summary), refusal.summary
    assert not Payment.objects.exists()


def test_no_print_button_on_a_phone():
    customer, account = support.payer()
    client = support.logged_in(customer)
    client.defaults["HTTP_USER_AGENT"] = IPHONE
    to_confirm(client, account, "58002", {"number": "09012345678"})
    assert answer_card(client, customer).url == "/payeasy/done/"
    page = client.get("/payeasy/done/").content.decode()
    assert "受付番号" in page and 'data-action="print"' not in page


@pytest.mark.parametrize("moment, open_", [
    (dt.datetime(2026, 3, 5, 21, 44), True),   # Thursday
    (dt.datetime(2026, 3, 5, 21, 45), False),
    (dt.datetime(2026, 3, 5, 6, 59), False),
    (dt.datetime(2026, 3, 7, 8, 0), True),     # Saturday
    (dt.datetime(2026, 3, 7, 20, 45), False),
    (dt.datetime(2026, 3, 20, 7, 30), False),  # 春分の日 (holiday hours start at 8:00)
])
def test_payeasy_hours(settings, moment, open_):
    customer, _ = support.payer()
    client = support.logged_in(customer)
    settings.SERVICE_HOURS_ENFORCED = True
    with time_machine.travel(timezone.make_aware(moment), tick=False):
        for url in ("/payeasy/", "/payeasy/confirm/", "/payeasy/link/"):
            response = client.get(url)
            if open_:
                assert response.status_code != 503
            else:
                assert response.status_code == 503
                page = response.content.decode()
                assert "平日 7:00～21:45、土曜・日曜・祝日 8:00～20:45" in page


def test_the_losing_request_of_a_double_click_shows_the_receipt_not_an_error():
    """PAY-1: two submits of one confirm page at once — both loaded the session with the
    pending payment; the first pays, the second finds the step-up used. It showed
    「このお取引は既に処理されています」 on the confirm page; it shows the first one's receipt."""
    customer, account = support.payer()
    client = support.logged_in(customer)
    to_confirm(client, account, "00100", {"number": "1234567890123456", "confirmation": "123456", "category": "101"})
    pending = client.session["cosei_pending_payeasy"]
    assert answer_card(client, customer).url == "/payeasy/done/"
    session = client.session
    session["cosei_pending_payeasy"] = pending  # as the loser's request still saw it
    session.save()
    loser = answer_card(client, customer)
    assert loser.url == "/payeasy/done/"
    payment = Payment.objects.get()
    assert payment.reference in client.get("/payeasy/done/").content.decode()
    assert "cosei_pending_payeasy" not in client.session
    assert Journal.objects.filter(kind=Journal.Kind.PAYEASY).count() == 1


def test_card_answers_posted_to_the_confirm_page_are_hidden_from_error_reports():
    """SEC-13: the confirm page's card answers and OTP never reach an error report. The
    decorator that says so sat above a helper added before the view (the receipt of a
    double submit), so the view's POST was reported with the answers in clear."""
    from django.views.debug import SafeExceptionReporterFilter

    customer, account = support.payer()
    client = support.logged_in(customer)
    to_confirm(client, account, "58002", {"number": "09012345678"})
    challenge = cards.image_card_challenge_current(customer=customer)
    response = client.post("/payeasy/confirm/", {**card_post(challenge, wrong_answers(challenge)),
                                                 "pending": pending_id(customer)})
    assert response.status_code == 200 and not Payment.objects.exists()
    reported = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert reported["card_1"].startswith("*") and reported["card_2"].startswith("*")


def test_the_paying_account_is_shown_as_on_every_page():
    """PAY-1, UI-1 (walk24): the customer's own account (お支払口座) is written 「支店 科目
    ***下4桁」 (``account_label``) on the input, bill, confirm and done pages, as on the
    振込 pages and 残高照会 — never its whole number. docs/transfers.md has the rule."""
    from accounts.templatetags.accounts_format import account_label

    customer, account = support.payer()
    client = support.logged_in(customer)
    pages = {"start": client.get("/payeasy/").content.decode()}
    to_confirm(client, account, "00100", {"number": "1234567890123456", "confirmation": "123456",
                                          "category": "101"})
    pages["bill"] = client.get("/payeasy/bill/").content.decode()
    pages["confirm"] = client.get("/payeasy/confirm/").content.decode()
    assert answer_card(client, customer).url == "/payeasy/done/"
    pages["done"] = client.get("/payeasy/done/").content.decode()
    for name, page in pages.items():
        assert account_label(account) in page and account.number not in page, name
