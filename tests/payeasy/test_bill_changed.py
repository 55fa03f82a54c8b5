"""PAY-1, PAY-4, SEC-14 (probe34 F1): the bill or the biller changed by staff between the
confirm page (GET) and its submit (POST, right card answers). It was 「払込金額が請求金額と
一致しません。」 at every retry, each one 拒否 in 取引履歴, and 「戻る」 showed the old amount
kept in the session. Now: nothing paid, the pending payment dropped, the answer not
counted as wrong, the refusal audited as before, and the customer sent to the bill as it
is now (or the numbers, or the biller) with a message that says the 請求内容 changed."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Journal
from cosei_ib.bankcalendar import local_now
from payeasy import services
from payeasy.models import Bill, EntryFailureCounter, Payment
from payeasy.views import LINK, PENDING, WIZARD
from security.models import AuditEvent, Credential, StepUp
from tests.payeasy import support
from tests.payeasy.test_link import link_url, signed_link
from tests.payeasy.test_views import answer_card, pending_id, to_confirm

pytestmark = pytest.mark.django_db

MOBILE_NUMBERS = {"number": "09012345678"}  # 58002, 6,980円 fixed
TAX_OPEN_NUMBERS = {"number": "1234567890123457", "confirmation": "234567", "category": "102"}


@pytest.fixture(autouse=True)
def demo_bills():
    support.seeded()


def _bill(key) -> Bill:
    biller, number, _confirmation, category = key
    return Bill.objects.get(biller__number=biller, number=number, category=category)


def _at_confirm(key=support.MOBILE_BILL, numbers=MOBILE_NUMBERS, amount=None, balance=200_000):
    customer, account = support.payer(balance=balance)
    client = support.logged_in(customer)
    to_confirm(client, account, key[0], numbers, amount=amount)
    assert client.get("/payeasy/confirm/").status_code == 200  # the page the customer looks at
    return customer, account, client


def _refused_and_dropped(client, customer, *, goes_to: str, message: str) -> str:
    """Submitted with the right answers: sent to ``goes_to`` with ``message``; nothing paid,
    the pending payment gone, the right answer not counted, the refusal 拒否 in 取引履歴."""
    stepup_id = pending_id(customer)
    response = answer_card(client, customer)
    assert response.status_code == 302 and response.url == goes_to
    assert PENDING not in client.session
    page = client.get(goes_to).content.decode()
    assert message in page
    assert "払込金額が請求金額と一致しません" not in page and "収納機関番号をご確認ください" not in page
    assert not Payment.objects.exists() and not Journal.objects.filter(kind=Journal.Kind.PAYEASY).exists()
    stepup = StepUp.objects.get(pk=stepup_id)
    assert stepup.verified_at is not None and stepup.used_at is None  # the answer was right, nothing used
    assert Credential.objects.get(customer=customer, kind=Credential.Kind.IMAGE_CARD).failures == 0
    refusal = AuditEvent.objects.get(customer=customer, action="payeasy")
    assert refusal.outcome == "refused" and message in refusal.summary
    # the confirm page is no longer there to fail again
    assert client.get("/payeasy/confirm/").url == "/payeasy/"
    return page


def test_amount_changed_goes_back_to_the_bill_as_it_is_now_and_the_new_amount_is_paid():
    customer, account, client = _at_confirm()
    Bill.objects.filter(pk=_bill(support.MOBILE_BILL).pk).update(amount=69_800)  # staff, in admin

    page = _refused_and_dropped(client, customer, goes_to="/payeasy/bill/", message=services.BILL_CONTENT_CHANGED)
    assert "69,800円" in page and "6,980円" not in page
    assert AuditEvent.objects.get(customer=customer, action="payeasy").summary.startswith("58002 ")
    # 「戻る」 and the bill page again: the amount as it is now, never the session's old one
    again = client.get("/payeasy/bill/").content.decode()
    assert "69,800円" in again and "6,980円" not in again
    assert client.post("/payeasy/bill/", {}).url == "/payeasy/confirm/"
    assert "69,800円" in client.get("/payeasy/confirm/").content.decode()
    assert answer_card(client, customer).url == "/payeasy/done/"
    assert Payment.objects.get().amount == 69_800
    account.refresh_from_db()
    assert account.balance == 200_000 - 69_800


def test_due_date_passed_goes_back_to_the_numbers():
    customer, _account, client = _at_confirm()
    yesterday = local_now().date() - dt.timedelta(days=1)
    Bill.objects.filter(pk=_bill(support.MOBILE_BILL).pk).update(due_date=yesterday)
    told = services.BILL_EXPIRED_MEANWHILE.format(due=f"{yesterday.year}年{yesterday.month}月{yesterday.day}日")
    page = _refused_and_dropped(client, customer, goes_to="/payeasy/numbers/", message=told)
    assert 'value="09012345678"' in page  # what the customer typed is kept
    assert "bill" not in client.session[WIZARD]
    assert client.get("/payeasy/bill/").url == "/payeasy/"  # no old bill to show


def test_a_later_due_date_is_shown_before_paying():
    """Anything the confirm page showed — the due date too — is what is paid."""
    customer, _account, client = _at_confirm()
    later = _bill(support.MOBILE_BILL).due_date + dt.timedelta(days=30)
    Bill.objects.filter(pk=_bill(support.MOBILE_BILL).pk).update(due_date=later)
    page = _refused_and_dropped(client, customer, goes_to="/payeasy/bill/", message=services.BILL_CONTENT_CHANGED)
    assert f"{later.year}年{later.month}月{later.day}日" in page
    assert client.post("/payeasy/bill/", {}).url == "/payeasy/confirm/"
    assert answer_card(client, customer).url == "/payeasy/done/"
    assert Payment.objects.get().amount == 6_980


def test_bill_paid_elsewhere_goes_back_to_the_numbers():
    customer, _account, client = _at_confirm()
    Bill.objects.filter(pk=_bill(support.MOBILE_BILL).pk).update(status=Bill.Status.PAID_ELSEWHERE)
    _refused_and_dropped(client, customer, goes_to="/payeasy/numbers/", message=services.BILL_PAID_MEANWHILE)


def test_biller_switched_off_goes_back_to_the_first_page_without_blaming_the_number():
    customer, _account, client = _at_confirm()
    support.biller_changed_by_staff(support.MOBILE, is_active=False)
    page = _refused_and_dropped(client, customer, goes_to="/payeasy/", message=services.BILLER_STOPPED)
    assert services.BILLER_UNKNOWN not in page


def test_open_amount_bounds_changed_asks_for_the_amount_again():
    customer, _account, client = _at_confirm(support.TAX_OPEN, TAX_OPEN_NUMBERS, amount="500000", balance=1_000_000)
    Bill.objects.filter(pk=_bill(support.TAX_OPEN).pk).update(max_amount=300_000)
    page = _refused_and_dropped(client, customer, goes_to="/payeasy/bill/", message=services.BILL_CONTENT_CHANGED)
    assert "300,000円" in page and 'value="500000"' not in page
    assert services.AMOUNT_OUT_OF_RANGE.format(min=1, max=300_000) in client.post(
        "/payeasy/bill/", {"amount": "500000"}).content.decode()
    assert client.post("/payeasy/bill/", {"amount": "300000"}).url == "/payeasy/confirm/"
    assert answer_card(client, customer).url == "/payeasy/done/"
    assert Payment.objects.get().amount == 300_000


def test_a_wrong_answer_to_a_changed_bill_is_still_a_wrong_answer():
    """The card is checked first: a wrong answer counts as ever, and the confirm page stays."""
    from security import cards
    from tests.security.secondfactor import card_post, wrong_answers

    customer, _account, client = _at_confirm()
    Bill.objects.filter(pk=_bill(support.MOBILE_BILL).pk).update(amount=69_800)
    challenge = cards.image_card_challenge_current(customer=customer)
    response = client.post("/payeasy/confirm/", {**card_post(challenge, wrong_answers(challenge)),
                                                 "pending": pending_id(customer)})
    assert response.status_code == 200 and PENDING in client.session
    assert Credential.objects.get(customer=customer, kind=Credential.Kind.IMAGE_CARD).failures == 1
    assert not Payment.objects.exists()


def test_the_confirm_page_shows_the_bill_it_pays_not_another_tabs():
    """The bill table comes from the confirmation, not the wizard another tab may have
    moved on to another bill without starting a confirmation."""
    customer, account, client = _at_confirm()
    client.post("/payeasy/", {"account": account.pk, "biller": support.CITY})
    client.post("/payeasy/numbers/", {"number": "27100000000001", "confirmation": "111111"})
    page = client.get("/payeasy/confirm/").content.decode()
    assert "6,980円" in page and "23,500円" not in page


def test_link_bill_changed_but_its_amount_still_fits_goes_back_to_the_link_page():
    customer, account = support.payer()
    client = support.logged_in(customer)
    assert client.get(link_url(signed_link())).url == "/payeasy/link/bill/"
    assert client.post("/payeasy/link/bill/", {"account": account.pk}).url == "/payeasy/confirm/"
    bill = _bill(support.TAX_BILL)
    Bill.objects.filter(pk=bill.pk).update(description="申告所得税及復興特別所得税（訂正）")
    page = _refused_and_dropped(client, customer, goes_to="/payeasy/link/bill/",
                                message=services.BILL_CONTENT_CHANGED)
    assert "（訂正）" in page
    assert client.post("/payeasy/link/bill/", {"account": account.pk}).url == "/payeasy/confirm/"
    assert answer_card(client, customer).url == "/payeasy/done/"
    assert Payment.objects.get().via_link


def test_link_whose_signed_amount_no_longer_fits_is_given_up():
    customer, account = support.payer()
    client = support.logged_in(customer)
    assert client.get(link_url(signed_link())).url == "/payeasy/link/bill/"
    assert client.post("/payeasy/link/bill/", {"account": account.pk}).url == "/payeasy/confirm/"
    Bill.objects.filter(pk=_bill(support.TAX_BILL).pk).update(amount=50_000)
    _refused_and_dropped(client, customer, goes_to="/payeasy/", message=services.LINK_BILL_CHANGED)
    assert LINK not in client.session
    # a link made before the change, followed after it: not called tampered with
    response = client.get(link_url(signed_link()))
    assert response.url == "/payeasy/link/bill/"
    page = client.get("/payeasy/link/bill/").content.decode()
    assert services.LINK_BILL_CHANGED in page and services.LINK_INVALID not in page


@pytest.mark.parametrize("via_link", [False, True])
def test_a_bill_no_longer_found_sends_the_customer_to_the_numbers_or_the_billers_page(via_link):
    customer, account = support.payer()
    client = support.logged_in(customer)
    if via_link:
        assert client.get(link_url(signed_link())).url == "/payeasy/link/bill/"
        assert client.post("/payeasy/link/bill/", {"account": account.pk}).url == "/payeasy/confirm/"
    else:
        to_confirm(client, account, support.TAX, {"number": support.TAX_BILL[1], "confirmation": support.TAX_BILL[2],
                                                  "category": support.TAX_BILL[3]})
    Bill.objects.filter(pk=_bill(support.TAX_BILL).pk).update(number="1234567890123499")  # withdrawn by the biller
    if via_link:
        _refused_and_dropped(client, customer, goes_to="/payeasy/", message=services.LINK_BILL_CHANGED)
        assert LINK not in client.session
    else:
        page = _refused_and_dropped(client, customer, goes_to="/payeasy/numbers/", message=services.BILL_GONE)
        assert 'value="1234567890123456"' in page
    assert services.payeasy_blocked_until(customer=customer) is None
    assert not EntryFailureCounter.objects.filter(customer=customer, failures__gt=0).exists()  # not a wrong entry


def test_the_bill_shown_again_is_the_confirmations_not_another_tabs():
    """Another tab moved the wizard to the city tax's bill (no confirmation started); the
    changed mobile bill comes back as itself, with its own numbers."""
    customer, account, client = _at_confirm()
    client.post("/payeasy/", {"account": account.pk, "biller": support.CITY})
    client.post("/payeasy/numbers/", {"number": "27100000000001", "confirmation": "111111"})
    Bill.objects.filter(pk=_bill(support.MOBILE_BILL).pk).update(amount=69_800)
    page = _refused_and_dropped(client, customer, goes_to="/payeasy/bill/", message=services.BILL_CONTENT_CHANGED)
    assert "69,800円" in page and "コウセイモバイル" in page and "23,500円" not in page
    assert 'value="09012345678"' in client.get("/payeasy/numbers/").content.decode()
