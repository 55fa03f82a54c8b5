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
from security.forms import LoginForm, OtpLoginForm, OtpRegisterForm, PasskeyNameForm, PasswordChangeForm
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
