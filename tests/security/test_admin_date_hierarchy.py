"""STAFF-1: the date drill-down above a staff list (``date_hierarchy``) reads its year,
month and day from the query string. A date at the edge of the calendar (9999, December
9999, 31 Dec 9999) or a year beyond any integer made Django's ChangeList compute the end
of the period past year 9999 — a 500 instead of the admin's own "invalid filter" answer."""

import pytest
from django.contrib import admin

from tests.security.test_staff_admin import staff, staff_client  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

EDGES = ["{f}__year=9999", "{f}__year=9999&{f}__month=12", "{f}__year=9999&{f}__month=12&{f}__day=31",
         "{f}__year=99999999999999999999", "{f}__year=2026&{f}__month=99999999999999999999"]


def _lists_with_date_hierarchy():
    return [(f"/admin/{model._meta.app_label}/{model._meta.model_name}/", model_admin.date_hierarchy)
            for model, model_admin in admin.site._registry.items() if model_admin.date_hierarchy]


@pytest.mark.parametrize("query", EDGES)
def test_date_hierarchy_at_the_end_of_the_calendar_is_an_invalid_filter_not_a_500(staff_client, query):  # noqa: F811
    lists = _lists_with_date_hierarchy()
    assert len(lists) >= 4
    for url, field in lists:
        response = staff_client.get(url + "?" + query.format(f=field))
        assert response.status_code in (302, 403), (url, response.status_code)
        if response.status_code == 302:  # the admin's answer to a filter it cannot use
            assert response["Location"].endswith("?e=1"), (url, response["Location"])
