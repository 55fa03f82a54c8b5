"""Staff admin of the transfers app (XFER-4, XFER-8, STAFF-1): the fee table, the bank's
maximum daily limit, and read-only lists of transfers and outgoing Zengin records. Every
change, and every look at the transfer list, is written to the audit log with the staff
user as actor."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import DatabaseError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from accounts.admin import ReadOnlyAdmin, StaffModelAdmin, yen, yen_column
from accounts.forms import MESSAGE_DATE_NONEXISTENT
from accounts.templatetags.accounts_format import japanese_date
from cosei_ib.textinput import parse_yen, typed_date, typed_date_nonexistent
from security.audit import audit_record

from .admin_display import TRACING_FIELDS, TransferDisplayMixin, transfer_fields, transfer_fieldsets
from .models import (ACCOUNT_TYPE_CHOICES, BANK_MAX_MAX, BANK_MAX_MIN, FEE_MAX, RETURN_RELATED, THRESHOLD_MAX, Bank, FeeSchedule,
                     InterbankDemoAccount, OutgoingTransfer, Transfer, TransferSettings)

# XFER-4 (dbprobe27 F4): a new fee applies from 0:00 of a later day, never from the moment it
# is saved — the database refuses a row of today for the app's role (CI203, transfers 0025)
FEE_DATE_IN_PAST = "適用開始日は明日以降の日付を指定してください（本日までの手数料は変更できません）。"
FEE_ROW_HELD = ("この手数料は適用中、または振込に使われているため、変更・削除できません。"
                "手数料を変えるときは、新しい適用開始日の手数料を追加してください。")
# a future row a 予約 was booked under (dbprobe28 F4, transfers 0033): its fees may be corrected
# until it is in force, never its date nor the row removed
FEE_ROW_BOOKED = ("この手数料は振込の予約に使われているため、削除や適用開始日の変更はできません。"
                  "手数料額は適用開始日の前日まで訂正できます（予約の振込手数料は、予約時の額と訂正後の額の"
                  "低い方になります）。")
# the database's refusal of such a change (transfers 0007), should one get past the checks
# below: the row came into force, or a transfer was confirmed under it, meanwhile
FEE_ROW_HELD_SQLSTATE = "CI203"


class _AuditedAdmin(StaffModelAdmin):
    audit_action = ""
    # branch staff hold a custom "manage" permission instead of add/change/delete (roles.py)
    manage_permission = ""

    def _may_manage(self, request) -> bool:
        return request.user.is_superuser or (
            bool(self.manage_permission) and request.user.has_perm(self.manage_permission))

    def has_add_permission(self, request):
        return self._may_manage(request)

    def has_change_permission(self, request, obj=None):
        return self._may_manage(request)

    def has_delete_permission(self, request, obj=None):
        return self._may_manage(request)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = "、".join(f"{form.fields[name].label}={form.cleaned_data[name]}" for name in form.changed_data)
        audit_record(action=self.audit_action, outcome="success", actor=request.user.get_username(),
                     summary=f"{'変更' if change else '追加'} {obj} {changed}")

    def delete_model(self, request, obj):
        audit_record(action=self.audit_action, outcome="success", actor=request.user.get_username(),
                     summary=f"削除 {obj}")
        super().delete_model(request, obj)


# Sanity bounds of a staff entry (walk24: 他行宛 9,999,999,999円 was saved for today and
# refused every transfer of 3万円 or more until the next day — a row in force is never
# changed); the database holds the same (FeeSchedule, fee_schedule_within_caps).
FEE_TOO_LARGE = f"手数料は{FEE_MAX:,}円以下で入力してください。"
THRESHOLD_TOO_LARGE = f"金額区分は{THRESHOLD_MAX:,}円以下で入力してください。"
# probe34 F7: it said 半角 while 「５５０」 was taken — now read as the customer forms read yen
FEE_NOT_NUMBER = "金額は数字（円単位）で入力してください。"
# walk27 F9: 「-1」 got FEE_TIERS_INVERTED (or the table's constraint message) — the sign first
FEE_NEGATIVE = "手数料にマイナスの金額は指定できません。"
THRESHOLD_NEGATIVE = "金額区分にマイナスの金額は指定できません。"
THRESHOLD_ZERO = "金額区分は1円以上で入力してください。"
FEE_FIELDS = ("same_branch_under", "same_branch_over", "other_branch_under", "other_branch_over",
              "other_bank_under", "other_bank_over")
FEE_ROUTES = {"same_branch": "同一店宛", "other_branch": "当金庫本支店宛", "other_bank": "他行宛"}
FEE_TIERS_INVERTED = ("{route}の手数料が、金額区分以上（{over:,}円）の方が金額区分未満（{under:,}円）より低くなっています。"
                      "未満と以上が入れ替わっていないかご確認ください。")
FEE_HORIZON_YEARS = 2
FEE_DATE_TOO_FAR = "適用開始日は{limit}までの日付を指定してください（{years}年先まで）。"
FEE_DATE_FORM = "適用開始日は {example} の形で入力してください。"


class TypedDateField(forms.DateField):
    """A date typed as 「2027-06-01」, 「2027/6/1」 or in full-width (``typed_date``); a day
    that does not exist (2026-02-30) is said so, as on the customer's pages (probe34 F7: it
    got the form's message, 「…は 2026-12-09 の形で…」, though written in that form); any
    other text is the field's ``invalid`` message, which shows the expected form."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            day = typed_date(value)
            if day is None and typed_date_nonexistent(value):
                raise forms.ValidationError(MESSAGE_DATE_NONEXISTENT.format(label=self.label), code="nonexistent")
            if day is None:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            return day
        return super().to_python(value)


class YenIntegerField(forms.IntegerField):
    """An amount of yen staff type, read as every customer form and the counter's 入金 read
    one (``parse_yen``: full-width digits, 1,000, a trailing 円; no 「1.5」, no digits of
    other scripts), with the field's ``invalid``, ``negative`` and ``too_large`` messages.
    Django's own reading took 「５５０」 and 「٥٥٠」 under a message that asked for 半角
    digits (probe34 F7)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, int):
            return value
        said = self.error_messages
        return parse_yen(str(value), required=said["required"], not_number=said["invalid"],
                         negative=said.get("negative", said["invalid"]),
                         too_large=said.get("too_large", said["invalid"]))


def years_ahead(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _not_below(minimum: int):
    """A fee (``minimum`` 0) or the 金額区分 (1) below its floor, a negative said as such."""
    def validate(value: int) -> None:
        if value < 0:
            raise forms.ValidationError(FEE_NEGATIVE if minimum == 0 else THRESHOLD_NEGATIVE, code="min_value")
        if value < minimum:
            raise forms.ValidationError(THRESHOLD_ZERO, code="min_value")
    return validate


class FeeScheduleForm(forms.ModelForm):
    class Meta:
        model = FeeSchedule
        fields = ["effective_from", "threshold", *FEE_FIELDS]
        field_classes = {name: YenIntegerField for name in ("threshold", *FEE_FIELDS)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bounds = {name: (0, FEE_MAX, FEE_TOO_LARGE) for name in FEE_FIELDS}
        bounds["threshold"] = (1, THRESHOLD_MAX, THRESHOLD_TOO_LARGE)
        for name, (minimum, maximum, message) in bounds.items():
            field = self.fields.get(name)
            if field is None:  # a held row's page shows it read-only
                continue
            # the model field's own bound is int64's (「9223372036854775807 以下」): staff read ours
            field.validators = [validator for validator in field.validators
                                if not isinstance(validator, (MinValueValidator, MaxValueValidator))]
            field.validators += [_not_below(minimum), MaxValueValidator(maximum, message=message)]
            field.widget.attrs.update(min=minimum, max=maximum)
            field.error_messages.update(invalid=FEE_NOT_NUMBER, too_large=message,
                                        negative=FEE_NEGATIVE if minimum == 0 else THRESHOLD_NEGATIVE)
        typed = self.fields.get("effective_from")
        if typed is not None:  # walk25 F5: 「2027/06/01」 and full-width were 「日付を正しく入力してください。」
            example = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
            self.fields["effective_from"] = TypedDateField(
                label=typed.label, widget=typed.widget, help_text=typed.help_text,
                error_messages={"required": "適用開始日を入力してください。",
                                "invalid": FEE_DATE_FORM.format(example=example)})

    def clean_effective_from(self):
        day = self.cleaned_data["effective_from"]
        today = timezone.localdate()
        if day <= today:
            raise forms.ValidationError(FEE_DATE_IN_PAST)
        limit = years_ahead(today, FEE_HORIZON_YEARS)
        if day > limit:  # walk25 F5: 9999-12-31 was saved — a typo of the year, not a plan
            raise forms.ValidationError(FEE_DATE_TOO_FAR.format(limit=japanese_date(limit), years=FEE_HORIZON_YEARS))
        return day

    def clean(self):
        cleaned = super().clean()
        for route, name in FEE_ROUTES.items():
            # XFER-4 (walk25 F5): 同一店宛 500 / 0 was saved — the pair typed the wrong way round
            under, over = cleaned.get(f"{route}_under"), cleaned.get(f"{route}_over")
            if under is not None and over is not None and over < under:
                self.add_error(f"{route}_over", FEE_TIERS_INVERTED.format(route=name, over=over, under=under))
        return cleaned


def _fee_pair(row: FeeSchedule, route: str) -> str:
    """A route's fees below and from the 金額区分, 「330円／550円」."""
    return f"{yen(getattr(row, f'{route}_under'))}／{yen(getattr(row, f'{route}_over'))}"


@admin.register(FeeSchedule)
class FeeScheduleAdmin(_AuditedAdmin):
    """A fee row in force (effective today or earlier) is read-only: transfers confirmed
    under it keep its id, and the past stays as it was. A change is a new row with a date.
    A future row a 予約振込 was confirmed under keeps its date and is never deleted, but its
    fees may be corrected until it is in force (dbprobe28 F4: a planted row could not be
    repaired): the batch charges such a 予約 the lower of its confirmed fee and the row's
    (FEE_ROW_BOOKED, transfers 0033)."""

    audit_action = "staff_fee_change"
    manage_permission = "transfers.manage_fees"
    form = FeeScheduleForm
    # Django's bulk delete said 「…削除する権限がありません: 振込手数料 / 振込」 for a row in
    # force (walk24): a future row is deleted from its own page, a held one says why there
    actions = None
    # amounts as staff read them elsewhere, 「30,000円」 (walk25 F6: the raw 30000); a route's
    # two fees share a column, 「330円／550円」 — seven columns scrolled the list 257 pixels
    # sideways at 1280 beside the sidebar, 他行宛 (the most used) out of sight (walk25 F23)
    list_display = ["effective_from", "threshold_short_yen", "same_branch_fees", "other_branch_fees",
                    "other_bank_fees"]
    threshold_yen = yen_column(FeeSchedule, "threshold")
    same_branch_under_yen = yen_column(FeeSchedule, "same_branch_under")
    same_branch_over_yen = yen_column(FeeSchedule, "same_branch_over")
    other_branch_under_yen = yen_column(FeeSchedule, "other_branch_under")
    other_branch_over_yen = yen_column(FeeSchedule, "other_branch_over")
    other_bank_under_yen = yen_column(FeeSchedule, "other_bank_under")
    other_bank_over_yen = yen_column(FeeSchedule, "other_bank_over")

    @admin.display(description="金額区分", ordering="threshold")
    def threshold_short_yen(self, row):
        return yen(row.threshold)

    @admin.display(description="同一店宛（未満／以上）", ordering="same_branch_under")
    def same_branch_fees(self, row):
        return _fee_pair(row, "same_branch")

    @admin.display(description="当金庫本支店宛（未満／以上）", ordering="other_branch_under")
    def other_branch_fees(self, row):
        return _fee_pair(row, "other_branch")

    @admin.display(description="他行宛（未満／以上）", ordering="other_bank_under")
    def other_bank_fees(self, row):
        return _fee_pair(row, "other_bank")

    def get_fields(self, request, obj=None):
        """A row staff may not change (in force, or only viewable) shows 「30,000円」 too."""
        if obj is None or self.has_change_permission(request, obj):
            return ["effective_from", "threshold", *FEE_FIELDS]
        return ["effective_from", *(f"{name}_yen" for name in ("threshold", *FEE_FIELDS))]

    def get_readonly_fields(self, request, obj=None):
        if obj is None or self.has_change_permission(request, obj):
            if self._booked_under(obj):
                return ["effective_from"]
            return super().get_readonly_fields(request, obj)
        return self.get_fields(request, obj)

    def _in_force(self, obj) -> bool:
        return obj is not None and obj.effective_from <= timezone.localdate()

    def _booked_under(self, obj) -> bool:
        return obj is not None and Transfer.objects.filter(fee_schedule=obj).exists()

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self._in_force(obj)

    def has_delete_permission(self, request, obj=None):
        return (super().has_delete_permission(request, obj) and not self._in_force(obj)
                and not self._booked_under(obj))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        def view():
            return super(FeeScheduleAdmin, self).changeform_view(request, object_id, form_url, extra_context)

        if object_id is None:
            return self._added_or_said(request, view)
        return self._held_said(request, object_id, view)

    def _added_or_said(self, request, view):
        """A new row the form took for tomorrow that the database dates today or earlier —
        saved across midnight, or with the app's clock behind the database's: the database
        refuses it (CI203, transfers 0008/0025) and staff read why, never a 500."""
        try:
            return view()
        except DatabaseError as refused:
            if getattr(refused.__cause__, "sqlstate", None) != FEE_ROW_HELD_SQLSTATE:
                raise
            messages.error(request, FEE_DATE_IN_PAST)
            return HttpResponseRedirect(reverse("admin:transfers_feeschedule_add"))

    def delete_view(self, request, object_id, extra_context=None):
        return self._held_said(request, object_id, lambda: super(FeeScheduleAdmin, self).delete_view(
            request, object_id, extra_context), deleting=True)

    def _held_said(self, request, object_id, view, *, deleting=False):
        """A held row (XFER-4) is shown read-only with FEE_ROW_HELD, to staff who may manage
        fees: a change or delete sent for it (a form opened while it was still future) and
        the database's own refusal are that message on its page, never a 403 or a 500."""
        if object_id is None or not self._may_manage(request):
            return view()
        obj = self.get_object(request, unquote(object_id))
        held = FEE_ROW_HELD if self._in_force(obj) else FEE_ROW_BOOKED if self._booked_under(obj) else None
        if held is not None and (held == FEE_ROW_HELD or deleting):
            if request.method == "POST" or deleting:
                return self._held_answer(request, obj, held)
            self._warn_once(request, held)
            return view()
        if held is not None and request.method != "POST":  # booked under: its fees may still be corrected
            self._warn_once(request, held)
        try:
            return view()
        except DatabaseError as refused:
            if getattr(refused.__cause__, "sqlstate", None) != FEE_ROW_HELD_SQLSTATE:
                raise
            # in force by the database's day (its clock may be past midnight) unless only booked under
            booked = not self._in_force(obj) and self._booked_under(obj)
            return self._held_answer(request, obj, FEE_ROW_BOOKED if booked else FEE_ROW_HELD)

    @staticmethod
    def _warn_once(request, message: str) -> None:
        queued = messages.get_messages(request)
        if message not in [queued_message.message for queued_message in queued]:  # not twice after a redirect
            messages.warning(request, message)
        queued.used = False

    def _held_answer(self, request, obj, message: str = FEE_ROW_HELD):
        messages.error(request, message)
        return HttpResponseRedirect(reverse("admin:transfers_feeschedule_change", args=[obj.pk]))


# XFER-8 (walk25 F27): the bank maximum caps every customer's daily limit at once, so a
# typo (100 for 10000000) stopped every customer's transfers with no warning. A sane range
# (BANK_MAX_MIN…BANK_MAX_MAX, held by the database too), and lowering it names how many
# customers it lowers and asks for a tick.
BANK_MAX_OUT_OF_RANGE = (f"1日の利用限度額の上限は{BANK_MAX_MIN:,}円以上、{BANK_MAX_MAX:,}円以下の"
                         "金額を数字（円単位）で入力してください。")
BANK_MAX_LOWER_UNCONFIRMED = ("この変更で、{count:,}人のお客さまの1日の利用限度額が新しい上限（{new:,}円）まで"
                              "すぐに下がります（予約中の引き上げも上限までになります）。お客さまへの個別のメールは"
                              "送られません（利用限度額変更の画面に上限額が適用されていることを表示します。"
                              "お知らせでのご案内が必要です）。内容を確かめて"
                              "「上限の引き下げを確認しました」にチェックしてください。")


BANK_MAX_CHANGED_MEANWHILE = ("この画面を表示した後に、別の画面（または別の職員）で上限が変更されています"
                              "（{at:%Y/%m/%d %H:%M} 更新、現在 {value:,}円）。変更していません。"
                              "一覧から開き直して、現在の内容を確かめてから変更してください。")


class TransferSettingsForm(forms.ModelForm):
    bank_max_daily_limit = YenIntegerField(
        label="1日の利用限度額の上限（金庫所定）", min_value=BANK_MAX_MIN, max_value=BANK_MAX_MAX,
        error_messages={key: BANK_MAX_OUT_OF_RANGE for key in ("required", "invalid", "min_value", "max_value")},
        help_text=f"{BANK_MAX_MIN:,}円～{BANK_MAX_MAX:,}円。お客さまの利用限度額はこの金額を超えられません。")
    confirm_lower = forms.BooleanField(label="上限の引き下げを確認しました", required=False)
    # when the row was last changed as this form showed it (walk29 F2: a second staff member's
    # stale form silently put back the maximum the first had just lowered)
    seen = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = TransferSettings
        fields = ["bank_max_daily_limit"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["seen"].initial = self.instance.updated_at.isoformat()

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            # under the row's lock, in the admin's transaction: a save of another staff member
            # since this form was shown — or at this moment — is found, not overwritten
            current = TransferSettings.objects.select_for_update().get(pk=self.instance.pk)
            if cleaned.get("seen") != current.updated_at.isoformat():
                raise forms.ValidationError(BANK_MAX_CHANGED_MEANWHILE.format(
                    at=timezone.localtime(current.updated_at), value=current.bank_max_daily_limit))
        new = cleaned.get("bank_max_daily_limit")
        old = self.instance.bank_max_daily_limit if self.instance.pk else None
        if new is None or old is None or new >= old or cleaned.get("confirm_lower"):
            return cleaned
        from .selectors import customers_above_limit_count

        self.add_error("confirm_lower", BANK_MAX_LOWER_UNCONFIRMED.format(
            count=customers_above_limit_count(new), new=new))
        return cleaned


@admin.register(TransferSettings)
class TransferSettingsAdmin(_AuditedAdmin):
    audit_action = "staff_transfer_settings"
    manage_permission = "transfers.manage_transfer_limit"
    form = TransferSettingsForm
    list_display = ["bank_max_daily_limit_yen", "updated_at"]
    bank_max_daily_limit_yen = yen_column(TransferSettings, "bank_max_daily_limit")
    fields = ["bank_max_daily_limit", "confirm_lower", "seen"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not TransferSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Transfer)
class TransferAdmin(TransferDisplayMixin, ReadOnlyAdmin):
    # Seven columns, so that beside the navigation sidebar and the filters (1280 pixels)
    # none is squeezed and the list does not scroll sideways: the payee's bank, branch,
    # account and name in one column, the fee with who bears it; 受付日時 on the detail page.
    list_display = ["id", "customer", "transfer_date", "status_text", "payee_account", "amount_yen",
                    "fee_and_bearer"]
    list_filter = ["status", "transfer_date", "route"]
    search_fields = ["customer__contract_id", "holder_kana", "account_number"]
    date_hierarchy = "transfer_date"
    list_select_related = ["customer", RETURN_RELATED]
    search_help_text = "契約者ID・受取人名（カナ）・口座番号・確認IDで検索"
    fieldsets = transfer_fieldsets()
    readonly_fields = transfer_fields() + TRACING_FIELDS

    def changelist_view(self, request, extra_context=None):
        query = "&".join(f"{key}={value}" for key, value in request.GET.items())
        audit_record(action="staff_transfer_view", outcome="success", actor=request.user.get_username(),
                     summary=f"振込一覧 {query}")
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Django's own look-up: None for a missing id and for one that is no number at all
        # (a raw filter(pk="abc") raised ValueError: a 500 before admin's own answer)
        transfer = self.get_object(request, unquote(object_id))
        audit_record(action="staff_transfer_view", outcome="success", actor=request.user.get_username(),
                     customer=transfer.customer if transfer else None, summary=f"振込 #{str(object_id)[:20]}")
        return super().change_view(request, object_id, form_url, extra_context)


OUTGOING_DETAIL_SHOWN = {"status": "status_text", "amount": "amount_yen", "account_type": "account_type_text"}


@admin.register(OutgoingTransfer)
class OutgoingTransferAdmin(ReadOnlyAdmin):
    # Six columns, so that beside the navigation sidebar and the filters (1280 pixels) the
    # list does not scroll sideways (ten scrolled 157 pixels); the amount as 50,000円
    list_display = ["id", "settlement_date", "status_text", "payee_account", "amount_yen", "sender_name"]
    list_filter = ["status", "settlement_date"]
    list_select_related = ["interbank_return"]
    # the state with its 振込資金返却 (walk25 F22: 「送信済」 alone read on after the return);
    # the amount as 49,450円 and 預金種目 as 普通 on the record's page (walk26 F13: 49450, 1)
    fields = readonly_fields = [OUTGOING_DETAIL_SHOWN.get(field.name, field.name)
                                for field in OutgoingTransfer._meta.fields]
    amount_yen = yen_column(OutgoingTransfer, "amount")

    @admin.display(description="状態", ordering="status")
    def status_text(self, outgoing):
        return outgoing.status_label

    @admin.display(description=OutgoingTransfer._meta.get_field("account_type").verbose_name)
    def account_type_text(self, outgoing):
        return account_type_label(outgoing.account_type)

    @admin.display(description="被仕向")
    def payee_account(self, outgoing):
        return (f"{outgoing.bank_code} {outgoing.bank_kana} / {outgoing.branch_code} {outgoing.branch_kana} "
                f"{account_type_label(outgoing.account_type)}-{outgoing.account_number} {outgoing.payee_kana}")


def account_type_label(code: str) -> str:
    """「普通」 for the Zengin 預金種目 code 1 (an unknown code as it is)."""
    return dict(ACCOUNT_TYPE_CHOICES).get(code, code)


@admin.register(Bank)
class BankAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "kana", "type", "initial", "featured_order"]
    list_filter = ["type"]
    search_fields = ["code", "name", "kana"]


@admin.register(InterbankDemoAccount)
class InterbankDemoAccountAdmin(_AuditedAdmin):
    audit_action = "staff_interbank_demo"
    list_display = ["bank_code", "branch_code", "account_type", "account_number", "holder_kana", "closed"]

from .interbank import admin as _interbank_admin  # noqa: E402,F401 - XFER-12 registers its models
from . import scheduled_admin  # noqa: E402,F401 - 予約振込 (issue 9)
