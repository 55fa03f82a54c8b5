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


# Any date or date-time column may be filtered by hand in a staff list's query string
# (``?created_at__year=…``, as the 取引履歴 and 振込 lists' own filters write it). A year
# outside 1…9999 (0, 10000, twenty digits) made Django compute the year's bounds while the
# list was being counted — outside the admin's guard, a 500 on nearly every list.
OUT_OF_RANGE = ["{f}__year=0", "{f}__year=10000", "{f}__year=99999999999999999999", "{f}__iso_year=0"]


def _date_columns():
    from django.db import models

    for model in admin.site._registry:
        for field in model._meta.get_fields():
            if isinstance(field, models.DateField) and not field.is_relation:
                yield f"/admin/{model._meta.app_label}/{model._meta.model_name}/", field.name


@pytest.mark.parametrize("query", OUT_OF_RANGE)
def test_a_year_out_of_range_on_any_date_column_is_an_invalid_filter_not_a_500(staff_client, query):  # noqa: F811
    from tests.security.test_staff_admin import superuser_signed_in

    superuser = superuser_signed_in("root-years")
    columns = list(_date_columns())
    assert len(columns) >= 20
    failed = []
    for client in (staff_client, superuser):
        client.raise_request_exception = False
        for url, field in columns:
            response = client.get(url + "?" + query.format(f=field))
            if response.status_code == 302:
                if not response["Location"].endswith("?e=1"):
                    failed.append((url, field, response["Location"]))
            elif response.status_code != 403:
                failed.append((url, field, response.status_code))
    assert failed == []
