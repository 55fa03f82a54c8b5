"""The one interface to billers (PAY-2): ``BillerGateway`` looks a bill up and reports a
payment. ``SimulatorGateway`` implements it over the ``Bill`` table that staff edit in
admin and ``payeasy.demo`` seeds; a real network gateway would implement the same two
methods (see docs/payeasy.md).

A gateway that cannot answer raises ``GatewayUnavailable`` (a timeout included); the
services turn that into a Japanese message and post nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from .models import Bill, Biller


class GatewayUnavailable(Exception):
    """The biller did not answer (error or timeout)."""


@dataclass(frozen=True)
class BillInfo:
    """A bill as the biller states it. ``amount`` is None for an open-amount bill, which
    the payer may pay with any amount from ``min_amount`` to ``max_amount``."""

    bill_id: str
    number: str
    category: str
    description: str
    payer_name: str
    amount: int | None
    min_amount: int | None
    max_amount: int | None
    due_date: dt.date
    paid: bool

    @property
    def is_open_amount(self) -> bool:
        return self.amount is None

    def as_session(self) -> dict:
        data = asdict(self)
        data["due_date"] = self.due_date.isoformat()
        return data

    @classmethod
    def from_session(cls, data: dict) -> BillInfo:
        return cls(**{**data, "due_date": dt.date.fromisoformat(data["due_date"])})


class BillerGateway(Protocol):
    def bill_lookup(self, *, biller: Biller, number: str, confirmation: str | None,
                    category: str) -> BillInfo | None:
        """The bill these numbers identify, or None when they identify none (a wrong
        number or 確認番号 — the answer never says which). ``confirmation`` None means the
        request is already authenticated by the biller (a signed 情報リンク)."""

    def payment_report(self, *, biller: Biller, bill_id: str, amount: int, reference: str) -> None:
        """Tell the biller the bill is paid (消込). Called inside the posting's transaction:
        if it raises, nothing is posted."""


class SimulatorGateway:
    """The documented biller simulator. Bills live in ``payeasy.Bill``; a biller whose
    ``simulation`` is 「応答なし」 raises ``GatewayUnavailable`` as a dead line would.

    * private billers: the お客様番号 identifies the customer of the biller; the oldest
      unpaid bill of that number is returned (a paid one when nothing is unpaid);
    * public billers: 納付番号 + 確認番号 (+ 納付区分 where used) identify one bill.
    """

    def _check_line(self, biller: Biller) -> None:
        if biller.simulation == Biller.Simulation.DOWN:
            raise GatewayUnavailable(f"simulated biller {biller.number} is down")

    def bill_lookup(self, *, biller, number, confirmation, category):
        self._check_line(biller)
        bills = Bill.objects.filter(biller=biller, number=number)
        if biller.uses_confirmation and confirmation is not None:
            bills = bills.filter(confirmation=confirmation)
        if biller.uses_category:
            bills = bills.filter(category=category)
        # unpaid first, then the oldest due date
        bill = (bills.order_by(_paid_last(), "due_date", "id").first())
        if bill is None:
            return None
        return BillInfo(
            bill_id=str(bill.pk), number=bill.number, category=bill.category,
            description=bill.description, payer_name=bill.payer_name, amount=bill.amount,
            min_amount=bill.min_amount, max_amount=bill.max_amount, due_date=bill.due_date,
            paid=bill.status != Bill.Status.OPEN,
        )

    def payment_report(self, *, biller, bill_id, amount, reference):
        self._check_line(biller)
        Bill.objects.filter(biller=biller, pk=int(bill_id)).update(status=Bill.Status.PAID)


def _paid_last():
    from django.db.models import Case, IntegerField, Value, When

    return Case(When(status=Bill.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())


def gateway() -> BillerGateway:
    """The configured gateway (``settings.PAYEASY_GATEWAY``, a dotted path)."""
    return import_string(settings.PAYEASY_GATEWAY)()
