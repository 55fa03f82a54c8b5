"""Staff admin for Pay-easy (PAY-2): billers and the simulator's bills are editable;
payments are read-only (a payment is never changed or cancelled)."""

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin, StaffModelAdmin

from .models import Bill, Biller, EntryFailureCounter, LinkNonce, Payment


@admin.register(Biller)
class BillerAdmin(StaffModelAdmin):
    list_display = ["number", "name", "kind", "uses_confirmation", "uses_category", "amount_type",
                    "simulation", "is_active"]
    list_filter = ["kind", "is_active", "simulation"]
    search_fields = ["number", "name"]
    fieldsets = [
        (None, {"fields": ["number", "name", "kind", "is_active"]}),
        ("お客様が入力する項目", {"fields": ["uses_confirmation", "uses_category", "amount_type"]}),
        ("情報リンク・シミュレーター", {"fields": ["link_secret", "simulation"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # the number is what payments refer to; a new number is a new biller
        return ["number"] if obj is not None and obj.payments.exists() else []


@admin.register(Bill)
class BillAdmin(StaffModelAdmin):
    list_display = ["biller", "number", "category", "description", "amount", "min_amount", "max_amount",
                    "due_date", "status"]
    list_filter = ["status", "biller"]
    search_fields = ["number", "description", "payer_name"]
    list_select_related = ["biller"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["reference", "paid_at", "customer", "biller", "number", "description", "amount",
                    "via_link"]
    list_filter = ["biller", "via_link"]
    search_fields = ["reference", "customer__contract_id", "number"]
    date_hierarchy = "paid_at"
    list_select_related = ["customer", "biller"]


@admin.register(EntryFailureCounter)
class EntryFailureCounterAdmin(ReadOnlyAdmin):
    list_display = ["day", "customer", "failures"]
    list_select_related = ["customer"]
    search_fields = ["customer__contract_id"]


@admin.register(LinkNonce)
class LinkNonceAdmin(ReadOnlyAdmin):
    list_display = ["used_at", "biller", "nonce", "customer"]
    list_select_related = ["biller", "customer"]
