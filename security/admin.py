from django.contrib import admin

from accounts.admin import ReadOnlyAdmin

from .audit import ACTION_LABELS
from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The customers' operation log, read-only (STAFF-1, SEC-13)."""

    list_display = ["created_at", "contract_id", "action_label", "outcome", "summary", "client_ip", "actor"]
    list_filter = ["outcome", "action"]
    search_fields = ["contract_id"]
    search_help_text = "契約者IDで検索"
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="操作")
    def action_label(self, event):
        return ACTION_LABELS.get(event.action, event.action)
