"""Input only: shapes and normalises what the customer typed; services decide."""

from __future__ import annotations

import unicodedata

from django import forms


def normalise_digits(value: str) -> str:
    """Full-width digits and spaces → half-width, surrounding blanks removed."""
    return unicodedata.normalize("NFKC", value or "").strip()


class LoginForm(forms.Form):
    contract_id = forms.CharField(
        label="契約者ID", max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "numeric"}),
        error_messages={"required": "契約者IDを入力してください。"},
    )
    password = forms.CharField(
        label="ログインパスワード", max_length=64, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password",
                                          "data-soft-keyboard": "1"}),
        error_messages={"required": "ログインパスワードを入力してください。"},
    )

    def clean_contract_id(self) -> str:
        return normalise_digits(self.cleaned_data["contract_id"])


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(
        label="現在のログインパスワード", max_length=64, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password",
                                          "data-soft-keyboard": "1"}),
        error_messages={"required": "現在のログインパスワードを入力してください。"},
    )
    new_password = forms.CharField(
        label="新しいログインパスワード", max_length=64, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password",
                                          "data-soft-keyboard": "1"}),
        error_messages={"required": "新しいログインパスワードを入力してください。"},
    )
    new_password_again = forms.CharField(
        label="新しいログインパスワード（確認用）", max_length=64, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password",
                                          "data-soft-keyboard": "1"}),
        error_messages={"required": "確認のため、新しいログインパスワードをもう一度入力してください。"},
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password_again") is not None:
            if data["new_password"] != data["new_password_again"]:
                self.add_error("new_password_again", "確認用のパスワードが一致しません。")
        return data
