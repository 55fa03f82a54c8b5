"""Pay-easy reads, scoped to one customer (ACCT-5)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Customer

from .models import Biller, Payment


def biller_list() -> QuerySet[Biller]:
    """The billers the bank takes payments for (shown as a hint on the first page)."""
    return Biller.objects.filter(is_active=True).order_by("number")


def payment_get_for_customer(customer: Customer, reference: str) -> Payment:
    """The customer's own payment with ``reference``; Http404 for anything else."""
    payment = (Payment.objects.filter(customer=customer, reference=str(reference)[:16])
               .select_related("biller", "account__branch").first())
    if payment is None:
        raise Http404("no such payment")
    return payment
