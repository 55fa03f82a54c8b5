"""Staff forms of the interbank exchange (XFER-12)."""

from __future__ import annotations

from django import forms

from transfers.models import InterbankReturn, OutgoingTransfer
from transfers.zengin import half_width_digits

from .services import MAX_FILE_BYTES

NUMBER_FORMAT = "データ番号（顧客コード1）は10桁以内の数字で入力してください。"
NUMBER_UNKNOWN = "このデータ番号の他行宛振込はありません。"
FILE_TOO_LARGE = f"ファイルが大きすぎます（{MAX_FILE_BYTES:,}バイトまで）。"


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
        outgoing = OutgoingTransfer.objects.filter(pk=int(value)).first()
        if outgoing is None:
            raise forms.ValidationError(NUMBER_UNKNOWN)
        return outgoing


class IncomingUploadForm(forms.Form):
    file = forms.FileField(label="振込入金明細ファイル（全銀協規定形式 総合振込・120バイト）",
                           error_messages={"required": "ファイルを選択してください。",
                                           "empty": "ファイルが空です。"})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(FILE_TOO_LARGE)
        return upload
