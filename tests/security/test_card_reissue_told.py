"""SEC-5 (walk33 F3): after a card 再発行 the card step says so — the new card goes by post,
and a customer still holding the old one read only 「認証用画像の指定が変わりました」, then
「正しくありません」, and locked the card on the third try. For ``REISSUE_TOLD_DAYS`` after a
re-issue (not after a first issue) every step-up page's card step says the old card no
longer answers and whom to call."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from security import cards
from tests.transfers.test_views import signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

TOLD = "以前のカードはご利用いただけません。新しいカードでお答えください。"


def _limit_confirm_page(client) -> str:
    client.post(reverse("transfers:limit"), {"new_limit": "500000"})
    return client.get(reverse("transfers:limit_confirm")).content.decode()


def test_the_card_step_says_the_card_was_reissued(signed_in):  # noqa: F811
    client, customer, _debit = signed_in
    page = _limit_confirm_page(client)
    assert 'name="card_1"' in page and TOLD not in page, "a first card is no re-issue"
    cards.image_card_issue(customer=customer, actor="staff01", reason="紛失のお申し出")
    page = _limit_confirm_page(client)
    assert 'name="card_1"' in page and TOLD in page
    issued = cards.image_card_active(customer).issued_at
    assert re.search(r"画像認証カードは\d{4}年\d{1,2}月\d{1,2}日に再発行しました。", page)
    with time_machine.travel(issued + dt.timedelta(days=cards.REISSUE_TOLD_DAYS, minutes=1)):
        assert TOLD not in _limit_confirm_page(client)
