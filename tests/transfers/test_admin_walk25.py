"""STAFF-1, XFER-4, LEDGER-1 (walk25): what staff read on the fee table, 振込の設定, the
account's 拘束額 and the 予約振込 pages — the project's one message per mistake, amounts as
「30,000円」, and a date the page will not use refused in words."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.services import HOLD_OUT_OF_RANGE
from tests import factories
from tests.security.test_staff_admin import staff, staff_client, superuser_signed_in  # noqa: F401 - fixtures
from transfers.admin import THRESHOLD_TOO_LARGE

pytestmark = pytest.mark.django_db

FEE_FIELDS = {"threshold": 30000, "same_branch_under": 0, "same_branch_over": 0, "other_branch_under": 110,
              "other_branch_over": 220, "other_bank_under": 330, "other_bank_over": 550}


def _errors(html: str) -> list[str]:
    import re

    return re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S)


@pytest.mark.parametrize("typed", ["99999999999999999999", "-1", "1000000000001"])
def test_a_hold_out_of_range_says_the_projects_message_once(typed):
    """walk25 F4: 20 digits got Django's raw 「この値は 9223372036854775807 以下…」 and the
    input carried bigint's min and max."""
    account = factories.account(balance=1_000)
    client = superuser_signed_in("root-hold")
    url = f"/admin/accounts/account/{account.pk}/change/"
    page = client.get(url).content.decode()
    assert "9223372036854775807" not in page and "-9223372036854775808" not in page
    html = client.post(url, {"status": account.status, "hold_amount": typed, "status_seen": account.status,
                             "hold_amount_seen": "0"}).content.decode()
    assert html.count(HOLD_OUT_OF_RANGE) == 1, _errors(html)
    assert len(_errors(html)) == 1, _errors(html)
    assert "9223372036854775807" not in html


def test_a_threshold_too_large_says_one_message(staff_client):  # noqa: F811
    day = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    html = staff_client.post("/admin/transfers/feeschedule/add/", {
        "effective_from": day, **FEE_FIELDS, "threshold": 999_999_999_999}).content.decode()
    assert html.count(THRESHOLD_TOO_LARGE) == 1
    assert len(_errors(html)) == 1, _errors(html)
