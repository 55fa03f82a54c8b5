"""Bad input always gets a clear Japanese message (SEC-1, STYLE errors): a NUL or a very
long value in a text field fell through to Django's own messages. Django's Japanese for
"Null characters are not allowed." is 「何か文字を入力してください。」 ("please type
something") — wrong for a customer who typed something — and its length message is the
technical 「この値は 64 文字以下でなければなりません( 65 文字になっています)。」. The login
page showed both (a NUL in the contract ID or password, a pasted long value)."""

import pytest
from django import forms
from django.test import Client

from notifications.forms import EmailAddressForm, EmailCodeForm
from security.forms import (LoginForm, OtpLoginForm, OtpLoginSettingForm, OtpRegisterForm, PasskeyNameForm,
                            PasswordChangeForm, StepUpForm)
from accounts.admin import CounterDepositForm
from security.customer_admin import ReasonForm, ResumeForm, UnlockForm
from transfers.forms import NicknameForm

pytestmark = pytest.mark.django_db

DJANGO_DEFAULTS = ("何か文字を入力してください", "文字以下でなければなりません", "文字になっています")
FORMS = [LoginForm, PasswordChangeForm, PasskeyNameForm, OtpLoginForm, OtpRegisterForm, EmailAddressForm,
         EmailCodeForm, NicknameForm,
         # branch staff's forms (STAFF-1): the same Django messages reached them
         ReasonForm, ResumeForm, UnlockForm, CounterDepositForm]


@pytest.mark.parametrize("value", ["\x00", "12\x0034", "1" * 10_000, "ア" * 300])
@pytest.mark.parametrize("form_class", FORMS, ids=[form.__name__ for form in FORMS])
def test_no_customer_form_shows_djangos_null_or_length_message(form_class, value):
    names = [name for name, field in form_class.base_fields.items() if isinstance(field, forms.CharField)]
    form = form_class({name: value for name in names})
    form.is_valid()
    for name, errors in form.errors.items():
        for error in errors:
            assert not any(text in error for text in DJANGO_DEFAULTS), (form_class.__name__, name, error)


def test_login_page_says_what_is_wrong_with_a_nul_or_a_long_contract_id():
    page = Client().post("/login/", {"contract_id": "500000000\x001", "password": "Pass1234"}).content.decode()
    assert "契約者IDは10桁の数字で入力してください。" in page and "何か文字" not in page
    page = Client().post("/login/", {"contract_id": "1" * 21, "password": "Pass\x001234"}).content.decode()
    assert "契約者IDは10桁の数字で入力してください。" in page
    assert "ログインパスワードに使用できない文字が含まれています。" in page and "何か文字" not in page


CHOICE_FORMS = [OtpLoginSettingForm, OtpRegisterForm, UnlockForm]


@pytest.mark.parametrize("value", ["\x00", "2", "<b>x</b>"])
@pytest.mark.parametrize("form_class", CHOICE_FORMS, ids=[form.__name__ for form in CHOICE_FORMS])
def test_a_choice_not_offered_is_told_in_japanese_without_the_value(form_class, value):
    """UI-1: Django's 「正しく選択してください。 \\x00 は候補にありません。」 echoed the posted
    value (POST required_at_login=%00 to /settings/otp-login/); a fixed message names the
    field instead."""
    names = [name for name, field in form_class.base_fields.items() if isinstance(field, forms.ChoiceField)]
    assert names
    form = form_class({name: value for name in names})
    assert not form.is_valid()
    for name in names:
        [error] = form.errors[name]
        assert error.endswith("の選択が正しくありません。もう一度選択してください。") and value not in error


def test_an_image_card_answer_not_offered_is_told_in_japanese_without_the_value():
    from security.stepup import stepup_begin
    from tests.security.secondfactor import customer_with_card

    pending = stepup_begin(customer=customer_with_card(), kind="transfer", content={"amount": 1000})
    form = StepUpForm.for_stepup(pending, {"challenge": str(StepUpForm.for_stepup(pending).challenge.pk),
                                           "card_1": "\x00", "card_2": "99"})
    assert not form.is_valid()
    assert form.errors["card_1"][0].startswith("マス目 ") and "\x00" not in form.errors["card_1"][0]
    assert form.errors["card_2"][0].endswith("の認証用画像の選択が正しくありません。もう一度選択してください。")
    assert "99" not in form.errors["card_2"][0]


def test_the_otp_login_setting_page_does_not_echo_a_posted_nul():
    from tests.security.secondfactor import activate_otp, customer_with_card

    customer = customer_with_card()
    activate_otp(customer, required_at_login=False)
    client = Client()
    client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    response = client.post("/settings/otp-login/", {"required_at_login": "\x00"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "ログイン時の認証要否の選択が正しくありません。もう一度選択してください。" in page
    assert "候補にありません" not in page and "\x00" not in page
