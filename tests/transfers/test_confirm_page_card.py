"""The confirm page shows the image-card challenge: for each of its two cells the eight
candidate images, each by its URL (built lazily by the form since issue 14: only a
rendered page needs them, not the POST that answers and redirects)."""

import re

import pytest
from django.urls import reverse

from security import cards
from tests.transfers.support import payer

pytestmark = pytest.mark.django_db


def test_confirm_page_links_every_candidate_image_of_the_open_challenge(client):
    customer, debit = payer()
    client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    client.post(reverse("transfers:start"), {"debit_account": debit.pk, "mode": "new"})
    client.post(reverse("transfers:account", args=["0161", "002"]), {"account_type": "1", "account_number": "12345"})
    client.post(reverse("transfers:details"), {"amount": "10000", "sender_name": "ﾔﾏﾀﾞ ﾀﾛｳ"})

    page = client.get(reverse("transfers:confirm")).content.decode()

    challenge = cards.image_card_challenge_current(customer=customer)
    expected = {reverse("security:card_image", args=[challenge.pk, position, index])
                for position in range(len(challenge.cells)) for index in range(len(challenge.candidates[position]))}
    assert len(expected) == 16
    shown = set(re.findall(r'src="(/[^"]*)"', page))
    assert expected <= shown
    for cell in challenge.cells:
        assert f'data-cell="{cards.cell_label(cell)}"' in page
