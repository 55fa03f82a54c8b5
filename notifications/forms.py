"""Input only for Ｅメール設定 (NOTE-2): shapes what the customer typed; services decide."""

from __future__ import annotations

import re

from django import forms

from cosei_ib.textinput import digits_typed_in_groups, normalise_digits

from .services import address_is_sendable, address_same

MAX_EMAIL = 254
EMAIL_INVALID = "Ｅメールアドレスを正しく入力してください（半角英数字、例：taro@example.jp）。"
# walk29 note: older carrier addresses (taro..yamada@…, taro.@…) break RFC 5321's dot rules;
# mail servers refuse them, so the code and the notices could never arrive. The customer is
# told why, not only 「正しく入力」 for an address they use every day (docs/notifications.md).
EMAIL_DOTS = ("「.」が続く、または「@」の直前・先頭に「.」があるＥメールアドレスには、メールを正しくお届けできないため"
              "ご登録いただけません。別のアドレス（携帯電話会社で変更したアドレスなど）をご登録ください。")


def _normalise(value: str) -> str:
    """Full-width letters and ＠ become half-width; blanks around are dropped."""
    return normalise_digits(value)


class EmailAddressForm(forms.Form):
    email = forms.CharField(
        label="新しいＥメールアドレス", max_length=MAX_EMAIL * 2,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
        error_messages={"required": "新しいＥメールアドレスを入力してください。",
                        "max_length": "Ｅメールアドレスが長すぎます。",
                        "null_characters_not_allowed": EMAIL_INVALID},
    )
    email_again = forms.CharField(
        label="新しいＥメールアドレス（確認用）", max_length=MAX_EMAIL * 2,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "inputmode": "email"}),
        error_messages={"required": "確認のため、新しいＥメールアドレスをもう一度入力してください。",
                        "max_length": "Ｅメールアドレスが長すぎます。",
                        "null_characters_not_allowed": EMAIL_INVALID},
    )

    def clean_email(self) -> str:
        value = _normalise(self.cleaned_data["email"])
        local, _, domain = value.rpartition("@")
        value = f"{local}@{domain.lower()}" if local else value
        if len(value) > MAX_EMAIL or not address_is_sendable(value):
            dotted = local.replace(".", "a") if local else ""
            if local and (".." in local or local[0] == "." or local[-1] == ".") and address_is_sendable(
                    f"{dotted}@{domain.lower()}"):
                raise forms.ValidationError(EMAIL_DOTS)
            raise forms.ValidationError(EMAIL_INVALID)
        return value

    def clean(self):
        data = super().clean()
        email = data.get("email")
        again = _normalise(data.get("email_again") or "")
        if email and again and not address_same(again, email):  # 全角 and case are no mismatch
            self.add_error("email_again", "確認用のＥメールアドレスが一致しません。")
        return data


class _PageAddressField(forms.CharField):
    def clean(self, value) -> str:
        value = self.to_python(value)
        return value if len(value) <= 254 and "\x00" not in value else ""


class EmailCodeForm(forms.Form):
    code = forms.CharField(
        label="確認コード（6桁）", max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        error_messages={"required": "メールでお送りした確認コードを入力してください。",
                        "max_length": "確認コードは6桁の数字で入力してください。",
                        "null_characters_not_allowed": "確認コードは6桁の数字で入力してください。"},
    )
    # the address the page asked the code for: a second tab can then say the change went
    # through in the first one (NOTE-2); anything odd in it is ignored, never an error
    new_email = _PageAddressField(widget=forms.HiddenInput, required=False)

    def clean_code(self) -> str:
        value = digits_typed_in_groups(self.cleaned_data["code"])
        if not re.fullmatch(r"[0-9]{6}", value, flags=re.ASCII):
            raise forms.ValidationError("確認コードは6桁の数字で入力してください。")
        return value


class NoticePreferenceForm(forms.Form):
    postings = forms.BooleanField(label="入出金のお知らせ", required=False)
    receipts = forms.BooleanField(label="振込・ペイジーの受付のお知らせ", required=False)
    login = forms.BooleanField(label="ログインのお知らせ", required=False)
