"""Input only: shapes and normalises what the customer typed; services decide."""

from __future__ import annotations

import re
import unicodedata

from django import forms

from cosei_ib.textinput import digits_typed_in_groups, display_name, normalise_digits

from .cards import CARD_CHALLENGE_CHANGED
from .otp import OTP_FORMAT

# Django's own messages for these are wrong or technical in Japanese: a NUL got
# 「何か文字を入力してください。」, a long value 「この値は 64 文字以下でなければなりません…」.
CONTRACT_ID_FORMAT = "契約者IDは10桁の数字で入力してください。"


def _unusable(label: str) -> dict:
    """The messages of a password-like field for a NUL and for a value past max_length."""
    return {"null_characters_not_allowed": f"{label}に使用できない文字が含まれています。",
            "max_length": f"{label}が長すぎます。"}


def _typed_password(label: str, value: str) -> str:
    """A login password is half-width letters and digits (SEC-2), so one with anything
    outside printable ASCII — full-width letters or digits (the IME left on), a blank, an
    emoji — can never be right: a format error said as such, never checked or counted as
    a guess toward the lock (SEC-8), as a mistyped OTP is not. The message is the same
    for every contract ID."""
    if not re.fullmatch(r"[\x21-\x7e]*", value):
        raise forms.ValidationError(f"{label}は半角英数字で入力してください（全角文字・空白などが含まれています）。",
                                    code="format")
    return value


class LoginForm(forms.Form):
    contract_id = forms.CharField(
        label="契約者ID", max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "numeric"}),
        error_messages={"required": "契約者IDを入力してください。", "max_length": CONTRACT_ID_FORMAT,
                        "null_characters_not_allowed": CONTRACT_ID_FORMAT},
    )
    password = forms.CharField(
        label="ログインパスワード", max_length=64, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password",
                                          "data-soft-keyboard": "1"}),
        error_messages={"required": "ログインパスワードを入力してください。", **_unusable("ログインパスワード")},
    )

    def clean_contract_id(self) -> str:
        """One rule (SEC-1, probe35 F7): full-width made half-width and the blanks or hyphens
        typed between groups dropped (「1000 000 001」), the ID is 10 digits; anything else
        is the format message — never 「…正しくありません」, which is the answer for a
        well-formed ID, known or not. Nothing is looked up or counted for a malformed one."""
        typed = digits_typed_in_groups(self.cleaned_data["contract_id"])
        if not re.fullmatch(r"[0-9]{10}", typed, flags=re.ASCII):
            raise forms.ValidationError(CONTRACT_ID_FORMAT, code="format")
        return typed

    def clean_password(self) -> str:
        return _typed_password("ログインパスワード", self.cleaned_data["password"])


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(
        label="現在のログインパスワード", max_length=64, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password",
                                          "data-soft-keyboard": "1"}),
        error_messages={"required": "現在のログインパスワードを入力してください。",
                        **_unusable("現在のログインパスワード")},
    )
    new_password = forms.CharField(
        label="新しいログインパスワード", max_length=64, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password",
                                          "data-soft-keyboard": "1"}),
        error_messages={"required": "新しいログインパスワードを入力してください。",
                        **_unusable("新しいログインパスワード")},
    )
    new_password_again = forms.CharField(
        label="新しいログインパスワード（確認用）", max_length=64, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password",
                                          "data-soft-keyboard": "1"}),
        error_messages={"required": "確認のため、新しいログインパスワードをもう一度入力してください。",
                        **_unusable("新しいログインパスワード（確認用）")},
    )

    def clean_current_password(self) -> str:
        return _typed_password("現在のログインパスワード", self.cleaned_data["current_password"])

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password_again") is not None:
            if data["new_password"] != data["new_password_again"]:
                self.add_error("new_password_again", "確認用のパスワードが一致しません。")
        return data


# --- SEC-5 / 6 / 7: second factors -------------------------------------------------------

OTP_LOGIN_CHOICES = [("1", "認証する（ログイン時も利用）"), ("0", "認証しない（ログイン時は不要）")]
# Django's own 「正しく選択してください。 %(value)s は候補にありません。」 echoed what was
# posted (a NUL byte, markup) back to the customer (UI-1): a fixed message, no value
CHOICE_INVALID = "{label}の選択が正しくありません。もう一度選択してください。"


def choice_messages(required: str, label: str) -> dict:
    return {"required": required, "invalid_choice": CHOICE_INVALID.format(label=label)}


class OtpField(forms.CharField):
    """The six digits of a software token (全角 accepted, and blanks or hyphens between the
    digits: authenticator apps show 「123 456」, probe35 F4). Anything else is a format error
    here, before any service sees it: a typo like ``abc`` or ``12345`` is not a guess and
    does not count toward the OTP lock (SEC-8).

    No ``pattern`` attribute: every form showing the field is ``novalidate`` (the server's
    Japanese message says what is wrong), so a pattern only hinted — and the one it had
    refused 「123-456」, which this field reads. ``inputmode="numeric"`` gives the phone's
    numeric keyboard and ``one-time-code`` its autofill."""

    def __init__(self, **kwargs):
        super().__init__(
            label="ワンタイムパスワード", max_length=16,
            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                          "size": "8", "class": "otp-input"}),
            error_messages={"required": "ワンタイムパスワードを入力してください。", "max_length": OTP_FORMAT,
                            "null_characters_not_allowed": OTP_FORMAT}, **kwargs)

    def clean(self, value) -> str:
        code = digits_typed_in_groups(super().clean(value))  # 「123 456」 as the app shows it
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise forms.ValidationError(OTP_FORMAT, code="format")
        return code


def _otp_field() -> forms.CharField:
    return OtpField()


def answers_clear(form) -> None:
    """After a refused answer: the page comes back with no image selected and no code in
    the OTP field, so that sending it again cannot burn another attempt on the same wrong
    answer (SEC-8). Other inputs (serial number, choices) stay as typed."""
    names = [cell["name"] for cell in getattr(form, "challenge_cells", [])] + ["otp"]
    data = form.data.copy()
    for name in names:
        data.pop(name, None)
    challenge = getattr(form, "challenge", None)
    # the hidden id goes with the cells the page shows now: after 「認証用画像の指定が
    # 変わりました」 the bound field re-rendered the stale id it was posted with, under
    # the new challenge's cells, and every right answer was refused again (walk27 F1)
    form.data = _with_challenge_shown(data, challenge)


def _with_challenge_shown(data, challenge):
    """A copy of the posted ``data`` whose hidden ``challenge`` is the id of ``challenge``
    (the one whose cells the page shows), when there is one."""
    data = data.copy()
    if challenge is not None:
        data["challenge"] = str(challenge.pk)
    return data


def _challenge_changed(refused) -> bool:
    return CARD_CHALLENGE_CHANGED in refused.errors.values()


_CHALLENGE_MESSAGES = {code: CARD_CHALLENGE_CHANGED for code in (
    "required", "invalid", "null_characters_not_allowed", "max_value", "min_value")}


class ChallengeFormMixin:
    """Adds the image-card challenge fields (SEC-5) for ``challenge``: a hidden challenge id
    and one radio group per cell (``card_1``, ``card_2``) whose values are candidate
    positions. ``challenge_cells`` is what the include renders."""

    def add_challenge_fields(self, challenge) -> None:
        # lazy: the 16 image URLs are built only when the page is rendered, not on the
        # POST that answers correctly and redirects (issue 14)
        from django.urls import reverse_lazy

        from .cards import image_card_challenge_cells

        self.challenge = challenge
        self.challenge_cells = []
        # a hidden field's own error is shown nowhere: whatever is wrong with it (NUL, not a
        # number, missing) is said as the stale page it is, over the form (probe35 F6)
        self.fields["challenge"] = forms.IntegerField(widget=forms.HiddenInput, initial=challenge.pk,
                                                      error_messages=_CHALLENGE_MESSAGES)
        for cell in image_card_challenge_cells(challenge):
            name = f"card_{cell['position'] + 1}"
            self.fields[name] = forms.TypedChoiceField(
                label=f"マス目 {cell['label']} の画像", coerce=int,
                choices=[(str(index), label) for index, label in cell["candidates"]],
                widget=forms.RadioSelect,
                error_messages=choice_messages(f"マス目 {cell['label']} の認証用画像を選択してください。",
                                               f"マス目 {cell['label']} の認証用画像"),
            )
            self.challenge_cells.append({
                "label": cell["label"], "name": name,
                "candidates": [
                    (str(index), label, reverse_lazy("security:card_image",
                                                     args=[challenge.pk, cell["position"], index]))
                    for index, label in cell["candidates"]
                ],
            })

    def card_reissued_on(self):
        """When the card being asked was issued to replace another, in the last
        ``cards.REISSUE_TOLD_DAYS`` days: its 発行日時, for the page to say the old card no
        longer answers (walk33 F3: a customer with the old card read only 「指定が変わりました」,
        then 「正しくありません」, and locked the card). None otherwise (no query unless recent)."""
        from .cards import image_card_reissued_on

        challenge = getattr(self, "challenge", None)
        return None if challenge is None else image_card_reissued_on(challenge.card)

    def challenge_refresh(self) -> None:
        """After 「認証用画像の指定が変わりました」: the cells of the customer's open
        challenge as it is now — the one this form was built with may itself have been
        answered in another tab meanwhile (walk27 F1). A lock or a missing card is told by
        the next page view; the cells shown stay."""
        from .cards import image_card_challenge_current
        from .errors import AuthFactorError

        try:
            challenge = image_card_challenge_current(customer=self.challenge.customer)
        except AuthFactorError:
            return
        if challenge.pk != self.challenge.pk:
            for cell in self.challenge_cells:
                self.fields.pop(cell["name"], None)
            self.add_challenge_fields(challenge)

    def clean(self):
        data = super().clean()
        if "challenge" in self._errors:
            self.add_error(None, self._errors.pop("challenge")[0])
            # the page re-rendered the bad id it was posted with, and every resend of it was
            # refused again until a reload: the hidden field goes with the cells shown, as
            # after a refused answer (answers_clear)
            self.data = _with_challenge_shown(self.data, self.challenge)
        return data

    def challenge_answer(self) -> dict:
        return {"challenge_id": self.cleaned_data["challenge"],
                "card_answers": [self.cleaned_data[cell["name"]] for cell in self.challenge_cells]}

    def bound_challenge_cells(self) -> list[dict]:
        return [{**cell, "field": self[cell["name"]]} for cell in self.challenge_cells]


class StepUpForm(ChallengeFormMixin, forms.Form):
    """The step-up answer (SEC-7): the OTP field, or the two image-card cells.

    Build it with ``StepUpForm.for_stepup(stepup, data)``; render it with
    ``{% with stepup_form=form %}{% include "security/includes/stepup_challenge.html" %}{% endwith %}`` (Jinja2); pass
    ``**form.answer()`` to ``stepup_verify_execute``; show refusals with
    ``form.add_refusal(error)``.
    ``form.unavailable`` holds the message when the factor is locked or missing.
    """

    def __init__(self, data=None, *, method: str, challenge=None, unavailable: str = "",
                 verified: bool = False, **kwargs):
        super().__init__(data, **kwargs)
        self.method = method
        self.unavailable = unavailable
        self.verified = verified
        self.challenge_cells = []
        self.stepup_id = kwargs.get("initial", {}).get("stepup_id")
        self.other_factor_allowed = False
        if verified:
            pass  # no answer fields: stepup_verify_execute does not ask a verified step-up again
        elif method == "otp":
            self.fields["otp"] = _otp_field()
        elif method == "passkey":
            self.fields["passkey_response"] = passkey_response_field()
        elif challenge is not None:
            self.add_challenge_fields(challenge)

    @classmethod
    def for_stepup(cls, stepup, data=None) -> StepUpForm:
        from .cards import image_card_challenge_current
        from .errors import AuthFactorError
        from .stepup import stepup_methods_allowed

        if stepup.verified_at is not None:
            # answered right, then the operation was refused (a frozen account): the answer
            # stands until the step-up expires, so nothing is asked — only the button (walk25 F11)
            return cls(data, method=stepup.method, verified=True, initial={"stepup_id": stepup.pk})
        if stepup.method == "passkey":
            form = cls(data, method="passkey", initial={"stepup_id": stepup.pk})
            # SEC-16: another factor is offered unless the passkey is the only one accepted
            form.other_factor_allowed = len(stepup_methods_allowed(stepup.customer)) > 1
            return form
        shown = {"stepup_id": stepup.pk}  # posted back: the operation this page shows (SEC-14)
        if stepup.method == "otp":
            return cls(data, method="otp", initial=shown)
        try:
            challenge = image_card_challenge_current(customer=stepup.customer)
        except AuthFactorError as refused:
            return cls(data, method="image_card", unavailable=refused.message, initial=shown)
        return cls(data, method="image_card", challenge=challenge, initial=shown)

    @classmethod
    def answer_shaped(cls, data) -> tuple[str, dict] | None:
        """A confirm POST's answer, for ``stepup_verify_execute(answered=…)``, without
        reading the step-up or its challenge (issue 14: they are read under the
        confirmation's locks, and the form built from them only when it is refused):
        ``(method, answer)``, or None when the POST is not a whole answer of one factor —
        the form read from the database then judges it. Takes only what that form would
        take as it stands; whether it fits the rows is checked under their locks
        (AnswerStale otherwise)."""
        from .cards import CHALLENGE_CELLS

        if "otp" in data or "passkey_response" in data:
            form = cls(data, method="otp" if "otp" in data else "passkey")
            return (form.method, form.answer()) if form.is_valid() else None
        challenge = _digits(data.get("challenge"), 18)
        answers = [_digits(data.get(f"card_{position + 1}"), 1) for position in range(CHALLENGE_CELLS)]
        if challenge is None or None in answers:
            return None
        return "image_card", {"challenge_id": challenge, "card_answers": answers}

    def is_valid(self) -> bool:
        return not self.unavailable and super().is_valid()

    def answer(self) -> dict:
        if self.verified:
            return {}
        if self.method == "otp":
            return {"otp": self.cleaned_data["otp"]}
        if self.method == "passkey":
            return {"passkey_response": self.cleaned_data["passkey_response"]}
        return self.challenge_answer()

    def add_page_error(self, message: str) -> None:
        """A refusal of the page, not of an answer: also on an unbound form (nothing was
        checked), which has no ``cleaned_data`` for ``add_error``."""
        if not hasattr(self, "cleaned_data"):
            self.cleaned_data = {}
        self.add_error(None, message)

    def add_refusal(self, refused) -> None:
        for field, message in refused.errors.items():
            self.add_error("otp" if field == "otp" and "otp" in self.fields else None, message)
        if self.challenge_cells and _challenge_changed(refused):
            self.challenge_refresh()
        answers_clear(self)


def _digits(value, most: int) -> int | None:
    """``value`` as an integer when it is 1 to ``most`` ASCII digits and nothing else —
    less than the form's fields take (their errors come from the form itself)."""
    if not value or len(value) > most or not (value.isascii() and value.isdigit()):
        return None
    return int(value)


PASSKEY_REQUIRED = "パスキーによる認証を行ってください（「パスキーで認証」ボタン）。"


def passkey_response_field() -> forms.CharField:
    """The browser's WebAuthn response (JSON), filled in by static/js/passkey.js."""
    return forms.CharField(widget=forms.HiddenInput(attrs={"data-passkey-response": ""}),
                           max_length=16_000, strip=False,
                           error_messages={"required": PASSKEY_REQUIRED,
                                           "max_length": PASSKEY_REQUIRED})


class PasskeyLoginForm(forms.Form):
    passkey_response = passkey_response_field()


PASSKEY_NAME_MAX = 32  # characters seen (display_name), the column's length
PASSKEY_NAME_TOO_LONG = f"パスキーの名前は{PASSKEY_NAME_MAX}文字以内で入力してください。"


class PasskeyNameForm(forms.Form):
    name = forms.CharField(
        label="パスキーの名前（例：私のスマートフォン）", max_length=PASSKEY_NAME_MAX * 2,  # ｶﾞ: 2 typed, 1 seen
        error_messages={"required": "パスキーの名前を入力してください。",
                        "max_length": PASSKEY_NAME_TOO_LONG,
                        "null_characters_not_allowed": "パスキーの名前に使えない文字が含まれています。"},
    )

    def clean_name(self) -> str:
        """Stored as ``display_name`` makes it, counted as the customer sees it (probe34 F6:
        half-width voiced kana counted twice, as for a payee's 登録名)."""
        name = display_name(self.cleaned_data["name"].strip())
        if len(name) > PASSKEY_NAME_MAX:
            raise forms.ValidationError(PASSKEY_NAME_TOO_LONG)
        if any(unicodedata.category(char).startswith("C") for char in name):
            raise forms.ValidationError("パスキーの名前に使えない文字が含まれています。")
        if not name:
            raise forms.ValidationError("パスキーの名前を入力してください。")
        return name


class PasskeyRegisterForm(forms.Form):
    passkey_response = passkey_response_field()


class OtpLoginForm(forms.Form):
    otp = _otp_field()

    def add_refusal(self, refused) -> None:
        self.add_error("otp", refused.message)
        answers_clear(self)


class OtpRegisterForm(ChallengeFormMixin, forms.Form):
    """利用開始（ワンタイムパスワード登録）: serial number, current OTP, OTP at login, and the
    image-card challenge."""

    serial = forms.CharField(
        label="シリアル番号", max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
        error_messages={"required": "シリアル番号を入力してください。",
                        "max_length": "シリアル番号を正しく入力してください。",
                        "null_characters_not_allowed": "シリアル番号を正しく入力してください。"},
    )
    otp = _otp_field()
    required_at_login = forms.TypedChoiceField(
        label="ログイン時のワンタイムパスワード認証", choices=OTP_LOGIN_CHOICES,
        coerce=lambda value: value == "1", widget=forms.RadioSelect,
        error_messages=choice_messages("ログイン時の認証要否を選択してください。", "ログイン時の認証要否"),
    )

    def __init__(self, data=None, *, challenge=None, unavailable: str = "", **kwargs):
        super().__init__(data, **kwargs)
        self.unavailable = unavailable
        self.challenge_cells = []
        self.method = "image_card"
        if challenge is not None:
            self.add_challenge_fields(challenge)

    def clean_serial(self) -> str:
        return normalise_digits(self.cleaned_data["serial"]).upper().replace("-", "").replace(" ", "")

    def is_valid(self) -> bool:
        return not self.unavailable and super().is_valid()

    def add_refusal(self, refused) -> None:
        for field, message in refused.errors.items():
            self.add_error(field if field in ("otp", "serial") else None, message)
        if self.challenge_cells and _challenge_changed(refused):
            self.challenge_refresh()
        answers_clear(self)


class OtpLoginSettingForm(forms.Form):
    required_at_login = forms.TypedChoiceField(
        label="ログイン時のワンタイムパスワード認証", choices=OTP_LOGIN_CHOICES,
        coerce=lambda value: value == "1", widget=forms.RadioSelect,
        error_messages=choice_messages("ログイン時の認証要否を選択してください。", "ログイン時の認証要否"),
    )
