"""Input of the Pay-easy pages (PAY-1). Numbers may be typed in full-width digits and with
hyphens or spaces; they are normalised (full-width → half-width, separators dropped) and checked for length
BEFORE anything is converted, and every wrong field gets its own Japanese message."""

from __future__ import annotations

import re

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from accounts.templatetags.accounts_format import account_label
from cosei_ib.textinput import GROUP_SEPARATORS, normalise_digits, parse_yen

_SEPARATORS = re.compile(f"[{GROUP_SEPARATORS}]")  # anywhere in the number, not only between digits

REQUIRED = "{label}を入力してください。"
DIGITS = "{label}は{digits}の数字で入力してください。"
ACCOUNT_REQUIRED = "お支払口座を選択してください。"
ACCOUNT_INVALID = "お支払口座の指定が正しくありません。"
AMOUNT_DIGITS = "払込金額は1円以上の金額を数字で入力してください。"
DUPLICATE_ACK = "以前の払込みと二重になっていないことを確認し、チェックを入れてください。"


def digits_only(value: str) -> str:
    return _SEPARATORS.sub("", normalise_digits(value))


class DigitsField(forms.CharField):
    """A number typed as digits: ``exact`` digits, or 1 to ``max_digits`` digits."""

    def __init__(self, *, label: str, max_digits: int, exact: bool = False, **kwargs):
        self.max_digits = max_digits
        self.exact = exact
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "inputmode": "numeric", "autocomplete": "off", "maxlength": str(max_digits * 2 + 10)}))
        super().__init__(label=label, max_length=200, **kwargs)
        self.error_messages["required"] = REQUIRED.format(label=label)
        self.error_messages["max_length"] = DIGITS.format(label=label, digits=self._digits_text())
        # a NUL byte is just another non-digit here: the field's own message says so
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]

    def _digits_text(self) -> str:
        return f"{self.max_digits}桁" if self.exact else f"{self.max_digits}桁以内"

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return ""
        text = digits_only(text)
        pattern = rf"[0-9]{{{self.max_digits}}}" if self.exact else rf"[0-9]{{1,{self.max_digits}}}"
        if not re.fullmatch(pattern, text):
            raise forms.ValidationError(DIGITS.format(label=self.label, digits=self._digits_text()),
                                        code="digits")
        return text


class AccountChoiceField(forms.TypedChoiceField):
    def __init__(self, **kwargs):
        super().__init__(label="お支払口座", coerce=int, **kwargs)
        self.error_messages["required"] = ACCOUNT_REQUIRED
        self.error_messages["invalid_choice"] = ACCOUNT_INVALID


def _account_choices(accounts) -> list:
    return [(account.pk, account_label(account)) for account in accounts]


class StartForm(forms.Form):
    """お支払口座 and 収納機関番号."""

    account = AccountChoiceField()
    biller = DigitsField(label="収納機関番号", max_digits=5, exact=True)

    def __init__(self, *args, accounts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = _account_choices(accounts)


class NumbersForm(forms.Form):
    """The biller's own fields: お客様番号, or 納付番号 + 確認番号 (+ 納付区分)."""

    def __init__(self, *args, biller, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["number"] = DigitsField(label=biller.number_label, max_digits=20)
        if biller.uses_confirmation:
            self.fields["confirmation"] = DigitsField(label="確認番号", max_digits=6)
        if biller.uses_category:
            self.fields["category"] = DigitsField(label="納付区分", max_digits=3)


class AmountForm(forms.Form):
    """The amount of an open-amount bill (bounds are checked by the service's rule)."""

    amount = forms.CharField(label="払込金額（円）", max_length=40, widget=forms.TextInput(attrs={
        "inputmode": "numeric", "autocomplete": "off"}))

    def __init__(self, *args, bill, **kwargs):
        from .services import amount_range_text

        super().__init__(*args, **kwargs)
        self.bill = bill
        self.fields["amount"].error_messages["required"] = REQUIRED.format(label="払込金額")
        # too many digits is too large: the bill's range says what is payable (PAY-2)
        self.fields["amount"].error_messages["max_length"] = amount_range_text(bill)
        self.fields["amount"].validators = [v for v in self.fields["amount"].validators
                                            if not isinstance(v, ProhibitNullCharactersValidator)]

    def clean_amount(self) -> int:
        from .services import PayeasyRefused, amount_check, amount_range_text

        # as a transfer's amount: commas, 円 and blanks around it; a dash is no separator
        # (「-1」 is not 1円), nor is a blank between digits (「1　1000」 is not 11,000円)
        amount = parse_yen(self.cleaned_data["amount"], required=AMOUNT_DIGITS, negative=AMOUNT_DIGITS,
                           not_number=AMOUNT_DIGITS, too_large=amount_range_text(self.bill))
        if amount == 0:
            raise forms.ValidationError(AMOUNT_DIGITS, code="digits")
        try:
            amount_check(self.bill, amount)
        except PayeasyRefused as refused:
            raise forms.ValidationError(refused.message, code="range") from None
        return amount


class LinkAccountForm(forms.Form):
    """情報リンク: the bill comes from the biller; the customer picks the account."""

    account = AccountChoiceField()

    def __init__(self, *args, accounts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = _account_choices(accounts)
