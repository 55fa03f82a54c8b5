"""Staff view of customer mail (NOTE-3, STAFF-1): every outbox message by customer and
event, read-only; failed ones can be sent again (audited); and the database's record of
every change of a customer's registered address and of the notices chosen (NOTE-2),
read-only."""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts.admin import ReadOnlyAdmin

from .models import EmailAddressChange, NoticePreferenceChange, OutboxMessage
from .services import SUBJECTS, outbox_retry

HIDDEN_BODY = "（確認コードを含むため表示しません）"


class EventFilter(admin.SimpleListFilter):
    title = "種類"
    parameter_name = "event"

    def lookups(self, request, model_admin):
        return sorted(SUBJECTS.items(), key=lambda item: item[1])

    def queryset(self, request, queryset):
        return queryset.filter(event=self.value()) if self.value() else queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    # Five columns, so that beside the navigation sidebar and the filters (1280 pixels) 種類
    # is not squeezed to one character per line and the list does not scroll sideways (eight
    # did both, 182 pixels): who in one column; 送信試行回数 and 送信日時 on the message's page
    list_display = ["created_at", "contract_id_and_name", "event_label", "to", "status"]
    list_filter = ["status", EventFilter]
    list_select_related = ["customer"]
    search_fields = ["customer__contract_id"]
    search_help_text = "契約者IDで検索"
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ["customer", "event_label", "to", "subject", "body_shown", "status", "attempts",
              "next_attempt_at", "created_at", "sent_at"]
    readonly_fields = fields
    actions = ["retry_failed"]

    @admin.display(description="契約者", ordering="customer__contract_id")
    def contract_id_and_name(self, message):
        return format_html("{}<br>{}", message.customer.contract_id, message.customer.name_kanji)

    @admin.display(description="種類", ordering="event")
    def event_label(self, message):
        return message.event_label

    @admin.display(description="本文")
    def body_shown(self, message):
        # the address-change code is the customer's alone, not the branch's
        return HIDDEN_BODY if message.event == "email_verify" else message.body

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("notifications.retry_outboxmessage")

    @admin.action(description="送信失敗のメールを再送する", permissions=["retry"])
    def retry_failed(self, request, queryset):
        count = outbox_retry(messages=list(queryset), actor=request.user.get_username())
        if count:
            self.message_user(request, f"{count}件のメールを再送します。", messages.SUCCESS)
        else:
            self.message_user(request, "再送できるのは「送信失敗」のメールだけです。", messages.WARNING)


@admin.register(EmailAddressChange)
class EmailAddressChangeAdmin(ReadOnlyAdmin):
    """アドレス変更履歴 (NOTE-2, dbprobe25 F5): what the database recorded at each change of a
    customer's address — through Ｅメール設定 or not (the DB user and transaction say which
    connection) — for a customer who phones that mail goes elsewhere."""

    list_display = ["changed_at", "contract_id_and_name", "old_email", "new_email", "db_user"]
    list_select_related = ["customer"]
    search_fields = ["customer__contract_id"]
    search_help_text = "契約者IDで検索"
    date_hierarchy = "changed_at"
    show_full_result_count = False
    fields = ["customer", "old_email", "new_email", "changed_at", "db_user", "xact_id"]
    readonly_fields = fields
    contract_id_and_name = OutboxMessageAdmin.contract_id_and_name


@admin.register(NoticePreferenceChange)
class NoticePreferenceChangeAdmin(ReadOnlyAdmin):
    """通知設定の変更履歴 (NOTE-2, dbprobe25 F5): what the database recorded at each change of
    the notices a customer chose — 入出金のお知らせ turned off through Ｅメール設定 or not (the
    DB user and transaction say which connection) — for a customer who phones that a
    withdrawal came with no mail. Beside アドレス変更履歴, read-only."""

    list_display = ["changed_at", "contract_id_and_name", "changes_shown", "db_user"]
    ordering = ["-changed_at", "-id"]
    list_select_related = ["customer"]
    search_fields = ["customer__contract_id"]
    search_help_text = "契約者IDで検索"
    date_hierarchy = "changed_at"
    show_full_result_count = False
    fields = ["customer", "changes_shown", "postings_before", "postings_after", "receipts_before",
              "receipts_after", "login_before", "login_after", "changed_at", "db_user", "xact_id"]
    readonly_fields = fields
    contract_id_and_name = OutboxMessageAdmin.contract_id_and_name

    @admin.display(description="変更内容")
    def changes_shown(self, change):
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in change.changes()))  # noqa: S308 - a constant
