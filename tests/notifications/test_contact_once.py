"""NOTE-1 (walk33 F6): a mail says 「お心当たりのない場合は…ご連絡ください」 once. The passkey
and OTP mails added their own 「お心当たりがない場合は…」 line above the common closing."""

import pytest

from notifications.services import SUBJECTS, _render
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("event", sorted(SUBJECTS))
def test_every_mail_says_whom_to_contact_at_most_once(event):
    customer = factories.customer(email="once@example.jp", name_kanji="山田太郎")
    body = _render(event, customer, ["テストのお知らせです。"], {})
    assert body.count("心当たり") <= 1, body
