"""Issue 14: what one view of 残高照会 (ACCT-1) and of a statement's first page (ACCT-2)
costs the database — the exact queries, and no write. A later change that adds a query
(or a session write, an UPDATE and a COMMIT per page view) fails here, not in a benchmark
months later."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import selectors
from tests import factories
from tests.accounts.test_statements_support import login, post, tokyo

pytestmark = pytest.mark.django_db

NOW = tokyo(2026, 3, 20, 10)

# Middleware: the session, then the user with its customer in one query
# (security.backends.CustomerSessionBackend; SEC-9/12) — then the page's own reads.
# the session, read with its customer's user in the same statement (security/session_store.py)
MIDDLEWARE_TABLES = ["django_session"]


def tables(queries) -> list[str]:
    """The table each captured statement reads (its outermost FROM), in order; a write or a
    transaction statement shows as its first word, so it cannot hide in the count."""
    result = []
    for query in queries.captured_queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        result.append(re.findall(r'FROM "?(\w+)', sql)[-1] if verb == "SELECT" else verb)
    return result


@pytest.fixture
def customer_with_history():
    """A customer with two accounts, one with more than a page of entries this month."""
    customer = factories.customer()
    main, savings = factories.account(owner=customer), factories.account(owner=customer)
    for index in range(30):  # chronological: the cash account on the other side is shared
        post(main, 1_000 + index, tokyo(2026, 3, 1 + index // 2, 9, index))
    post(savings, 5_000, tokyo(2026, 3, 19, 12))
    return customer, main


def test_balance_page_reads_once_and_writes_nothing(client, customer_with_history):
    customer, main = customer_with_history
    with time_machine.travel(NOW, tick=False):
        login(client, customer)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("accounts:balances"))
    assert response.status_code == 200
    assert response.content.decode().count('class="panel balance-card"') == 2
    # one query for every account's three balances (ACCT-1); the session is not saved
    assert tables(queries) == [*MIDDLEWARE_TABLES, "accounts_account"]


def test_statement_first_page_reads_the_accounts_once_and_writes_nothing(client, customer_with_history):
    customer, main = customer_with_history
    url = f"{reverse('accounts:statements')}?account={main.pk}&mode=period&date_from=2026-03-01&date_to=2026-03-20"
    with time_machine.travel(NOW, tick=False):
        login(client, customer)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("<tr>") == 21  # the header and a full page
    # the chosen account comes from the customer's account list (no second lookup)
    assert tables(queries) == [*MIDDLEWARE_TABLES, "accounts_account", "accounts_entry"]


def test_account_from_the_pages_list_is_still_scoped_to_the_customer(customer_with_history):
    customer, main = customer_with_history
    accounts = list(selectors.account_list_for_customer(customer=customer))
    other, cash = factories.account(), factories.internal("cash")
    stranger = other.customer
    with CaptureQueriesContext(connection) as queries:
        found = selectors.account_get_for_customer(customer, str(main.pk), accounts=accounts)
        for foreign in (other.pk, cash.pk, "abc", "-1", "", "9" * 40):
            with pytest.raises(Http404):
                selectors.account_get_for_customer(customer, foreign, accounts=accounts)
        # a list of somebody else's accounts is no way round ACCT-5 either
        with pytest.raises(Http404):
            selectors.account_get_for_customer(stranger, main.pk, accounts=accounts)
    assert found.pk == main.pk and any(found is account for account in accounts)
    assert queries.captured_queries == []
