"""NOTE-1, SEC-7 (outside review walk32 F1): a confirmation whose customer was read before
an address change committed in another tab wrote its mail to the old address, and the
outbox guard (CI204: a mail goes to the customer's address as it is) refused it — a 500 on
the 通知の選択, 利用限度額 and Pay-easy confirms, nothing done. The customer's lock, taken
first by every confirmation, now brings the address as it is with it. Transactional: the
address change is another tab's committed transaction."""

from __future__ import annotations

import pytest

from accounts.models import Customer
from notifications.models import OutboxMessage
from notifications.services import notice_enqueue
from security import cards, stepup
from tests import factories
from tests.security.secondfactor import customer_with_card, right_answers

pytestmark = pytest.mark.django_db(transaction=True)

CONTENT = {"operation": "limit_change", "limit": 300_000}


def _read_then_moved(old: str, new: str) -> Customer:
    """The customer as a request read it, then its address changed by another tab."""
    customer = customer_with_card(email=old)
    stale = Customer.objects.get(pk=customer.pk)
    factories.address_changed(Customer.objects.get(pk=customer.pk), new)
    assert stale.email == old
    return stale


def test_a_confirmation_mails_the_address_as_it_is_when_it_runs():
    stale = _read_then_moved("before32@example.jp", "after32@example.jp")
    pending = stepup.stepup_begin(customer=stale, kind="limit_change", content=CONTENT)
    challenge = cards.image_card_challenge_current(customer=stale)
    mail = stepup.stepup_verify_execute(
        customer=stale, stepup_id=pending.pk, content=CONTENT, ip=None,
        challenge_id=challenge.pk, card_answers=right_answers(challenge),
        execute=lambda: notice_enqueue(customer=stale, event="limit_change", lines=["1日あたり 300,000円"]))
    assert mail.to == "after32@example.jp" and stale.email == "after32@example.jp"
    assert OutboxMessage.objects.get(pk=mail.pk).status == OutboxMessage.Status.PENDING


def test_a_service_that_locks_the_customer_mails_the_address_as_it_is():
    """通知の選択 (``notice_preference_change`` locks the customer itself)."""
    stale = _read_then_moved("before32b@example.jp", "after32b@example.jp")
    factories.notices_chosen(stale, postings=False)
    told = OutboxMessage.objects.filter(customer=stale, event="notice_choice").latest("id")
    assert told.to == "after32b@example.jp" and "お知らせの選択を次のとおり変更しました" in told.body
