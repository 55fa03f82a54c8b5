"""NOTE-1, NOTE-3, LEDGER-7: as the app's own role (every test's), a notice's content is
never rewritten nor removed; only its delivery state moves (notifications 0007, CI204)."""

import pytest

from notifications.models import OutboxMessage
from tests import factories
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail():
    return OutboxMessage.objects.create(customer=factories.customer(), event="transfer_accepted",
                                        to="payer@example.jp", subject="振込受付", body="振込金額：10,000円")


@pytest.mark.parametrize("statement", [
    "UPDATE notifications_outboxmessage SET body = 'x' WHERE id = %s",
    "UPDATE notifications_outboxmessage SET \"to\" = 'attacker@example.jp' WHERE id = %s",
    "DELETE FROM notifications_outboxmessage WHERE id = %s",
])
def test_a_notice_is_never_rewritten_or_removed(mail, statement):
    assert refused(statement, [mail.pk]) == "CI204"


def test_only_the_delivery_moves_and_a_sent_notice_never_again(mail):
    OutboxMessage.objects.filter(pk=mail.pk).update(attempts=1, status="failed")
    OutboxMessage.objects.filter(pk=mail.pk).update(attempts=0, status="pending")  # staff 再送
    OutboxMessage.objects.filter(pk=mail.pk).update(attempts=1, status="sent", sent_at="2026-12-06T00:00Z")
    assert refused("UPDATE notifications_outboxmessage SET status = 'pending' WHERE id = %s", [mail.pk]) == "CI204"
