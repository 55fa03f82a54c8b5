"""Staff forms of the interbank exchange (XFER-12)."""

from __future__ import annotations

from django import forms

from cosei_ib.staff_confirm import CONFIRM_MINUTES, confirm_token, confirm_token_matches
from transfers.models import InterbankReturn, OutgoingTransfer
from transfers.zengin import half_width_digits

from .services import ALREADY_RETURNED, MAX_FILE_BYTES, NOT_SENT

NUMBER_FORMAT = "データ番号（顧客コード1）は10桁以内の数字で入力してください。"
NUMBER_UNKNOWN = "このデータ番号の他行宛振込はありません。"
FILE_TOO_LARGE = f"ファイルが大きすぎます（{MAX_FILE_BYTES:,}バイトまで）。"
# walk26 F3: the confirm page's second submit is bound to the record it showed
RETURN_CONFIRM_MINUTES = CONFIRM_MINUTES
RETURN_CONFIRM_STALE = (f"確認画面の有効期限（{RETURN_CONFIRM_MINUTES}分）が過ぎたか、確認画面の内容と一致しないため、"
                        "返却していません。もう一度データ番号を入力してください。")
RETURN_CONFIRM_SALT = "transfers.interbank.return-confirm"


class BusinessDayForm(forms.Form):
    day = forms.DateField(label="決済日（営業日）", widget=forms.DateInput(attrs={"type": "date"}),
                          error_messages={"required": "決済日を入力してください。",
                                          "invalid": "決済日は 2026-12-04 の形で入力してください。"})


class OutgoingReturnForm(forms.Form):
    number = forms.CharField(label="データ番号（顧客コード1）", max_length=20,
                             help_text="仕向ファイルのデータ・レコードの顧客コード1（他行宛振込データのID）")
    reason = forms.ChoiceField(label="返却理由", choices=InterbankReturn.Reason.choices)

    def clean_number(self):
        value = half_width_digits(self.cleaned_data["number"]).lstrip("0") or "0"
        if len(value) > 10 or not value.isascii() or not value.isdigit():
            raise forms.ValidationError(NUMBER_FORMAT)
        outgoing = (OutgoingTransfer.objects.select_related("transfer__customer", "transfer__debit_account__branch")
                    .filter(pk=int(value)).first())
        if outgoing is None:
            raise forms.ValidationError(NUMBER_UNKNOWN)
        # said before the confirm page (the service refuses the same under the row's lock)
        if outgoing.status != OutgoingTransfer.Status.SENT:
            raise forms.ValidationError(NOT_SENT)
        if InterbankReturn.objects.filter(outgoing=outgoing).exists():
            raise forms.ValidationError(ALREADY_RETURNED, code="returned")
        return outgoing


def return_confirm_token(*, outgoing: OutgoingTransfer, reason: str, staff: str) -> str:
    """What the confirm page's form carries: the record, the reason and the staff member it
    was shown to, signed with a time (walk26 F3)."""
    return confirm_token(salt=RETURN_CONFIRM_SALT, outgoing=outgoing.pk, reason=reason, staff=staff)


class OutgoingReturnConfirmForm(OutgoingReturnForm):
    """The second submit (walk26 F3): the record and reason again, as hidden fields checked
    like the first submit, and a signed token naming the same record, reason and staff
    member within RETURN_CONFIRM_MINUTES — so it returns only what the page showed. A
    replay, or the same record confirmed in two tabs, is refused by the database (one
    return per record) and said as ALREADY_RETURNED."""

    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, staff: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = staff
        for name in ("number", "reason"):
            self.fields[name].widget = forms.HiddenInput()

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if not confirm_token_matches(cleaned.get("token", ""), salt=RETURN_CONFIRM_SALT,
                                     outgoing=cleaned["number"].pk, reason=cleaned["reason"], staff=self.staff):
            raise forms.ValidationError(RETURN_CONFIRM_STALE, code="stale")
        return cleaned


class IncomingUploadForm(forms.Form):
    file = forms.FileField(label="振込入金明細ファイル（全銀協規定形式 総合振込・120バイト）",
                           error_messages={"required": "ファイルを選択してください。",
                                           "empty": "ファイルが空です。"})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(FILE_TOO_LARGE)
        return upload
