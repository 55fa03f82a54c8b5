"""STAFF-1 (walk25 F3): staff with the IME on type full-width digits and letters; every
staff list's search reads them NFKC-normalised — the customer list by 契約者ID, the
account list by 口座番号."""

import pytest

from tests import factories
from tests.security.test_staff_admin import staff, staff_client  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def test_full_width_digits_find_the_customer_and_the_account(staff_client):  # noqa: F811
    account = factories.account(number="1234567")
    contract_id = account.customer.contract_id
    full_width = contract_id.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    html = staff_client.get("/admin/accounts/customer/", {"q": full_width}).content.decode()
    assert f"/admin/accounts/customer/{account.customer.pk}/change/" in html
    html = staff_client.get("/admin/accounts/account/", {"q": "１２３４５６７"}).content.decode()
    assert f"/admin/accounts/account/{account.pk}/change/" in html
