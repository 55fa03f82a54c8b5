"""LEDGER-6: outside the service hours a customer page refuses politely with the hours."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from zoneinfo import ZoneInfo

from tests import factories

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")


def test_pages_refuse_outside_hours_and_open_inside(settings):
    settings.SERVICE_HOURS_ENFORCED = True
    customer = factories.customer(password="Pass1234", password_is_initial=False)
    client = Client()
    with time_machine.travel(dt.datetime(2026, 11, 26, 21, 59, tzinfo=TOKYO), tick=False):
        client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    with time_machine.travel(dt.datetime(2026, 11, 26, 22, 5, tzinfo=TOKYO), tick=False):
        response = client.get("/")
        assert response.status_code == 503
        html = response.content.decode()
        assert "ただいまの時間はご利用いただけません" in html
        assert "平日 7:00～22:00、土曜・日曜・祝日 8:00～21:00" in html
    with time_machine.travel(dt.datetime(2026, 11, 26, 21, 30, tzinfo=TOKYO), tick=False):
        client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
        assert client.get("/").status_code == 200


def test_login_page_shows_the_hours_and_refuses_outside_them_without_a_login(settings):
    """Issue 7: a night visit used to log in, be refused, and become 前回ログイン."""
    from security.models import AuditEvent, Credential

    settings.SERVICE_HOURS_ENFORCED = True
    customer = factories.customer(password="Pass1234", password_is_initial=False)
    before = dt.datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO)
    with time_machine.travel(before, tick=False):
        page = Client().get("/login/").content.decode()
        assert "平日 7:00～22:00、土曜・日曜・祝日 8:00～21:00" in page
        assert "ただいまの時間はご利用いただけません" not in page
        assert Client().post("/login/", {"contract_id": customer.contract_id,
                                         "password": "Pass1234"}).status_code == 302
    customer.refresh_from_db()
    assert customer.last_login_at == before

    # Saturday 21:30: holiday hours end at 21:00
    with time_machine.travel(dt.datetime(2026, 11, 28, 21, 30, tzinfo=TOKYO), tick=False):
        client = Client()
        page = client.get("/login/").content.decode()
        assert "ただいまの時間はご利用いただけません" in page and "土曜・日曜・祝日 8:00～21:00" in page
        for password in ("Pass1234", "Wrong999"):
            response = client.post("/login/", {"contract_id": customer.contract_id, "password": password})
            assert response.status_code == 200 and "ご利用時間：" in response.content.decode()
            assert "_auth_user_id" not in client.session
    customer.refresh_from_db()
    assert customer.last_login_at == before and customer.previous_login_at is None
    assert not Credential.objects.filter(customer=customer, failures__gt=0).exists()  # no guess
    assert AuditEvent.objects.filter(contract_id=customer.contract_id, action="login", outcome="refused",
                                     summary="ご利用時間外").count() == 2


def test_otp_login_step_refused_when_the_hours_end_meanwhile(settings):
    from tests.security.secondfactor import activate_otp, code_at_next_step, customer_with_card

    customer = customer_with_card()
    token = activate_otp(customer, required_at_login=True)
    settings.SERVICE_HOURS_ENFORCED = True
    client = Client()
    with time_machine.travel(dt.datetime(2026, 11, 26, 21, 59, 40, tzinfo=TOKYO), tick=False):
        client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
        assert client.get("/").url == "/login/otp/"
    with time_machine.travel(dt.datetime(2026, 11, 26, 22, 0, 5, tzinfo=TOKYO), tick=False):
        response = client.post("/login/otp/", {"otp": code_at_next_step(token)})
        assert response.url == "/login/"
        assert "ただいまの時間はご利用いただけません" in client.get("/login/").content.decode()
        assert client.get("/").url == "/login/"
