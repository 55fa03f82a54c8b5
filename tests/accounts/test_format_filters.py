"""ACCT-1/2: the statement's own ``|yen`` and ``|slash_date`` filters write what
``intcomma`` and ``date:"Y/m/d"`` wrote (issue 14 replaced those for speed), and never fail
a page on a value they were not meant for."""

import datetime as dt
import zoneinfo

import pytest
from django.template import Context, Template
from django.utils import timezone

pytestmark = pytest.mark.django_db  # rendering needs no database, but the settings do

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def _render(source: str, **context) -> str:
    return Template("{% load humanize accounts_format %}" + source).render(Context(context))


@pytest.mark.parametrize("amount", [0, 7, 999, 1_000, -1_234_567, 10**18])
def test_yen_writes_what_intcomma_wrote(amount):
    assert _render("{{ v|yen }}", v=amount) == _render("{{ v|intcomma }}円", v=amount)


@pytest.mark.parametrize("value", [None, "", "1234", 1.5])
def test_yen_renders_nothing_for_what_is_not_yen(value):
    assert _render("[{{ v|yen }}]", v=value) == "[]"


@pytest.mark.parametrize("moment", [
    dt.date(2026, 3, 5),
    dt.datetime(2026, 12, 31, 15, 30, tzinfo=dt.timezone.utc),  # 2027-01-01 in Tokyo
    dt.datetime(2026, 12, 31, 23, 59, tzinfo=TOKYO),
])
def test_slash_date_writes_what_date_wrote_in_tokyo(moment):
    with timezone.override(TOKYO):
        assert _render("{{ v|slash_date }}", v=moment) == _render('{{ v|date:"Y/m/d" }}', v=moment)


@pytest.mark.parametrize("value", [None, "", "2026-03-05"])
def test_slash_date_renders_nothing_for_what_is_not_a_date(value):
    assert _render("[{{ v|slash_date }}]", v=value) == "[]"
