"""Staff admin of 予約振込 (issue 9): scheduled transfers by date and state, the day's batch
summary (振込済, 未処理 by reason, amounts) and a re-run of a day — safe, because the batch
takes only transfers still ``scheduled`` — audited with the staff user as actor."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.db.models import F
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.admin import ReadOnlyAdmin
from cosei_ib import bankcalendar
from security.audit import audit_record

from .models import ScheduledTransfer
from .scheduled import batch_summary, transfers_execute_due

RUN_PERMISSION = "transfers.run_transfer_batch"


def _day_from(text: str, today: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(text[:10]) if text else today
    except ValueError:
        return today


@admin.register(ScheduledTransfer)
class ScheduledTransferAdmin(ReadOnlyAdmin):
    list_display = ["id", "transfer_date", "status", "unprocessed_reason", "customer", "bank_name",
                    "holder_kana", "amount", "fee", "created_at", "executed_at"]
    list_filter = ["status", "unprocessed_reason", "transfer_date"]
    search_fields = ["customer__contract_id", "holder_kana", "account_number"]
    date_hierarchy = "transfer_date"
    list_select_related = ["customer"]
    readonly_fields = [field.name for field in ScheduledTransfer._meta.fields]
    change_list_template = "admin/transfers/scheduledtransfer/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(created_at__date__lt=F("transfer_date"))

    def get_urls(self):
        return [path("run/", self.admin_site.admin_view(self.run_view), name="transfers_scheduled_run"),
                *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        today = bankcalendar.local_now().date()
        day = _day_from(request.GET.get("summary_date", ""), today)
        if "summary_date" in request.GET:  # ours, not a filter of the list (admin refuses those)
            query = request.GET.copy()
            query.pop("summary_date")
            request.GET = query
        audit_record(action="staff_transfer_view", outcome="success", actor=request.user.get_username(),
                     summary=f"予約振込一覧 {day:%Y-%m-%d}")
        rows = batch_summary(day)
        extra = {"summary_day": day, "summary_rows": rows, "today": today,
                 "may_run": request.user.has_perm(RUN_PERMISSION)}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def run_view(self, request):
        """POST: run the batch for a day (default today) by hand; GET shows the form."""
        if not request.user.has_perm(RUN_PERMISSION):
            messages.error(request, "予約振込の再実行の権限がありません。")
            return redirect("admin:transfers_scheduledtransfer_changelist")
        today = bankcalendar.local_now().date()
        if request.method != "POST":
            return TemplateResponse(request, "admin/transfers/scheduledtransfer/run.html", {
                **self.admin_site.each_context(request), "today": today, "title": "予約振込の再実行"})
        day = min(_day_from(request.POST.get("day", ""), today), today)
        result = transfers_execute_due(day=day)
        summary = (f"{day:%Y-%m-%d} 以前を再実行: 振込済 {result.executed}件 未処理 {result.unprocessed}件")
        audit_record(action="transfer_batch", outcome="success", actor=request.user.get_username(), summary=summary)
        messages.success(request, summary)
        return redirect(reverse("admin:transfers_scheduledtransfer_changelist") + f"?summary_date={day:%Y-%m-%d}")
