"""Issue 7: a number typed or put in a URL is length-checked before ``int()`` — Python
refuses to convert more than 4,300 digits (ValueError), and a 20-digit id overflows the
database's bigint. Every such input gets the page's Japanese message or a 404, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from cosei_ib.textinput import ascii_int
from tests import factories
from tests.accounts.test_statements_support import login

pytestmark = pytest.mark.django_db

HUGE = "9" * 5000


def test_ascii_int_checks_the_length_first():
    assert ascii_int("42", max_digits=3) == 42
    assert ascii_int("0042", max_digits=4) == 42
    for bad in (HUGE, "1234", "", "-1", "1e3", "４２", "٤٢", " 4", "4.0"):
        assert ascii_int(bad, max_digits=3) is None, bad


@pytest.mark.parametrize("url", ["/accounts/statements/", "/accounts/statements/csv/"])
def test_statement_and_csv_with_thousands_of_digits(url):
    account = factories.account()
    client = Client(raise_request_exception=True)
    login(client, account.customer)
    base = {"account": account.pk, "mode": "count", "order": "desc"}
    refused = 200 if url.endswith("statements/") else 400  # the CSV answers its form with 400
    response = client.get(url, {**base, "count": HUGE})
    assert response.status_code == refused
    assert "件数は" in response.content.decode()
    for cursor in (f"{HUGE}.1", f"1.{HUGE}", "9" * 19 + ".1", "9" * 18 + ".1"):
        response = client.get(url, {**base, "count": "10", "cursor": cursor})
        assert response.status_code in (200, 400), cursor[:30]
        if url.endswith("statements/"):
            assert "ページの指定が正しくありません" in response.content.decode(), cursor[:30]
    # the largest cursor that parses (year 5138, bigint id) is just an empty page
    response = client.get(url, {**base, "count": "10", "cursor": "99999999999999999.99999999999999999"})
    assert response.status_code in (200, 400)
    for account_id in (HUGE, "9" * 30, "-1", "１"):
        assert client.get(url, {**base, "account": account_id, "count": "10"}).status_code == 404, account_id


def test_admin_filters_with_thousands_of_digits(client):
    from django.contrib.auth import get_user_model
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin = get_user_model().objects.create_superuser("root-h", password="x")
    staff = Client(raise_request_exception=True)
    staff.force_login(admin)
    session = staff.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=admin, name="h").persistent_id
    session.save()
    for url in (f"/admin/security/auditevent/?customer__id__exact={HUGE}", f"/admin/accounts/customer/?p={HUGE}",
                f"/admin/accounts/account/?o={HUGE}", f"/admin/accounts/customer/{HUGE}/change/",
                f"/admin/accounts/account/?q={HUGE}", f"/admin/accounts/customer/{'9' * 30}/change/",
                f"/admin/accounts/customer/{'9' * 30}/resume/", f"/admin/accounts/account/{'9' * 30}/deposit/",
                f"/admin/security/auditevent/?customer__id__exact={'9' * 30}"):
        assert staff.get(url).status_code in (200, 302, 404), url


def test_image_urls_with_out_of_range_ids_are_404():
    account = factories.account()
    client = Client(raise_request_exception=True)
    login(client, account.customer)
    for path in (f"/image-auth/{'9' * 30}/0/0.png", f"/image-auth/1/{'9' * 30}/0.png", f"/image-auth/{HUGE}/0/0.png"):
        assert client.get(path).status_code == 404
