"""Issue 14: ``unique_or_none`` is ``first()`` for a unique look-up, without the ORDER BY."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from cosei_ib.queries import unique_or_none
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_row_or_none_and_no_order_by():
    account = factories.account()
    with CaptureQueriesContext(connection) as captured:
        assert unique_or_none(Account.objects.filter(pk=account.pk)) == account
        assert unique_or_none(Account.objects.filter(pk=account.pk).values_list("number", flat=True)) == account.number
        assert unique_or_none(Account.objects.filter(pk=-1)) is None
    assert len(captured.captured_queries) == 3
    assert not any("ORDER BY" in query["sql"] for query in captured.captured_queries)


def test_locks_with_select_for_update():
    account = factories.account()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        assert unique_or_none(Account.objects.select_for_update().filter(pk=account.pk)) == account
    assert captured.captured_queries[0]["sql"].endswith("FOR UPDATE")
