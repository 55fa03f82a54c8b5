from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from accounts.admin import ReadOnlyAdmin
from accounts.models import Customer
from notifications.admin import OutboxMessageAdmin

from .audit import ACTION_LABELS, action_label, audit_local_time, client_ip, summary_label
from .customer_admin import CustomerAdmin, ReasonForm
from .models import AuditEvent, CredentialLockChange, Passkey, StaffLoginCounter
from .passkeys import passkeys_staff_reset
from .staff_admin import staff_login_unlock

admin.site.register(Customer, CustomerAdmin)


class ActionFilter(admin.SimpleListFilter):
    """操作 by its Japanese label (the codes are for the log, not for staff)."""

    title = "操作"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return sorted(ACTION_LABELS.items(), key=lambda item: item[1])

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The customers' operation log, read-only (STAFF-1, SEC-13)."""

    # Short columns, so that none is squeezed to one character per line beside the
    # navigation sidebar and the filters (1280 pixels; static/css/admin.css), and the list
    # does not scroll sideways: who and from where share one column. Times in the bank's
    # zone (Asia/Tokyo) to the second; actions by their Japanese label, never the code, on
    # the list and on the detail page alike.
    list_display = ["local_time", "contract_id", "action_label", "outcome", "summary_text",
                    "actor_and_ip"]
    list_display_links = ["local_time"]
    list_filter = ["outcome", ActionFilter]
    search_fields = ["contract_id"]
    search_help_text = "契約者IDで検索"
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ["local_time", "customer", "contract_id", "action_label", "outcome", "summary_text", "actor",
              "client_ip", "recorded_at"]
    readonly_fields = fields

    @admin.display(description="日時（日本時間）", ordering="created_at")
    def local_time(self, event):
        return audit_local_time(event)

    @admin.display(description="操作", ordering="action")
    def action_label(self, event):
        return action_label(event.action)

    @admin.display(description="操作者・IPアドレス")
    def actor_and_ip(self, event):
        shown = [(value,) for value in (event.actor, event.client_ip) if value]
        return format_html_join(mark_safe("<br>"), "{}", shown) if shown else "-"

    @admin.display(description="内容", ordering="summary")
    def summary_text(self, event):
        return summary_label(event.summary)


class LockedFilter(admin.SimpleListFilter):
    """変更 in staff's words (not はい／いいえ of a boolean)."""

    title = "変更"
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("1", "ロック"), ("0", "ロック解除")]

    def queryset(self, request, queryset):
        return queryset.filter(locked=self.value() == "1") if self.value() in ("0", "1") else queryset


@admin.register(CredentialLockChange)
class CredentialLockChangeAdmin(ReadOnlyAdmin):
    """ロック履歴 (SEC-8, SEC-13, dbprobe29 F7): what the database recorded at each lock and
    lift of a customer's credential (security 0013) — by the services or not (the DB user
    and transaction say which connection; the 操作ログ of that time shows the lockout or
    unlock beside it) — for a customer who phones that they were locked out."""

    list_display = ["changed_at", "contract_id_and_name", "kind", "locked_label", "failures", "db_user"]
    list_select_related = ["customer"]
    list_filter = ["kind", LockedFilter]
    search_fields = ["customer__contract_id"]
    search_help_text = "契約者IDで検索"
    date_hierarchy = "changed_at"
    show_full_result_count = False
    fields = ["customer", "kind", "locked_label", "failures", "changed_at", "db_user", "xact_id"]
    readonly_fields = fields
    contract_id_and_name = OutboxMessageAdmin.contract_id_and_name

    @admin.display(description="変更", ordering="locked")
    def locked_label(self, change):
        return "ロック" if change.locked else "ロック解除"


@admin.register(StaffLoginCounter)
class StaffLoginCounterAdmin(ReadOnlyAdmin):
    """Admin login locks of staff users (SEC-8, STAFF-1): read-only; a superuser lifts a
    lock with the 「ロック解除」 action, which is audited. Branch staff have no permission
    here, so they cannot unlock each other."""

    list_display = ["user", "failures", "locked_at"]
    list_filter = [("locked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username"]
    actions = ["staff_login_unlock"]

    def has_unlock_permission(self, request) -> bool:
        return request.user.is_superuser

    @admin.action(description="ロック解除", permissions=["unlock"])
    def staff_login_unlock(self, request, queryset):
        counters = list(queryset)
        for counter in counters:
            staff_login_unlock(counter=counter, by=request.user.get_username(),
                               ip=client_ip(request))
        self.message_user(request, f"{len(counters)}件のロックを解除しました。", messages.SUCCESS)


@admin.register(Passkey)
class PasskeyAdmin(ReadOnlyAdmin):
    """Customers' passkeys (SEC-16), read-only — no key material is shown. A customer who
    lost every passkey is helped with 「パスキーを一括削除」 (with a reason, audited,
    mailed), which also ends 「パスキーでのみログイン」, as for a lost image card."""

    list_display = ["customer", "name", "created_at", "last_used_at"]
    fields = ["customer", "name", "created_at", "last_used_at", "sign_count"]
    search_fields = ["customer__contract_id", "customer__name_kana"]
    search_help_text = "契約者IDまたはカナ氏名で検索"
    actions = ["passkeys_reset"]

    def has_reset_permission(self, request) -> bool:
        return request.user.has_perm("security.reset_passkeys")

    @admin.action(description="選択したお客様のパスキーを一括削除（パスキーでのみログインを解除）",
                  permissions=["reset"])
    def passkeys_reset(self, request, queryset):
        customers = list(Customer.objects.filter(passkeys__in=queryset).distinct().order_by("contract_id"))
        reason = request.POST.get("reason", "").strip()
        error = ""
        if "apply" in request.POST:
            form = ReasonForm({"reason": reason})  # the check of every staff reason (walk27 F6)
            if not form.is_valid():
                error = form.errors["reason"][0]
            else:
                reason = form.cleaned_data["reason"]
                for customer in customers:
                    passkeys_staff_reset(customer=customer, reason=reason, actor=request.user.get_username())
                self.message_user(request, f"{len(customers)}名のお客様のパスキーを削除しました。",
                                  messages.SUCCESS)
                return None
        return TemplateResponse(request, "admin/security/passkey/reset.html", {
            **self.admin_site.each_context(request), "title": "パスキーの一括削除",
            "customers": customers, "queryset": queryset, "error": error, "reason": reason,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "opts": self.model._meta,
        })
