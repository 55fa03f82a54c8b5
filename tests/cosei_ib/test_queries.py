"""Issue 14: ``unique_or_none`` is ``first()`` for a unique look-up, without the ORDER BY;
``model_columns`` and ``row_instance`` read a model's row as the ORM does (review33 F8)."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from cosei_ib.queries import epoch_micros, model_columns, row_instance, unique_or_none
from security.cards import image_card_issue
from security.models import ImageCard
from tests import factories
from tests.security.secondfactor import customer_with_card

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


def test_a_row_of_model_columns_is_loaded_as_the_orm_loads_it():
    """review33 F8: the SQL the app writes out reads a model's row through one pair of
    helpers (``model_columns``, ``row_instance``: the timestamps as epoch microseconds, the
    JSON decoded by its field) — the image card's lock (security/cards.py) as well as the
    session's user. Here image cards (a JSON layout, a timestamp, a NULL one and a set one)
    from their table and through a subquery whose columns carry a prefix, against the ORM."""
    customer = customer_with_card()
    image_card_issue(customer=customer)  # the first card deactivated (a timestamp), the new one not (NULL)
    fields = ImageCard._meta.concrete_fields
    issued = [field.name for field in fields].index("issued_at")
    direct = model_columns(ImageCard, "card")[0]
    named = model_columns(ImageCard, "sub", "card_")[0]
    assert named[0] == 'sub."card_id"' and named[issued] == epoch_micros('sub."card_issued_at"')
    inner = ", ".join(f'card."{field.column}" AS "card_{field.column}"' for field in fields)
    cards = ImageCard.objects.filter(customer=customer).order_by("id")
    assert [card.deactivated_at is None for card in cards] == [False, True]
    for expected in cards:
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT {", ".join(direct)} FROM "security_imagecard" AS card WHERE card.id = %s',
                           [expected.pk])
            plain = cursor.fetchone()
            cursor.execute(f'SELECT {", ".join(named)} FROM (SELECT {inner} FROM "security_imagecard" AS card'
                           f" WHERE card.id = %s) AS sub", [expected.pk])
            prefixed = cursor.fetchone()
        assert isinstance(plain[issued], int)  # not parsed by Django's loader of timestamptz
        for row in (plain, prefixed):
            loaded = row_instance(ImageCard, row)
            assert type(loaded) is ImageCard and loaded._state.db == "default" and not loaded._state.adding
            for field in fields:
                assert getattr(loaded, field.attname) == getattr(expected, field.attname), field.name
            assert isinstance(loaded.layout, list) and len(loaded.layout) == 50
            assert loaded.issued_at.tzinfo is expected.issued_at.tzinfo
