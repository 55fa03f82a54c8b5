"""NOTE-2, UI-1 (outside review walk32 F4): 「taro@例え.jp」 typed in the address field
reaches the server as 「taro@xn--r8jz45g.jp」 (the browser's punycode), and the pages showed
only that, which the customer may not recognise as their own. They show the domain's own
letters after it; the mail still goes to the address as stored."""

from __future__ import annotations

import pytest
from django.urls import reverse

from notifications.services import address_readable
from tests import factories
from tests.accounts.test_statements_support import login


@pytest.mark.parametrize(("stored", "shown"), [
    ("taro@xn--r8jz45g.jp", "taro@xn--r8jz45g.jp（taro@例え.jp）"),
    ("taro@mail.xn--r8jz45g.jp", "taro@mail.xn--r8jz45g.jp（taro@mail.例え.jp）"),
    ("yamada@example.jp", "yamada@example.jp"),
    ("bad@xn--zz.jp", "bad@xn--zz.jp"),  # not punycode after all: as stored
    ("", ""),
])
def test_a_punycode_domain_is_shown_with_its_own_letters(stored, shown):
    assert address_readable(stored) == shown


@pytest.mark.django_db
def test_the_email_settings_page_shows_the_address_readable(client):
    customer = factories.customer(email="taro@xn--r8jz45g.jp")
    login(client, customer)
    page = client.get(reverse("notifications:email_settings")).content.decode()
    assert "taro@xn--r8jz45g.jp（taro@例え.jp）" in page
