"""SEC-11, issue 14: the customer pages' CSRF token (security/csrf.py) is Django's token,
masked afresh for every response as Django masks it, and Django's middleware accepts it —
and refuses a POST without it or with another browser's."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CSRF_SECRET_LENGTH,
    _get_new_csrf_string,
    _unmask_cipher_token,
)
from django.test import Client
from django.urls import reverse

from security import csrf
from tests.accounts.test_statements_support import login
from tests.security.secondfactor import customer_with_card

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})">')


def test_the_masked_token_unmasks_to_its_secret_with_a_fresh_uniform_mask():
    secrets = [_get_new_csrf_string() for _ in range(20)] + ["a" * 32, "9" * 32, CSRF_ALLOWED_CHARS[:32]]
    masks = Counter()
    seen = set()
    for secret in secrets:
        for _ in range(200):
            token = csrf.masked(secret)
            assert len(token) == 2 * CSRF_SECRET_LENGTH and set(token) <= set(CSRF_ALLOWED_CHARS)
            assert _unmask_cipher_token(token) == secret  # Django's own unmasking
            masks.update(token[:CSRF_SECRET_LENGTH])
            seen.add(token)
    assert len(seen) == len(secrets) * 200  # never the same token twice
    # every one of the 62 characters in the masks, none far from 1/62 of the draws
    draws = len(secrets) * 200 * CSRF_SECRET_LENGTH
    assert set(masks) == set(CSRF_ALLOWED_CHARS)
    assert all(0.85 < count / (draws / 62) < 1.15 for count in masks.values()), masks.most_common(3)


def test_a_customer_page_has_a_fresh_token_django_accepts_for_the_logout(client):
    customer = customer_with_card()
    browser = Client(enforce_csrf_checks=True)
    login(browser, customer)
    first = browser.get("/accounts/balances/")
    second = browser.get("/accounts/balances/")
    tokens = [TOKEN.search(page.content.decode()).group(1) for page in (first, second)]
    assert tokens[0] != tokens[1]  # masked afresh (BREACH)
    secret = browser.cookies["csrftoken"].value
    assert {_unmask_cipher_token(token) for token in tokens} == {secret}
    # as Django's get_token: the cookie goes out again with the page, and the page varies by it
    assert second.cookies["csrftoken"].value == secret and "Cookie" in second["Vary"]
    # a POST without the token, or with another secret's, is refused; the page's is taken
    assert browser.post(reverse("security:logout")).status_code == 403
    other = csrf.masked(_get_new_csrf_string())
    assert browser.post(reverse("security:logout"), {"csrfmiddlewaretoken": other}).status_code == 403
    response = browser.post(reverse("security:logout"), {"csrfmiddlewaretoken": tokens[0]})
    assert response.status_code == 302
    assert browser.get("/accounts/balances/").status_code == 302  # logged out


def test_a_browser_without_a_csrf_cookie_gets_its_secret_from_django():
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(reverse("security:login"))
    token = TOKEN.search(page.content.decode()).group(1)
    assert _unmask_cipher_token(token) == page.cookies["csrftoken"].value
