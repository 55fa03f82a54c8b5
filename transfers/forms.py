"""Input of the transfer pages (XFER-9, XFER-10): full-width digits accepted, every bad
value a Japanese message; lengths are checked before anything is converted to int."""

from __future__ import annotations

import re
import unicodedata

from django import forms
from django.utils.html import format_html

from accounts.forms import JapaneseDateField, _date_widget
from accounts.models import Account
from accounts.templatetags.accounts_format import account_label, japanese_date, payee_place
from cosei_ib.textinput import display_name, parse_yen, yen_field

from .zengin import ZenginNameError, half_width_digits, zengin_name

AMOUNT_REQUIRED = "振込金額を入力してください。"
AMOUNT_NEGATIVE = "振込金額にマイナスの金額は指定できません。"
AMOUNT_NOT_NUMBER = "振込金額は数字（円単位）で入力してください。"
AMOUNT_TOO_LARGE = "振込金額が大きすぎます。"
AMOUNT_ZERO = "振込金額は1円以上で入力してください。"
NUMBER_REQUIRED = "口座番号を入力してください。"
NUMBER_NOT_DIGITS = "口座番号は数字7桁以内で入力してください。"
TYPE_REQUIRED = "科目を選択してください。"
NICKNAME_MAX = 20
NICKNAME_TOO_LONG = f"登録名は{NICKNAME_MAX}文字以内で入力してください。"
NICKNAME_BAD = "登録名に使用できない文字が含まれています。"
LIMIT_REQUIRED = "変更後の利用限度額を入力してください。"
LIMIT_NOT_NUMBER = "利用限度額は数字（円単位）で入力してください。"
LIMIT_TOO_LARGE = "利用限度額が大きすぎます。"
LIMIT_NEGATIVE = "1日の利用限度額は0円以上で指定してください。"  # as the service says it (walk28 F6)


class StartForm(forms.Form):
    debit_account = forms.TypedChoiceField(label="引落口座", coerce=int, widget=forms.RadioSelect,
                                           error_messages={"required": "引落口座を選択してください。",
                                                           "invalid_choice": "引落口座を選択してください。"})
    payee = forms.TypedChoiceField(label="登録済みの振込先", coerce=int, required=False, widget=forms.RadioSelect,
                                   error_messages={"invalid_choice": "振込先を選択してください。"})

    def __init__(self, data=None, *, accounts, payees, **kwargs):
        super().__init__(data, **kwargs)
        # the amount as one piece: on a phone it broke mid-word (「お支払可 / 能額」); one
        # span for the whole text, as the label is a flex row beside its radio (UI-1)
        self.fields["debit_account"].choices = [
            (account.pk, format_html('<span>{}<span class="keep-together">（お支払可能額 {}円）</span></span>',
                                     account_label(account), f"{account.available_amount:,}"))
            for account in accounts]
        self.fields["payee"].choices = [
            (payee.pk, f"{payee.label}（{payee_place(payee.bank_name, payee.branch_name)} "
                       f"{payee.get_account_type_display()} {payee.account_number}）") for payee in payees]


class AccountEntryForm(forms.Form):
    account_type = forms.ChoiceField(label="科目", choices=Account.Type.choices, widget=forms.RadioSelect,
                                     initial=Account.Type.ORDINARY,
                                     error_messages={"required": TYPE_REQUIRED, "invalid_choice": TYPE_REQUIRED})
    account_number = forms.CharField(
        label="口座番号", max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "size": "10"}),
        error_messages={"required": NUMBER_REQUIRED, "max_length": NUMBER_NOT_DIGITS,
                        "null_characters_not_allowed": NUMBER_NOT_DIGITS})

    def clean_account_number(self) -> str:
        """Up to 7 digits (full-width accepted), zero-padded on the left (XFER-10); blanks
        and hyphens between digits are dropped, a sign (「-1」) is not a number."""
        text = half_width_digits(self.cleaned_data["account_number"]).replace(" ", "")
        text = re.sub(r"(?<=[0-9])-(?=[0-9])", "", text, flags=re.ASCII)
        if not re.fullmatch(r"[0-9]{1,7}", text, flags=re.ASCII):
            raise forms.ValidationError(NUMBER_NOT_DIGITS)
        return text.zfill(7)


# walk33 F2: a date the PC's calendar could not hold (12/11 with no year) reaches the server
# as '' — it was read as 本日, and a meant 予約 was executed at once. The field is shown with
# today's date in it; sent empty, it is asked for.
DATE_EMPTY = "振込日を入力してください（本日のお振込は本日の日付を入力してください）。"
# review33 F6: the date given is past now (the page was shown before 0:00): kept in the field
# as given, not replaced with today's, and asked for again
DATE_CHOOSE_AGAIN = "振込日（{day}）は過ぎています。本日以降の日付を入力してください。"
# sched35: a 予約's date that has become today (confirmed after 0:00): not booked, asked again
DATE_BOOKING_TODAY = ("振込日（{day}）は本日になったため、ご予約できません。本日のお振込は本日の日付のまま、"
                      "ご予約は翌営業日以降の日付を入力してください。")


class DetailsForm(forms.Form):
    amount = yen_field("振込金額（円）", required=AMOUNT_REQUIRED, too_large=AMOUNT_TOO_LARGE,
                       not_number=AMOUNT_NOT_NUMBER)
    fee_borne_by_payee = forms.BooleanField(label="振込手数料を先方負担にする（振込金額から手数料を差し引いて振り込みます）",
                                            required=False)
    sender_name = forms.CharField(
        label="依頼人名（カナ）", max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": "30"}),
        error_messages={"required": "依頼人名を入力してください。", "max_length": "依頼人名が長すぎます。",
                        "null_characters_not_allowed": "依頼人名に使用できない文字が含まれています。"})
    # 予約振込 (XFER-5): shown with today's date in it (the view); typed on a phone (UI-1), a
    # picker on a PC. Not sent at all (a client of the form's own, the tests) = today; sent
    # empty = asked for (walk33 F2: the picker sends '' for a date it cannot hold)
    transfer_date = JapaneseDateField(label="振込日", required=False)

    def __init__(self, data=None, *, smartphone: bool = False, today=None, last_day=None,
                 date_example: str | None = None, **kwargs):
        super().__init__(data, **kwargs)
        if date_example:  # the next business day, a date the customer could really give (walk22)
            self.fields["transfer_date"].example = date_example
        self.fields["transfer_date"].widget = _date_widget(smartphone, example=self.fields["transfer_date"].example)
        if not smartphone and today is not None:
            self.fields["transfer_date"].widget.attrs.update(min=today.isoformat(), max=last_day.isoformat())

    @classmethod
    def date_to_choose_again(cls, kept: dict, *, today, **kwargs) -> DetailsForm | None:
        """The form as the customer last sent it (``kept``), with DATE_CHOOSE_AGAIN at the
        date, when the date given is before ``today`` (review33 F6) — or DATE_BOOKING_TODAY
        when it is today and was a 予約 (``kept["scheduled"]``, sched35); else None."""
        data = {**kept, "fee_borne_by_payee": "on" if kept.get("fee_borne_by_payee") else ""}
        form = cls(data, today=today, **kwargs)
        form.is_valid()
        day = form.cleaned_data.get("transfer_date")
        if day is None or day > today or (day == today and not kept.get("scheduled")):
            return None
        form.add_error("transfer_date", (DATE_CHOOSE_AGAIN if day < today else DATE_BOOKING_TODAY)
                       .format(day=japanese_date(day)))
        return form

    def clean_transfer_date(self):
        day = self.cleaned_data.get("transfer_date")
        if day is None and "transfer_date" in self.data:
            raise forms.ValidationError(DATE_EMPTY, code="required")
        return day

    def clean_amount(self) -> int:
        amount = parse_yen(self.cleaned_data["amount"], required=AMOUNT_REQUIRED, negative=AMOUNT_NEGATIVE,
                           not_number=AMOUNT_NOT_NUMBER, too_large=AMOUNT_TOO_LARGE)
        if amount == 0:
            raise forms.ValidationError(AMOUNT_ZERO)
        return amount

    def clean_sender_name(self) -> str:
        try:
            return zengin_name(self.cleaned_data["sender_name"], label="依頼人名", limit=40)
        except ZenginNameError as refused:
            raise forms.ValidationError(refused.message) from None


class NicknameForm(forms.Form):
    nickname = forms.CharField(label="登録名", max_length=60, required=False,
                               widget=forms.TextInput(attrs={"autocomplete": "off", "size": "24"}),
                               error_messages={"max_length": NICKNAME_TOO_LONG, "null_characters_not_allowed": NICKNAME_BAD})

    def clean_nickname(self) -> str:
        """The name as stored: ``display_name`` (half-width katakana made full-width, ｶﾞ → ガ),
        counted as the customer sees it (probe34 F6); up to 60 code points typed."""
        value = display_name(self.cleaned_data["nickname"].strip())
        if len(value) > NICKNAME_MAX:
            raise forms.ValidationError(NICKNAME_TOO_LONG)
        # control and format characters (C0, C1, U+202E, zero-width …), as a passkey's name
        if any(unicodedata.category(char).startswith("C") for char in value):
            raise forms.ValidationError(NICKNAME_BAD)
        return value


class LimitForm(forms.Form):
    new_limit = yen_field("変更後の1日の利用限度額（円）", required=LIMIT_REQUIRED, too_large=LIMIT_TOO_LARGE,
                          not_number=LIMIT_NOT_NUMBER)

    def clean_new_limit(self) -> int:
        return parse_yen(self.cleaned_data["new_limit"], required=LIMIT_REQUIRED, negative=LIMIT_NEGATIVE,
                         not_number=LIMIT_NOT_NUMBER, too_large=LIMIT_TOO_LARGE)
