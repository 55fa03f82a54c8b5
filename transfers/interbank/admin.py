"""Staff admin of the interbank exchange (XFER-12): the day's 仕向 file (check, create,
download), 振込資金返却, and the upload of 被仕向 files with their 入金不能 records. The
actions need ``transfers.exchange_interbank``; each is audited by its service."""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode

from accounts.admin import ReadOnlyAdmin, yen_column
from accounts.models import Account
from cosei_ib import bankcalendar
from cosei_ib.textinput import ascii_int
from security.customer_admin import ReasonForm
from transfers.errors import TransferRefused
from transfers.models import (
    InterbankIncomingFile,
    InterbankIncomingRecord,
    InterbankOutgoingFile,
    InterbankReturn,
)

from . import services
from .forms import (
    BusinessDayForm,
    IncomingUploadForm,
    OutgoingReturnConfirmForm,
    OutgoingReturnForm,
    return_confirm_token,
)
from .selectors import held_release_list
from .zengin_file import ZenginFileError

PERMISSION = "transfers.exchange_interbank"
HELD_MESSAGE = ("他のファイルで取り込んだ振込と同じ明細があるため、入金せずに入金保留にしました"
                "（二重入金の防止）。仕向金融機関に確認のうえ、別の振込であれば振込入金明細で"
                "「選択した入金保留の明細を入金する」、同じ振込の重複であれば「返却済にする」を選んでください：")
HELD_LARGE_MESSAGE = ("{limit:,}円を超える振込は、入金せずに入金保留にしました（大口の確認）。仕向金融機関に金額と受取人を"
                      "確認のうえ、正しければ振込入金明細で「選択した入金保留の明細を入金する」、誤りであれば"
                      "「返却済にする」を選んでください：")
RETURN_DONE = ("振込資金返却を登録しました：データ番号 {number}（{customer}、受取人 {payee}）の{amount:,}円を"
               "ご依頼人の口座 {account} に入金しました（返却理由：{reason}）。")
# walk27 F4: the second of two tabs releasing (or returning) the same record
ALREADY_CREDITED_RECORDS = "{records}は既に入金済みです（{nothing}。二重には入金していません）。"
# walk31 F4: the same step from another tab said neither who nor when, and dropped the
# 返却理由 just typed without a word
ALREADY_RETURNED_RECORDS = "{records}は既に返却済です（{nothing}。今回入力された返却理由は記録していません）。"
RETURN_TWICE = "この振込は既に返却済みです。二重には返却していません（登録済みの返却を表示しています）。"
# walk30 F4: the other of 入金する / 返却済にする won the race (another tab or staff member)
ENDED_OTHERWISE = "{record}は、別の画面（または別の職員）で既に{status}になっています（{who}）。この明細には何もしていません。"


def _ended_by_staff(record: InterbankIncomingRecord) -> str:
    """Who returned the record, or released it from 入金保留, and when (「staff01、2026年12月8日
    00:27」; credited at upload: '')."""
    if record.status == InterbankIncomingRecord.Status.RETURNED:
        who, when = record.returned_by, record.returned_at
    elif record.status == InterbankIncomingRecord.Status.CREDITED:
        who, when = record.released_by, record.released_at
    else:
        return ""
    if who and when is not None:  # returned or released before transfers 0038: no time kept
        # as the record's page writes it (「2:58」, Django's DATETIME_FORMAT), not 「02:58」 (walk31 F4)
        return f"{who}、{date_format(timezone.localtime(when), 'DATETIME_FORMAT')}"
    return who


def _require(request) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def _account_type_name(record: InterbankIncomingRecord) -> str:
    return dict(Account.Type.choices).get(record.account_type, record.account_type)


def _payee_account(record: InterbankIncomingRecord) -> str:
    """「003-普通-1234567」: the account a 被仕向 record names, its 預金種目 in words."""
    return f"{record.branch_code}-{_account_type_name(record)}-{record.account_number}"


def _context(model_admin, request, title: str, **extra) -> dict:
    return {**model_admin.admin_site.each_context(request), "title": title, "opts": model_admin.model._meta,
            **extra}


@admin.register(InterbankOutgoingFile)
class InterbankOutgoingFileAdmin(ReadOnlyAdmin):
    # on the list the button without the file name, and 作成日時 on the page only, so that
    # the list does not scroll sideways beside the sidebar at 1280 pixels (it did, 297 pixels)
    list_display = ["id", "business_day", "record_count", "total_yen", "settlement_yen", "created_by",
                    "download_button"]
    list_filter = ["business_day"]
    fields = ["id", "business_day", "record_count", "total_yen", "settlement_yen", "sha256", "created_by",
              "created_at", "download_link"]
    readonly_fields = fields
    change_list_template = "admin/transfers/interbank/outgoing_change_list.html"
    total_yen = yen_column(InterbankOutgoingFile, "total_amount")
    settlement_yen = yen_column(InterbankOutgoingFile, "settlement_amount")

    @admin.display(description="ダウンロード")
    def download_link(self, file):
        return format_html('<a class="button" href="{}">ダウンロード（{}）</a>',
                           reverse("admin:transfers_interbank_download", args=[file.pk]), file.filename)

    @admin.display(description="ダウンロード")
    def download_button(self, file):
        return format_html('<a class="button" href="{}" title="{}">ダウンロード</a>',
                           reverse("admin:transfers_interbank_download", args=[file.pk]), file.filename)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("exchange/", view(self.exchange_view), name="transfers_interbank_exchange"),
            path("<int:pk>/download/", view(self.download_view), name="transfers_interbank_download"),
            path("return/", view(self.return_view), name="transfers_interbank_return"),
        ] + super().get_urls()

    def exchange_view(self, request):
        """仕向: the day's pending transfers with the 為替決済 check; POST writes the file."""
        _require(request)
        # on a holiday the day's transfers settle on the next business day (docs/interbank.md):
        # that file is the one staff can make, not an empty list for the holiday (walk22)
        settles = bankcalendar.settlement_day(bankcalendar.local_now().date())
        form = BusinessDayForm(request.POST if request.method == "POST" else (request.GET or {"day": settles}))
        pending, total, settled = [], 0, 0
        if form.is_valid():
            day = form.cleaned_data["day"]
            if request.method == "POST":
                try:
                    file = services.outgoing_file_create(day=day, staff=request.user.get_username())
                except TransferRefused as refused:
                    messages.error(request, refused.message)
                else:
                    messages.success(request, f"{file}を作成しました。ダウンロードしてください。")
                    for held in services.outgoing_held_messages(services.outgoing_pending(day)):
                        messages.warning(request, held)
                    return redirect("admin:transfers_interbankoutgoingfile_change", file.pk)
            pending = list(services.outgoing_pending(day).select_related("transfer"))
            for held in services.outgoing_held_messages(pending) if request.method == "GET" else ():
                messages.warning(request, held)
            total = sum(record.amount for record in pending)
            settled = services._settled_amount(pending)
        context = _context(self, request, "仕向ファイルの作成（他行宛振込）", form=form, pending=pending, total=total,
                           settled=settled, matches=settled == total,
                           business_day=bankcalendar.is_business_day(form.cleaned_data["day"])
                           if form.is_valid() else True)
        return TemplateResponse(request, "admin/transfers/interbank/exchange.html", context)

    def download_view(self, request, pk):
        _require(request)
        file = get_object_or_404(InterbankOutgoingFile, pk=pk)
        content = services.outgoing_file_download(file=file, staff=request.user.get_username())
        response = HttpResponse(content, content_type="text/plain; charset=Shift_JIS")
        response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
        return response

    def return_view(self, request):
        """振込資金返却: the receiving bank refused a transfer (口座なし, 名義相違 …). A return
        credits the customer for good and is one per record, so a typed データ番号 first shows
        the record (customer, 受取人, 振込先, 決済日, amount, reason); only the confirm page's
        own submit, bound to that record (OutgoingReturnConfirmForm), posts (walk26 F3)."""
        _require(request)
        staff = request.user.get_username()
        if request.method == "POST" and "token" in request.POST:
            return self._return_confirmed(request, staff)
        form = OutgoingReturnForm(request.POST or None, initial=request.GET.dict())
        if request.method == "POST" and form.is_valid():
            outgoing, reason = form.cleaned_data["number"], form.cleaned_data["reason"]
            confirm = OutgoingReturnConfirmForm(staff=staff, initial={
                "number": outgoing.pk, "reason": reason,
                "token": return_confirm_token(outgoing=outgoing, reason=reason, staff=staff)})
            return self._return_confirm_page(request, confirm, outgoing, reason)
        return self._return_input_page(request, form)

    def _return_input_page(self, request, form):
        context = _context(self, request, "振込資金返却の登録", form=form, button="確認画面へ",
                           note="次の画面で返却する振込の内容（お客さま・受取人・振込先・決済日・金額）を確認してから登録します。",
                           change_url=reverse("admin:transfers_interbankreturn_changelist"))
        return TemplateResponse(request, "admin/accounts/customer/staff_action.html", context)

    def _return_confirm_page(self, request, confirm, outgoing, reason):
        context = _context(self, request, "振込資金返却の確認", form=confirm, outgoing=outgoing,
                           transfer=outgoing.transfer, reason_label=InterbankReturn.Reason(reason).label,
                           account_type=dict(Account.Type.choices).get(outgoing.account_type, outgoing.account_type),
                           back_url=reverse("admin:transfers_interbank_return") + "?" + urlencode(
                               {"number": outgoing.pk, "reason": reason}))
        return TemplateResponse(request, "admin/transfers/interbank/return_confirm.html", context)

    def _return_confirmed(self, request, staff):
        confirm = OutgoingReturnConfirmForm(request.POST, staff=staff)
        if not confirm.is_valid():
            if confirm.has_error("number", code="returned"):  # a replay, or the other tab was first
                return self._already_returned(request, confirm.data.get("number"))
            form = OutgoingReturnForm(initial={"number": confirm.data.get("number"), "reason": confirm.data.get("reason")})
            for error in confirm.errors.values():
                for message in error:
                    messages.error(request, message)
            return self._return_input_page(request, form)
        outgoing, reason = confirm.cleaned_data["number"], confirm.cleaned_data["reason"]
        try:
            returned = services.outgoing_return(outgoing=outgoing, reason=reason, staff=staff)
        except TransferRefused as refused:
            if refused.message == services.ALREADY_RETURNED:
                return self._already_returned(request, outgoing.pk)
            messages.error(request, refused.message)
            return self._return_confirm_page(request, confirm, outgoing, reason)
        transfer = outgoing.transfer
        messages.success(request, RETURN_DONE.format(
            number=outgoing.pk, customer=transfer.customer, payee=outgoing.payee_kana, amount=returned.amount,
            account=transfer.debit_account, reason=returned.get_reason_display()))
        return redirect("admin:transfers_interbankreturn_change", returned.pk)

    def _already_returned(self, request, number):
        """The record's return, shown with RETURN_TWICE: what was done, once."""
        pk = number if isinstance(number, int) else ascii_int(number or "", max_digits=10)
        returned = InterbankReturn.objects.filter(outgoing_id=pk).first() if pk is not None else None
        messages.error(request, RETURN_TWICE)
        if returned is None:
            return redirect("admin:transfers_interbank_return")
        return redirect("admin:transfers_interbankreturn_change", returned.pk)


@admin.register(InterbankReturn)
class InterbankReturnAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "outgoing", "reason", "amount_yen", "created_by"]
    list_filter = ["reason"]
    fields = readonly_fields = ["outgoing", "reason", "amount_yen", "journal_text", "created_by", "created_at"]
    amount_yen = yen_column(InterbankReturn, "amount")
    change_list_template = "admin/transfers/interbank/return_change_list.html"

    # walk26 F13: the journal's own label said 「#21 振込 振込資金返却 …」 (its kind is the
    # ledger's 振込); what it is here is the return's credit, linked to the journal
    @admin.display(description="仕訳（返却の入金）")
    def journal_text(self, returned):
        return format_html('<a href="{}">仕訳 #{} {}</a>',
                           reverse("admin:accounts_journal_change", args=[returned.journal_id]),
                           returned.journal_id, returned.journal.description)


@admin.register(InterbankIncomingFile)
class InterbankIncomingFileAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "filename", "remitter_kana", "sending_bank_code", "record_count",
                    "total_yen", "status", "uploaded_by", "records_link"]
    fields = ["id", "filename", "sha256", "remitter_kana", "sending_bank_code", "record_count", "total_yen",
              "status", "uploaded_by", "created_at", "records_link"]
    total_yen = yen_column(InterbankIncomingFile, "total_amount")
    readonly_fields = fields
    change_list_template = "admin/transfers/interbank/incoming_change_list.html"

    @admin.display(description="明細")
    def records_link(self, file):
        url = reverse("admin:transfers_interbankincomingrecord_changelist")
        return format_html('<a href="{}?file__id__exact={}">明細を見る</a>', url, file.pk)

    def get_urls(self):
        return [path("upload/", self.admin_site.admin_view(self.upload_view), name="transfers_interbank_upload"),
                ] + super().get_urls()

    def upload_view(self, request):
        """被仕向: validate the whole file, then credit each record once."""
        _require(request)
        form = IncomingUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = services.incoming_file_upload(data=upload.read(), filename=upload.name,
                                                       staff=request.user.get_username())
            except ZenginFileError as refused:
                form.add_error("file", f"このファイルは取り込めません（何も入金していません）：{refused.message}")
            else:
                if result.already_done:
                    messages.warning(request, f"{result.file}は取込済みです。入金はしていません（二重入金はしません）。")
                else:
                    held = len(result.held) + len(result.held_large)
                    level = messages.WARNING if result.unapplied or held else messages.SUCCESS
                    messages.add_message(request, level, f"{result.file}を取り込みました："
                                         f"入金 {result.credited}件、入金不能 {result.unapplied}件"
                                         f"{'、入金保留 ' + str(held) + '件' if held else ''}"
                                         f"{'（ほか ' + str(result.elsewhere) + '件は別の取込で処理済み）' if result.elsewhere else ''}。")
                    if result.held:
                        messages.warning(request, HELD_MESSAGE + "".join(
                            f"{line}行目（第{earlier.file_id}号 {earlier.line}行目、{earlier.get_status_display()}）"
                            for line, earlier in result.held[:20]) + ("ほか。" if len(result.held) > 20 else "。"))
                    if result.held_large:
                        messages.warning(request, HELD_LARGE_MESSAGE.format(
                            limit=settings.TRANSFERS_INCOMING_HOLD_ABOVE) + "、".join(
                            f"{line}行目（{amount:,}円）" for line, amount in result.held_large[:20])
                            + ("ほか。" if len(result.held_large) > 20 else "。"))
                url = reverse("admin:transfers_interbankincomingrecord_changelist")
                return redirect(f"{url}?file__id__exact={result.file.pk}")
        context = _context(self, request, "被仕向ファイルの取込（振込入金）", form=form, button="取り込む",
                           multipart=True, change_url=reverse("admin:transfers_interbankincomingfile_changelist"))
        return TemplateResponse(request, "admin/accounts/customer/staff_action.html", context)


def _account_over_name(account: str, name: str):
    """「001-普通-1234567」 kept on one line over the name, which breaks at its spaces (a
    name of 30 half-width kana kept whole would widen the list)."""
    return format_html('<span class="account-line">{}</span><br>{}', account, name)


class IncomingFileFilter(admin.RelatedFieldListFilter):
    """被仕向ファイル beside 振込入金明細, newest first, each by its number and name only: the
    file's own label (「被仕向 第5号 interbank-demo-incoming.txt 3件 142,000円」, its count and
    total on the file list) made the filter the list's widest neighbour (walk31 F5)."""

    def field_choices(self, field, request, model_admin):
        files = InterbankIncomingFile.objects.order_by("-pk").only("pk", "filename")
        return [(file.pk, f"第{file.pk}号 {file.filename}") for file in files]


def _reason_is_a_hold(record: InterbankIncomingRecord) -> bool:
    """Whether ``reason`` says why the record was 入金保留 (still, or until it was returned),
    not why it could not be credited."""
    return record.status == InterbankIncomingRecord.Status.HELD or (
        record.status == InterbankIncomingRecord.Status.RETURNED and record.reason.startswith(services.HOLD_REASONS))


@admin.register(InterbankIncomingRecord)
class InterbankIncomingRecordAdmin(ReadOnlyAdmin):
    # ten columns scrolled the list 254 pixels sideways at 1280 beside the sidebar and its
    # filter, 入金口座 out of sight (walk25 F23): the file with its line, the account the
    # record names with its 受取人名, and the state with its reason share a column each
    list_display = ["file_and_line", "payee_account_and_name", "amount_yen", "status_and_reason",
                    "credited_account"]
    list_filter = ["status", ("file", IncomingFileFilter)]
    list_select_related = ["file", "account__branch"]
    fields = ["file", "line", "branch_code", "account_type_name", "account_number", "payee_kana",
              "amount_yen", "credited_account", "matched_account", "status", "unapplied_reason", "journal",
              "returned_by", "return_reason", "returned_at", "released_by", "released_at", "created_at"]
    readonly_fields = [*fields, "held_reason"]
    amount_yen = yen_column(InterbankIncomingRecord, "amount")
    actions = ["mark_returned", "release_held"]

    @admin.display(description="預金種目")
    def account_type_name(self, record):  # 「普通」, not the file's code 「1」 (walk29 F7)
        return _account_type_name(record)

    # walk25 F28: 「入金口座 003-普通-6789012 ｽｽﾞｷ ｲﾁﾛｳ」 on a 入金不能 (名義相違) row read as
    # credited to Suzuki. 入金口座 is the account only once credited (入金済); the account
    # the record's number matched stands apart, as 照合した口座, on the record's page.
    # the account over its name, as 受取口座・受取人名: beside the filter at 1280 pixels the
    # column is narrow, and 「001-普通-1234567 ﾔﾏﾀﾞ ﾀﾛｳ」 broke inside the number (walk31 F5)
    @admin.display(description="入金口座", ordering="account")
    def credited_account(self, record):
        if record.status != record.Status.CREDITED or not record.account:
            return "—"
        account = record.account
        return _account_over_name(f"{account.branch.code}-{account.get_type_display()}-{account.number}",
                                  account.holder_kana)

    @admin.display(description="照合した口座（入金済でなければ入金していません）")
    def matched_account(self, record):
        return str(record.account) if record.account else "—"

    # may break after 被仕向 (a zero-width space: the header keeps words whole, word-break:
    # keep-all); whole, with the sort icons, it held the column at 150 pixels (walk31 F5)
    @admin.display(description="被仕向\u200bファイル・行", ordering="file")
    def file_and_line(self, record):
        return f"第{record.file_id}号 {record.line}行目"

    @admin.display(description="受取口座・受取人名", ordering="account_number")
    def payee_account_and_name(self, record):
        return _account_over_name(_payee_account(record), record.payee_kana)

    # walk31 F5: the page labelled a 入金保留 record's reason 「入金不能の理由」; it says which it is
    @admin.display(description="入金不能の理由")
    def unapplied_reason(self, record):
        return record.reason or "—"

    @admin.display(description="入金保留の理由")
    def held_reason(self, record):
        return record.reason or "—"

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and _reason_is_a_hold(obj):
            return ["held_reason" if name == "unapplied_reason" else name for name in fields]
        return fields

    # the state stays whole and its reason wraps: kept whole too (word-break: keep-all), the
    # 大口 reason's 「10,000,000円を超える振込」 held the column at 181 pixels and cut 入金口座 (walk31 F5)
    @admin.display(description="状態", ordering="status")
    def status_and_reason(self, record):
        label = record.get_status_display()
        if record.status == record.Status.RETURNED and record.return_reason:
            reason = f"返却理由：{record.return_reason}"  # why it went back (walk31 F5)
        else:
            reason = record.reason
        if not reason:
            return label
        return format_html('<span class="status-label">{}</span>（{}）', label, reason)

    def has_return_permission(self, request) -> bool:
        return request.user.has_perm(PERMISSION)

    def _chosen(self, request, queryset) -> QuerySet[InterbankIncomingRecord]:
        """The records staff ticked, whatever their state now. Django narrows an action's
        queryset by the list's filters, so on the 入金保留 list (``?status__exact=held``) a
        record another tab credited meanwhile dropped out before it could be said to be
        already credited (walk28 F1); the ticked ids are looked up without the filters. Each
        service checks the record's state again under its lock."""
        ticked = request.POST.getlist(ACTION_CHECKBOX_NAME)
        return (self.get_queryset(request).filter(Q(pk__in=queryset.values("pk")) | Q(pk__in=ticked))
                .order_by("file", "line"))

    def _each(self, request, queryset, step, *, done_text: str, none_text: str, already_status: str,
              already_text: str) -> None:
        """``step`` for each chosen record. One another tab (or another staff member) did
        meanwhile — its state is now ``already_status`` — is said as such, not as a failure:
        「0件を入金しました。」 read as one (walk27 F4). The confirm pages submit only the
        records they offered (walk31 F4): one they had listed as 「入金済のため返却しません」 was
        then reported as done 「別の画面（または別の職員）で」 though nothing had happened since."""
        done, already = 0, []
        for record in self._chosen(request, queryset):
            try:
                step(record=record, staff=request.user.get_username())
                done += 1
            except TransferRefused as refused:
                now = InterbankIncomingRecord.objects.get(pk=record.pk)
                if now.status == already_status:
                    who = _ended_by_staff(now)  # by whom and when, unless credited at upload
                    already.append(f"第{record.file_id}号 {record.line}行目" + (f"（{who}）" if who else ""))
                elif who := _ended_by_staff(now):
                    self.message_user(request, ENDED_OTHERWISE.format(
                        record=f"第{record.file_id}号 {record.line}行目", status=now.get_status_display(), who=who),
                        level=messages.WARNING)
                else:
                    self.message_user(request, f"{record}: {refused.message}", level=messages.WARNING)
        if already:
            nothing = "この明細には何もしていません" if done else "何もしていません"
            self.message_user(request, already_text.format(records="、".join(already), nothing=nothing),
                              level=messages.WARNING)
        if done or not already:
            self.message_user(request, done_text.format(done=done) if done else none_text,
                              level=messages.SUCCESS if done else messages.WARNING)

    @admin.action(description="選択した入金不能・入金保留の明細を返却済にする", permissions=["return"])
    def mark_returned(self, request, queryset):
        """入金不能・入金保留 → 返却済 cannot be undone (the record is never credited; the money
        goes back to the sending bank), and the entry sits just above 「入金する」, so it first
        lists what it would return and asks for the 返却理由, as 入金する confirms (walk29 F1);
        its 「返却済にする」 (``post=yes`` with a reason) returns. The service checks each
        record again under its lock."""
        form = ReasonForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_bound and form.is_valid():
            self._each(request, queryset, partial(services.incoming_record_return, reason=form.cleaned_data["reason"]),
                       done_text="{done}件を返却済にしました。", none_text="返却済にした明細はありません。",
                       already_status=InterbankIncomingRecord.Status.RETURNED, already_text=ALREADY_RETURNED_RECORDS)
            return None
        records = list(self._chosen(request, queryset))
        returnable = [record for record in records if record.status in services.RETURNABLE]
        context = _context(self, request, "入金不能・入金保留の明細の返却（確認）", form=form,
                           rows=[(record, _payee_account(record)) for record in records],
                           returnable=services.RETURNABLE, returnable_count=len(returnable),
                           returnable_total=sum(record.amount for record in returnable),
                           action_checkbox_name=ACTION_CHECKBOX_NAME,
                           changelist_url=reverse("admin:transfers_interbankincomingrecord_changelist"))
        return TemplateResponse(request, "admin/transfers/interbank/incoming_return_confirm.html", context)

    @admin.action(description="選択した入金保留の明細を入金する（仕向金融機関に確認済み）", permissions=["return"])
    def release_held(self, request, queryset):
        """入金保留 → 入金 credits for good, so it first lists what it would credit — each
        record's account and amount and the record it repeats — like Django's delete
        confirmation; its 「入金する」 (``post=yes``) credits (walk26 F4). The service checks
        each record again under its lock: one released meanwhile is said, not credited twice."""
        if request.POST.get("post") != "yes":
            releases = held_release_list(self._chosen(request, queryset))
            held = [release for release in releases if release.releasable]
            context = _context(self, request, "入金保留の明細の入金（確認）", releases=releases,
                               held_count=len(held), held_total=sum(release.record.amount for release in held),
                               action_checkbox_name=ACTION_CHECKBOX_NAME,
                               changelist_url=reverse("admin:transfers_interbankincomingrecord_changelist"))
            return TemplateResponse(request, "admin/transfers/interbank/release_confirm.html", context)
        self._each(request, queryset, services.incoming_record_release, done_text="{done}件を入金しました。",
                   none_text="入金した明細はありません。", already_status=InterbankIncomingRecord.Status.CREDITED,
                   already_text=ALREADY_CREDITED_RECORDS)
