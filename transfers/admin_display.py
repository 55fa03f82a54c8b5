"""How the transfer admins show a transfer (STAFF-1): amounts as staff read them
(「12,345円」, not 12345), on the list and on the read-only detail page; the 確認ID (the
step-up that confirmed it, a UUID) under 「取引認証（追跡用）」 with how and when the customer
confirmed, and what the ID is for — it stood among the transfer's fields, unexplained."""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from accounts.admin import yen
from security.models import StepUp

from .models import Transfer

# amounts as yen; the state with a 振込資金返却 (walk25 F22: 「振込済」 read on after the return)
_AS_SHOWN = {"amount": "amount_yen", "fee": "fee_yen", "status": "status_text"}
TRACING_FIELDS = ["stepup_summary", "confirmation_id"]  # 取引認証 and its 確認ID, in their own section
CONFIRMATION_HELP = ("お客様が確認画面で行った取引認証です。確認IDは、この振込を操作ログやシステム部門への照会で"
                     "特定するための番号です（お客様にお伝えする番号ではありません）。一覧の検索欄に確認IDを"
                     "入れると、この振込が見つかります。")


def transfer_fields(*, extra: tuple[str, ...] = ()) -> list[str]:
    """Every field of a transfer, in the model's order, the amounts as yen, the 確認ID
    (a UUID) left to its own section (``transfer_fieldsets``)."""
    return [_AS_SHOWN.get(field.name, field.name) for field in Transfer._meta.fields
            if field.name != "stepup_id"] + list(extra)


def transfer_fieldsets(*, extra: tuple[str, ...] = ()) -> list:
    """The detail page: the transfer, then 「取引認証（追跡用）」 — how the customer confirmed
    it, and the 確認ID in full (to copy for a trace) with what it is for (STAFF-1)."""
    return [(None, {"fields": transfer_fields(extra=extra)}),
            ("取引認証（追跡用）", {"fields": TRACING_FIELDS, "description": CONFIRMATION_HELP})]


class TransferDisplayMixin:
    @admin.display(description="振込金額", ordering="amount")
    def amount_yen(self, transfer):
        return yen(transfer.amount)

    @admin.display(description="手数料", ordering="fee")
    def fee_yen(self, transfer):
        return yen(transfer.fee)

    @admin.display(description="状態", ordering="status")
    def status_text(self, transfer):
        return transfer.status_text(with_reason=False)

    @admin.display(description="振込先")
    def payee_account(self, transfer):
        return " ".join((transfer.bank_name, transfer.branch_name, transfer.get_account_type_display(),
                         transfer.account_number, transfer.holder_kana))

    @admin.display(description="手数料", ordering="fee")
    def fee_and_bearer(self, transfer):
        if transfer.fee_borne_by_payee:  # on its own line: the column stays narrow
            return format_html("{}<br>（先方負担）", yen(transfer.fee))
        return yen(transfer.fee)

    @admin.display(description="認証方法・認証日時")
    def stepup_summary(self, transfer):
        stepup = StepUp.objects.filter(pk=transfer.stepup_id).only("method", "verified_at").first()
        if stepup is None:
            return "—"
        when = f"{timezone.localtime(stepup.verified_at):%Y/%m/%d %H:%M:%S}" if stepup.verified_at else "—"
        return f"{stepup.get_method_display()}（{when}）"

    @admin.display(description="確認ID")
    def confirmation_id(self, transfer):
        # in full: a trace needs every character (a shortened one with the rest in a
        # tooltip cannot be copied on a tablet); monospace, so 0/O and 1/l read apart
        return format_html('<code class="confirmation-id">{}</code>', transfer.stepup_id)

    def get_search_results(self, request, queryset, search_term):
        """A 確認ID typed in the search box finds its transfer (the usual fields are searched
        too); anything else searches as before."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            key = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(stepup_id=key), may_have_duplicates
