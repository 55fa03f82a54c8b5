"""Staff admin of 予約振込 (issue 9): scheduled transfers by date and state, the day's batch
summary (振込済, 未処理 by reason, amounts) and a re-run of a day — safe, because the batch
takes only transfers still ``scheduled`` — audited with the staff user as actor."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.admin import ReadOnlyAdmin, yen
from accounts.templatetags.accounts_format import japanese_date, payee_place
from cosei_ib import bankcalendar
from cosei_ib.textinput import typed_date
from security.audit import audit_record

from security.customer_admin import ReasonForm

from .admin_display import TRACING_FIELDS, TransferDisplayMixin, transfer_fields, transfer_fieldsets
from .errors import TransferRefused
from .models import RETURN_RELATED, ScheduledTransfer, Transfer
from .scheduled import batch_summary, scheduled_transfer_staff_cancel, transfers_execute_due

RUN_PERMISSION = "transfers.run_transfer_batch"
CANCEL_PERMISSION = "transfers.cancel_scheduled_transfer"
CANCEL_NOTE = ("お客様のお申し出（IB取引中止の後など、お客様がログインして取り消せない場合）により、"
               "この予約振込を取り消します。お客様にはEメールでお知らせします。")


RUN_DAY_REFUSED = "振込日には本日以前の日付を {example} の形で入力してください（何も実行していません）。"


SUMMARY_DAY_UNREAD = ("指定された振込日は日付として読み取れないため、本日（{today}）の実行結果を表示しています。"
                      "振込日は {today} のように年-月-日で指定してください。")


def _day_from(text: str, today: dt.date) -> dt.date:
    return typed_date(text) or today


class TransferDayFilter(admin.SimpleListFilter):
    """振込日 for transfers that are by definition ahead (walk25 F10): Django's date filter
    offered only 今日 / 過去7日間 / 今月 / 今年."""

    title = "振込日"
    parameter_name = "transfer_day"
    DAYS = {"today": (0, 1), "tomorrow": (1, 2), "next7": (0, 8), "past7": (-7, 1)}

    def lookups(self, request, model_admin):
        return [("today", "今日"), ("tomorrow", "明日"), ("next7", "今後7日間"), ("past7", "過去7日間")]

    def queryset(self, request, queryset):
        if self.value() not in self.DAYS:
            return queryset
        start, end = self.DAYS[self.value()]
        today = bankcalendar.local_now().date()
        return queryset.filter(transfer_date__gte=today + dt.timedelta(days=start),
                               transfer_date__lt=today + dt.timedelta(days=end))


@admin.register(ScheduledTransfer)
class ScheduledTransferAdmin(TransferDisplayMixin, ReadOnlyAdmin):
    # 取消 beside the state: at the end it sat past the table's right edge (scrolled away).
    # Seven columns, so that beside the navigation sidebar and the filters (1280 pixels) the
    # list does not scroll sideways (twelve pushed 金融機関 onwards 466 pixels out of sight):
    # the state with 取消 under it, the payee in one column as on 振込's list, the fee under
    # the amount; 受付日時 and 実行日時 on the detail page.
    list_display = ["id", "transfer_date", "status_and_cancel", "unprocessed_reason", "customer",
                    "payee_account", "amount_and_fee"]
    list_filter = ["status", "unprocessed_reason", TransferDayFilter]
    search_fields = ["customer__contract_id", "holder_kana", "account_number"]
    date_hierarchy = "transfer_date"
    list_select_related = ["customer", RETURN_RELATED]
    search_help_text = "契約者ID・受取人名（カナ）・口座番号・確認IDで検索"
    fieldsets = transfer_fieldsets(extra=("cancel_link",))
    readonly_fields = transfer_fields(extra=("cancel_link",)) + TRACING_FIELDS
    change_list_template = "admin/transfers/scheduledtransfer/change_list.html"

    def get_urls(self):
        return [path("run/", self.admin_site.admin_view(self.run_view), name="transfers_scheduled_run"),
                path("<path:object_id>/cancel/", self.admin_site.admin_view(self.cancel_view),
                     name="transfers_scheduled_cancel"),
                *super().get_urls()]

    @admin.display(description="窓口での取消")
    def cancel_link(self, transfer):
        """Only on a transfer still waiting (the view checks the permission and the state);
        a cancelled one says so (「—」 there read as "not cancelled")."""
        if transfer.status == Transfer.Status.CANCELLED:
            return "取消済"
        if transfer.status != Transfer.Status.SCHEDULED:
            return "—"
        return format_html('<a href="{}">取消</a>', reverse("admin:transfers_scheduled_cancel", args=[transfer.pk]))

    @admin.display(description="状態", ordering="status")
    def status_and_cancel(self, transfer):
        """The state, and under a transfer still waiting its 取消 link (a column of its own
        said 「取消済」 again beside 「取消済」)."""
        if transfer.status != Transfer.Status.SCHEDULED:
            return self.status_text(transfer)  # with its 振込資金返却 (walk25 F22)
        return format_html("{}<br>{}", transfer.get_status_display(), self.cancel_link(transfer))

    @admin.display(description="振込金額・手数料", ordering="amount")
    def amount_and_fee(self, transfer):
        return format_html("{}<br>（手数料 {}）", yen(transfer.amount), yen(transfer.fee))

    def get_queryset(self, request):
        return super().get_queryset(request).filter(created_at__date__lt=F("transfer_date"))

    def cancel_view(self, request, object_id):
        """GET: the transfer and a reason; POST: cancel it (audited, mailed to the customer)."""
        if not request.user.has_perm(CANCEL_PERMISSION):
            messages.error(request, "予約振込の取消の権限がありません。")
            return redirect("admin:transfers_scheduledtransfer_changelist")
        transfer = self.get_object(request, unquote(object_id))
        if transfer is None:
            raise Http404("予約振込が見つかりません。")
        change_url = reverse("admin:transfers_scheduledtransfer_change", args=[transfer.pk])
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if transfer.status != Transfer.Status.SCHEDULED:
            messages.error(request, f"#{transfer.pk} は{transfer.get_status_display()}のため、取消できません。")
            return redirect(change_url)
        if form.is_valid():
            try:
                scheduled_transfer_staff_cancel(transfer_id=transfer.pk, reason=form.cleaned_data["reason"],
                                                actor=request.user.get_username())
            except TransferRefused as refused:
                messages.error(request, refused.message)
            else:
                day = japanese_date(transfer.transfer_date)
                messages.success(request, f"予約振込 #{transfer.pk}（振込日 {day}、{transfer.amount:,}円）"
                                          "を取り消しました。お客様にEメールでお知らせします。")
            return redirect(change_url)
        return TemplateResponse(request, "admin/accounts/customer/staff_action.html", {
            **self.admin_site.each_context(request), "title": "予約振込の取消（窓口）",
            "customer": transfer.customer, "note": CANCEL_NOTE, "form": form, "button": "予約振込を取り消す",
            "change_url": change_url, "opts": self.model._meta, "details": [
                f"予約振込 #{transfer.pk}　振込日 {japanese_date(transfer.transfer_date)}",
                f"振込先 {payee_place(transfer.bank_name, transfer.branch_name)} {transfer.get_account_type_display()} "
                f"{transfer.account_number} {transfer.holder_kana}",
                f"振込金額 {transfer.amount:,}円　手数料 {transfer.fee:,}円"],
        })

    def changelist_view(self, request, extra_context=None):
        today = bankcalendar.local_now().date()
        typed = request.GET.get("summary_date", "")
        day = _day_from(typed, today)
        if typed and typed_date(typed) is None:  # walk29: 2026-02-30 silently showed today's
            messages.warning(request, SUMMARY_DAY_UNREAD.format(today=today.isoformat()))
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
        day = typed_date(request.POST.get("day", ""))
        if day is None or day > today:
            # walk25 F17: abc, 9999-12-31, tomorrow or nothing ran today and reported that
            # as a success, with no word that the typed date was not used
            messages.error(request, RUN_DAY_REFUSED.format(example=today.isoformat()))
            return redirect("admin:transfers_scheduled_run")
        result = transfers_execute_due(day=day)
        # isoformat, not %Y: year 26 prints as "26" with %Y, which the list cannot read back
        summary = (f"{day.isoformat()} 以前を再実行: 振込済 {result.executed}件 未処理 {result.unprocessed}件")
        audit_record(action="transfer_batch", outcome="success", actor=request.user.get_username(), summary=summary)
        messages.success(request, summary)
        return redirect(reverse("admin:transfers_scheduledtransfer_changelist") + f"?summary_date={day.isoformat()}")
