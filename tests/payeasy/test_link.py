"""PAY-4 情報リンク方式: a biller's signed link is verified (HMAC, expiry), kept across the
login, pre-fills the confirmation, and is refused when tampered, expired or replayed."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from payeasy import services
from payeasy.models import LinkNonce, Payment
from security.models import AuditEvent
from tests.payeasy import support
from tests.payeasy.test_views import answer_card

pytestmark = pytest.mark.django_db

TAX_NUMBER = "1234567890123456"


@pytest.fixture(autouse=True)
def demo_bills():
    support.seeded()


def signed_link(*, amount=48_000, expires_in=600, number=TAX_NUMBER, category="101", nonce=None) -> dict:
    return services.link_build(biller=support.biller("00100"), number=number, category=category, amount=amount,
                               return_url="http://testserver/payeasy/simulator/00100/",
                               expires_at=timezone.now() + dt.timedelta(seconds=expires_in), nonce=nonce)


def link_url(fields: dict) -> str:
    return "/payeasy/link/?" + urlencode(fields)


def test_link_from_the_demo_biller_page_across_the_login():
    customer, account = support.payer()
    client = Client()
    page = client.get("/payeasy/simulator/00100/").content.decode()
    assert "ペイジーで支払う" in page
    href = next(part.split('"')[0] for part in page.split('href="')[1:] if part.startswith("/payeasy/link/"))
    response = client.get(href.replace("&amp;", "&"))
    assert response.url == "/login/"  # not logged in: log in first, the link is kept
    response = client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    assert response.url == "/payeasy/link/bill/"
    page = client.get("/payeasy/link/bill/").content.decode()
    assert "48,000円" in page and "申告所得税" in page
    assert client.post("/payeasy/link/bill/", {"account": account.pk}).url == "/payeasy/confirm/"
    page = client.get("/payeasy/confirm/").content.decode()
    assert "48,000円" in page and "取り消すことができません" in page
    assert answer_card(client, customer).url == "/payeasy/done/"
    payment = Payment.objects.get()
    assert payment.via_link and payment.amount == 48_000
    done = client.get("/payeasy/done/").content.decode()
    assert "収納機関のページに戻る" in done and "http://testserver/payeasy/simulator/00100/" in done
    assert LinkNonce.objects.get().customer == customer
    # the paid bill is gone from the biller's page
    assert TAX_NUMBER not in Client().get("/payeasy/simulator/00100/").content.decode()


def test_link_when_already_logged_in_goes_straight_to_the_bill():
    customer, _ = support.payer()
    client = support.logged_in(customer)
    assert client.get(link_url(signed_link())).url == "/payeasy/link/bill/"


@pytest.mark.parametrize("tamper", [
    {"amount": "1"}, {"number": "1234567890123457"}, {"return_url": "https://evil.example/"},
    {"sig": "0" * 64}, {"biller": "27100"}, {"nonce": "x"}, {"expires": "99999999999"},
    {"amount": "9" * 5000},
])
def test_tampered_link_is_refused(tamper):
    customer, _ = support.payer()
    client = support.logged_in(customer)
    fields = {**signed_link(), **tamper}
    response = client.get(link_url(fields))
    assert response.status_code == 400
    assert services.LINK_INVALID in response.content.decode()
    assert not LinkNonce.objects.exists()
    assert AuditEvent.objects.filter(customer=customer, action="payeasy_link", outcome="refused").count() == 1


@pytest.mark.parametrize("return_url", ["javascript:alert(1)", "//evil.example/", "/\\evil.example/"])
def test_a_signed_link_still_needs_a_plain_return_url(return_url):
    fields = services.link_build(biller=support.biller("00100"), number=TAX_NUMBER, category="101",
                                 amount=48_000, return_url=return_url,
                                 expires_at=timezone.now() + dt.timedelta(minutes=5))
    assert Client().get(link_url(fields)).status_code == 400


def test_link_missing_a_field_is_refused():
    fields = signed_link()
    del fields["sig"]
    assert Client().get(link_url(fields)).status_code == 400


def test_expired_link_is_refused(time_machine):
    customer, _ = support.payer()
    fields = signed_link(expires_in=60)
    time_machine.move_to(timezone.now() + dt.timedelta(seconds=61))
    client = support.logged_in(customer)
    response = client.get(link_url(fields))
    assert response.status_code == 400 and services.LINK_EXPIRED in response.content.decode()
    # nor may a biller sign a link valid for days
    response = client.get(link_url(signed_link(expires_in=3 * 24 * 3600)))
    assert response.status_code == 400


def test_replayed_link_is_refused():
    customer, _ = support.payer()
    fields = signed_link()
    client = support.logged_in(customer)
    assert client.get(link_url(fields)).status_code == 302
    response = support.logged_in(customer).get(link_url(fields))
    assert response.status_code == 400 and services.LINK_REPLAYED in response.content.decode()
    assert LinkNonce.objects.count() == 1


def test_signed_amount_must_fit_the_bill():
    customer, _ = support.payer()
    client = support.logged_in(customer)
    assert client.get(link_url(signed_link(amount=47_999))).url == "/payeasy/link/bill/"
    response = client.get("/payeasy/link/bill/")
    assert response.status_code == 400
    assert not Payment.objects.exists()


def test_after_login_only_goes_to_a_local_path():
    from security.session import AFTER_LOGIN

    customer, _ = support.payer()
    client = Client()
    session = client.session
    session[AFTER_LOGIN] = "//evil.example/"
    session.save()
    response = client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    assert response.url == "/"


def test_link_query_is_parsed_like_a_biller_sends_it():
    fields = signed_link()
    assert dict(parse_qsl(urlsplit(link_url(fields)).query)) == fields


def test_a_link_left_unpaid_does_not_put_its_billers_return_button_on_another_payment():
    """The customer follows a tax office's link, then leaves it and pays the power company
    by typing its numbers: that receipt has no 「収納機関のページに戻る」 to the tax office's
    site (it would send them to a biller they did not just pay)."""
    from tests.payeasy.test_views import to_confirm

    customer, account = support.payer()
    client = support.logged_in(customer)
    assert client.get(link_url(signed_link())).url == "/payeasy/link/bill/"
    _biller, number, _confirmation, _category = support.POWER_BILL
    to_confirm(client, account, support.POWER, {"number": number})
    assert answer_card(client, customer).url == "/payeasy/done/"
    done = client.get("/payeasy/done/").content.decode()
    assert Payment.objects.get().biller.number == support.POWER
    assert "収納機関のページに戻る" not in done and "/payeasy/simulator/00100/" not in done
    # the tax office's link is still there to pay
    assert "48,000円" in client.get("/payeasy/link/bill/").content.decode()
