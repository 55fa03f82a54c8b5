"""UI-1: Django's Japanese date-time format, used on every admin page's 受付日時・作成日時,
ran the date and the time together (「2026年12月6日13:14」); ours keeps the space the
customer pages write."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import timezone

from tests import factories
from tests.security.test_staff_admin import staff, staff_client  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def test_a_date_time_reads_with_a_space_before_the_time():
    moment = dt.datetime(2026, 12, 6, 13, 4, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    with timezone.override("Asia/Tokyo"):
        assert Template("{{ v }}").render(Context({"v": moment})) == "2026年12月6日 13:04"
        assert Template("{{ v|date }}").render(Context({"v": moment.date()})) == "2026年12月6日"


def test_the_admin_customer_page_shows_its_registration_time_with_the_space(staff_client):
    customer = factories.customer()
    page = staff_client.get(f"/admin/accounts/customer/{customer.pk}/change/").content.decode()
    registered = timezone.localtime(customer.created_at)
    assert f"{registered.year}年{registered.month}月{registered.day}日 {registered.hour}:{registered:%M}" in page
