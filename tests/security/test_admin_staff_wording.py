"""STAFF-1 (walk25 F7): what staff read at the counter is written for staff — a slip
number used with another amount, not the customer's 「同じお取引が別の内容で…最初から
やり直してください」."""

import pytest

from tests import factories
from tests.security.test_staff_admin import counter_deposit_in_admin, staff, staff_client  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def test_a_used_slip_number_with_another_amount_says_so_to_staff(staff_client):  # noqa: F811
    account = factories.account(balance=1_000)
    url = f"/admin/accounts/account/{account.pk}/deposit/"
    assert counter_deposit_in_admin(staff_client, account, "5000", "C-1").status_code == 302
    html = staff_client.post(url, {"amount": "6000", "reference": "C-1"}).content.decode()
    assert "この伝票番号は別の金額または別の口座で記帳済みです。伝票番号をご確認ください。" in html
    assert "最初からやり直してください" not in html
    account.refresh_from_db()
    assert account.balance == 6_000
