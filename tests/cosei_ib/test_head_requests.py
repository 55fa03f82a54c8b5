"""Issue 7: HEAD answers like GET, without a body, wherever GET works (RFC 9110 §9.3.2);
it was 405 on /login/, the balances and the statements, in production too."""

from __future__ import annotations

import pathlib
import re

import pytest
from django.test import Client

from tests import factories
from tests.accounts.test_statements_support import login

pytestmark = pytest.mark.django_db

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _same_as_get(client, url, params=None):
    got = client.get(url, params or {})
    head = client.head(url, params or {})
    assert got.status_code != 405 and head.status_code == got.status_code, (url, got.status_code, head.status_code)
    assert head.get("Content-Type") == got.get("Content-Type"), url
    assert (b"".join(head.streaming_content) if head.streaming else head.content) == b"", url
    return got


def test_head_like_get_for_anonymous_and_customer_pages(settings):
    for url in ("/login/", "/logged-out/", "/otp/activate/", "/health/", "/settings/suspend/done/"):
        assert _same_as_get(Client(), url).status_code in (200, 302), url

    account = factories.account()
    client = Client()
    login(client, account.customer)
    for url, params in [
        ("/", None), ("/accounts/balances/", None),
        ("/accounts/statements/", {"account": account.pk, "mode": "count", "count": "10"}),
        ("/accounts/statements/csv/", {"account": account.pk, "mode": "count", "count": "10"}),
        ("/history/", None), ("/settings/", None), ("/settings/password/", None),
        ("/settings/otp-login/", None), ("/settings/suspend/", None),
    ]:
        assert _same_as_get(client, url, params).status_code == 200, url
    # production settings change nothing here: the decorators decide (DEBUG=False as in prod)
    settings.DEBUG = False
    assert Client().head("/login/").status_code == 200


def test_every_view_that_allows_get_allows_head():
    """The decorators themselves: require_GET and a method list with GET but no HEAD are
    how the 405s came about."""
    offenders = []
    for source in ROOT.glob("*/**/*.py"):
        if ".venv" in source.parts or "tests" in source.parts:
            continue
        text = source.read_text()
        if re.search(r"@require_GET\b", text):
            offenders.append(f"{source}: require_GET")
        for methods in re.findall(r"require_http_methods\(\[([^\]]*)\]\)", text):
            if '"GET"' in methods and '"HEAD"' not in methods:
                offenders.append(f"{source}: {methods}")
    assert not offenders, offenders
