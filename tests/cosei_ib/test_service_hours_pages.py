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
    customer = factories.customer(password="Pass1234")
    customer.password_is_initial = False
    customer.save()
    client = Client()
    with time_machine.travel(dt.datetime(2026, 11, 26, 22, 30, tzinfo=TOKYO), tick=False):
        client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
        response = client.get("/")
        assert response.status_code == 503
        html = response.content.decode()
        assert "ただいまの時間はご利用いただけません" in html
        assert "平日 7:00～22:00、土曜・日曜・祝日 8:00～21:00" in html
    with time_machine.travel(dt.datetime(2026, 11, 26, 21, 30, tzinfo=TOKYO), tick=False):
        client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
        assert client.get("/").status_code == 200
