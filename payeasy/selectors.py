"""Pay-easy reads, scoped to one customer (ACCT-5)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Customer
from security.models import StepUp

from .models import Biller, Payment


def biller_list() -> QuerySet[Biller]:
    """The billers the bank takes payments for (shown as a hint on the first page)."""
    return Biller.objects.filter(is_active=True).order_by("number")


def biller_label(number: str) -> str:
    """「58001 コウセイ電力株式会社」: a biller as 取引履歴 names it (the number alone if gone)."""
    name = Biller.objects.filter(number=number).values_list("name", flat=True).first()
    return f"{number} {name}" if name else number


def payment_get_for_customer(customer: Customer, reference: str) -> Payment:
    """The customer's own payment with ``reference``; Http404 for anything else."""
    payment = (Payment.objects.filter(customer=customer, reference=str(reference)[:16])
               .select_related("biller", "account__branch").first())
    if payment is None:
        raise Http404("no such payment")
    return payment


def payment_of_used_stepup(customer: Customer, stepup_id: str) -> Payment | None:
    """The payment a confirmed (used) step-up of the customer made, or None: a second submit
    of the same confirm page (double click, back button, another tab) then shows the first
    one's receipt instead of an error (PAY-1). A bill is paid once (``payment_bill_once``),
    so the step-up's biller and bill name the payment."""
    try:
        key = uuid.UUID(str(stepup_id))
    except ValueError:
        return None
    content = (StepUp.objects.filter(pk=key, customer=customer, kind="payeasy", used_at__isnull=False)
               .values_list("content", flat=True).first())
    if not content:
        return None
    return Payment.objects.filter(customer=customer, biller__number=content.get("biller"),
                                  bill_id=content.get("bill_id")).first()
