"""Staff admin for Pay-easy (PAY-2, STAFF-1): branch staff add and edit billers and the
simulator's bills (accounts.roles); nothing here is deleted — a biller with payments must
stay (取扱中 off stops it), a paid bill is what a payment refers to — and payments are
read-only (a payment is never changed or cancelled)."""

from django import forms
from django.contrib import admin
from django.core.validators import MaxValueValidator, MinValueValidator

from accounts.admin import ReadOnlyAdmin, StaffModelAdmin, yen_column
from cosei_ib.textinput import customer_text, normalise_digits
from security.audit import audit_record

from .models import Bill, Biller, EntryFailureCounter, LinkNonce, Payment

# A bill's amount in yen: far above any tax or fee, far below int64 (the model field's own
# bound, 「9223372036854775807 以下」, was what staff read)
BILL_AMOUNT_MAX = 10**12
BILL_AMOUNT_TOO_LARGE = f"金額は{BILL_AMOUNT_MAX:,}円以下で入力してください。"
BILL_AMOUNT_NOT_NUMBER = "金額は半角数字（円）で入力してください。"


LINK_SECRET_MIN_LENGTH = 16
LINK_SECRET_SET = "設定済みです（表示しません）。変更するときだけ新しい鍵を入力してください。空欄のままなら今の鍵を使います。"
LINK_SECRET_UNSET = "未設定です（この収納機関は情報リンクを受け付けません）。"
LINK_SECRET_TOO_SHORT = f"署名鍵は{LINK_SECRET_MIN_LENGTH}文字以上で入力してください。"


class BillerForm(forms.ModelForm):
    """A 収納機関番号 typed in full-width digits is taken as its half-width digits; anything
    else that is not five digits gets the constraint's Japanese message.

    The 情報リンク signing key is write-only (SEC-13, PAY-4; walk25 F25): whoever reads it can
    sign a 情報リンク for the biller, which is trusted without 確認番号, so the page never
    shows it — left empty it stays as it is, 「署名鍵を削除する」 removes it."""

    link_secret = forms.CharField(label="情報リンク署名鍵（HMAC）", required=False, max_length=128, strip=True,
                                  widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    link_secret_remove = forms.BooleanField(label="署名鍵を削除する（情報リンクを受け付けない）", required=False)

    class Meta:
        model = Biller
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["link_secret"].help_text = LINK_SECRET_SET if self.instance.link_secret else LINK_SECRET_UNSET

    def clean_number(self):
        return normalise_digits(self.cleaned_data["number"])

    def clean_name(self):
        # customers read it on their pages, in mail and in the Shift_JIS CSV (walk26 F7)
        return customer_text(self.cleaned_data["name"], label=self.fields["name"].label)

    def clean_link_secret(self):
        typed = self.cleaned_data["link_secret"]
        if not typed:
            return self.instance.link_secret  # unchanged: the page never had it
        if len(typed) < LINK_SECRET_MIN_LENGTH:
            raise forms.ValidationError(LINK_SECRET_TOO_SHORT)
        return typed

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("link_secret_remove"):
            cleaned["link_secret"] = ""
        # for the audit row, which never carries the key (the instance is not updated yet)
        self.secret_changed = "link_secret" in cleaned and cleaned["link_secret"] != self.instance.link_secret
        return cleaned


class BillForm(forms.ModelForm):
    """Numbers typed in full-width digits are normalised; an amount beyond what a bill can be
    (or int64) is refused in Japanese, not with the database's bound."""

    class Meta:
        model = Bill
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("amount", "min_amount", "max_amount"):
            field = self.fields[name]
            field.validators = [v for v in field.validators if not isinstance(v, (MaxValueValidator, MinValueValidator))]
            field.validators.append(MaxValueValidator(BILL_AMOUNT_MAX, message=BILL_AMOUNT_TOO_LARGE))
            field.error_messages["invalid"] = BILL_AMOUNT_NOT_NUMBER
            field.widget.attrs["max"] = BILL_AMOUNT_MAX

    def clean_description(self):
        # what customers read of a bill (walk26 F7), as a biller's name
        return customer_text(self.cleaned_data["description"], label=self.fields["description"].label)

    def clean_payer_name(self):
        return customer_text(self.cleaned_data["payer_name"], label=self.fields["payer_name"].label)

    def clean(self):
        for name in ("number", "confirmation", "category"):
            if isinstance(self.cleaned_data.get(name), str):
                self.cleaned_data[name] = normalise_digits(self.cleaned_data[name])
        return super().clean()


def _as_shown(form, name: str) -> str:
    """A changed field's new value as staff read it on the page, for the audit row: a
    choice's label (民間企業, not ``private``; walk32 F3), はい／いいえ for a checkbox."""
    value, field = form.cleaned_data[name], form.fields[name]
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    choices = None if isinstance(field, forms.ModelChoiceField) else getattr(field, "choices", None)
    if choices:
        return str(dict(choices).get(value, value))
    return str(value)


class _StaffEdited:
    """Never deleted (no bulk delete either); every add and change is audited with the staff
    member as actor, as a fee change is (transfers.admin)."""

    actions = None

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # a biller's new number: 「00100→99999 …」, so the 操作ログ names the old one too
        # (payeasy 0013, CI247, dbprobe32 F4); the number then is not repeated in the list
        # (「５８００２」 typed for 58002 is in changed_data, but no new number)
        # (a paid biller's number is read-only: not in the form, nor in form.initial — review33 F1)
        renumbered = (isinstance(obj, Biller) and change and "number" in form.changed_data
                      and obj.number != form.initial.get("number"))
        changed = "、".join([f"{form.fields[name].label}={_as_shown(form, name)}" for name in form.changed_data
                            if name not in ("link_secret", "link_secret_remove")  # the HMAC key stays out of the log
                            and not (renumbered and name == "number")]
                           + (["署名鍵=変更"] if getattr(form, "secret_changed", False) else []))
        was = f"{form.initial.get('number')}→" if renumbered else ""
        audit_record(action="staff_biller_change", outcome="success", actor=request.user.get_username(),
                     summary=f"{'変更' if change else '追加'} {obj._meta.verbose_name} {was}{obj} {changed}".rstrip())


@admin.register(Biller)
class BillerAdmin(_StaffEdited, StaffModelAdmin):
    form = BillerForm
    list_display = ["number", "name", "kind", "uses_confirmation", "uses_category", "amount_type",
                    "simulation", "is_active"]
    list_filter = ["kind", "is_active", "simulation"]
    search_fields = ["number", "name"]
    fieldsets = [
        (None, {"fields": ["number", "name", "kind", "is_active"]}),
        ("お客様が入力する項目", {"fields": ["uses_confirmation", "uses_category", "amount_type"]}),
        ("情報リンク・シミュレーター", {"fields": ["link_secret", "link_secret_remove", "simulation"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # the number is what payments refer to; a new number is a new biller
        return ["number"] if obj is not None and obj.payments.exists() else []


@admin.register(Bill)
class BillAdmin(_StaffEdited, StaffModelAdmin):
    form = BillForm
    # amounts as staff read them, 「48,000円」 (walk29 F7: 48000 read as a count)
    list_display = ["biller", "number", "category", "description", "amount_yen", "min_amount_yen",
                    "max_amount_yen", "due_date", "status"]
    list_filter = ["status", "biller"]
    search_fields = ["number", "description", "payer_name"]
    list_select_related = ["biller"]
    amount_yen = yen_column(Bill, "amount")
    min_amount_yen = yen_column(Bill, "min_amount")
    max_amount_yen = yen_column(Bill, "max_amount")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["reference", "paid_at", "customer", "biller", "number", "description", "amount_yen",
                    "via_link"]
    list_filter = ["biller", "via_link"]
    search_fields = ["reference", "customer__contract_id", "number"]
    date_hierarchy = "paid_at"
    list_select_related = ["customer", "biller"]
    fields = readonly_fields = ["reference", "paid_at", "customer", "account", "biller", "bill_id", "number",
                                "category", "description", "amount_yen", "journal", "via_link"]
    amount_yen = yen_column(Payment, "amount")


@admin.register(EntryFailureCounter)
class EntryFailureCounterAdmin(ReadOnlyAdmin):
    list_display = ["day", "customer", "failures"]
    list_select_related = ["customer"]
    search_fields = ["customer__contract_id"]


@admin.register(LinkNonce)
class LinkNonceAdmin(ReadOnlyAdmin):
    list_display = ["used_at", "biller", "nonce", "customer"]
    list_select_related = ["biller", "customer"]
