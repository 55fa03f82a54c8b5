"""How the transfer admins show a transfer (STAFF-1): amounts as staff read them
(「12,345円」, not 12345), on the list and on the read-only detail page."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin import yen

from .models import Transfer

_AS_YEN = {"amount": "amount_yen", "fee": "fee_yen"}


def transfer_fields(*, extra: tuple[str, ...] = ()) -> list[str]:
    """Every field of a transfer, in the model's order, the amounts as yen."""
    return [_AS_YEN.get(field.name, field.name) for field in Transfer._meta.fields] + list(extra)


class TransferYenMixin:
    @admin.display(description="振込金額", ordering="amount")
    def amount_yen(self, transfer):
        return yen(transfer.amount)

    @admin.display(description="手数料", ordering="fee")
    def fee_yen(self, transfer):
        return yen(transfer.fee)
