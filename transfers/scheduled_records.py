"""The scheduled batch's audit rows and mail, written set-based (Issue 14).

``audit_records`` and ``notices_enqueue`` write, for many events at once in one INSERT
each, the rows ``security.audit.audit_record`` and ``notifications.services.notice_enqueue``
write one by one: the same columns, the same text sanitising, the same choice of address
and status, the same mail body. The batch calls them once per chunk of transfers
(transfers/scheduled.py). tests/transfers/test_scheduled_records.py compares their rows
with the one-by-one services' for the same input, so the two cannot drift apart unseen.
A ``notice_enqueue_many`` in notifications/services.py (and an ``audit_record_many`` in
security/audit.py) would let this module go; those modules belong to other work.

The mail body: each event's template is rendered once per call, with placeholders for the
customer's name and the event's lines, which are then put in by plain string replacement
(the templates print both verbatim, under ``autoescape off``). Rendering Django's template
(extends, blocks, an include) for every transfer was the largest Python cost of a
transfer after the ORM.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.template.loader import select_template
from django.utils import timezone

from accounts.models import Customer
from notifications.models import OutboxMessage
from notifications.services import (
    SUBJECTS,
    _wake_sender,
    address_is_sendable,
    event_is_optional,
    one_line,
    preference_for,
)
from security.audit import audit_text
from security.models import AuditEvent

audit_logger = logging.getLogger("security.audit")
logger = logging.getLogger("notifications.services")

_NAME, _LINES = "\ue000", "\ue001"  # private-use characters: in no template, name or line
_PLACEHOLDER = re.compile(f"[{_NAME}{_LINES}]")


def _size(field: str) -> int:
    return AuditEvent._meta.get_field(field).max_length


def audit_records(*, action: str, actor: str, events: Sequence[tuple[Customer, str, str]]) -> list[AuditEvent]:
    """One audit row per (customer, outcome, summary), as ``audit_record`` writes it (no
    client address: the batch has none), in one INSERT; logged one line each."""
    action, actor = audit_text(action, _size("action")), audit_text(actor, _size("actor"))
    rows = [AuditEvent(customer=customer, contract_id=audit_text(customer.contract_id, _size("contract_id")),
                       action=action, outcome=outcome, summary=audit_text(summary, _size("summary")),
                       client_ip=None, actor=actor)
            for customer, outcome, summary in events]
    AuditEvent.objects.bulk_create(rows)
    for row in rows:
        audit_logger.info("audit action=%s outcome=%s contract=%s ip=%s actor=%s",
                          action, row.outcome, row.contract_id or "-", "-", actor or "-")
    return rows


def _body(template_text: str, customer: Customer, lines: list[str]) -> str:
    values = {_NAME: one_line(customer.name_kanji), _LINES: "\n".join(lines)}
    text = _PLACEHOLDER.sub(lambda match: values[match[0]], template_text)
    # as notifications.services._render: templates keep their tags on lines of their own
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def notices_enqueue(notices: Sequence[tuple[Customer, str, list[str]]]) -> list[OutboxMessage]:
    """One outbox row per (customer, event, lines) with non-empty ``lines``, as
    ``notice_enqueue`` writes it to the customer's registered address, in one INSERT, in
    the caller's transaction; the sender is woken after the commit when one is pending."""
    now = timezone.localtime()
    rendered: dict[str, str] = {}
    rows = []
    for customer, event, lines in notices:
        if not lines:
            raise ValueError("notices_enqueue needs the event's lines")  # the placeholder stands for them
        if event not in rendered:
            template = select_template([f"notifications/mail/{event}.txt", "notifications/mail/generic.txt"])
            rendered[event] = template.render({"customer_name": _NAME, "lines": [_LINES], "now": now,
                                               "bank_name": settings.BANK_NAME})
        address = customer.email
        optional = event_is_optional(event)
        chosen = optional is None or getattr(preference_for(customer), optional)
        sendable = address_is_sendable(address)
        if address and not sendable:
            logger.warning("notice %s for customer %s not sent: unusable address", event, customer.pk)
        rows.append(OutboxMessage(
            customer=customer, event=event, to=address if sendable else "",
            subject=f"【{settings.BANK_SHORT_NAME}】{SUBJECTS.get(event, 'お知らせ')}",
            body=_body(rendered[event], customer, lines),
            status=OutboxMessage.Status.PENDING if sendable and chosen else OutboxMessage.Status.SKIPPED,
        ).sealed_now())
    OutboxMessage.objects.bulk_create(rows)
    if any(row.status == OutboxMessage.Status.PENDING for row in rows):
        transaction.on_commit(_wake_sender)
    return rows
