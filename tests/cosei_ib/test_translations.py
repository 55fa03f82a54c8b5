"""Corrections to Django's own Japanese (locale/ja/LC_MESSAGES/django.po, LOCALE_PATHS).

walk26 F11: Django's Japanese for "Null characters are not allowed." is 「何か文字を入力して
ください。」 ("type something"); a NUL in any text field without a message of its own (a
hidden field, a staff form, a form added later) said that. The override is the one place
for every form; the compiled catalogue must match its source."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.utils import translation

from accounts.forms import BankClosingDayForm
from security.forms import PasskeyLoginForm

PO = Path(settings.BASE_DIR) / "locale" / "ja" / "LC_MESSAGES" / "django.po"


def test_django_null_message_is_corrected_for_every_form():
    with translation.override("ja"):
        field = forms.CharField()
        with pytest.raises(forms.ValidationError) as refused:
            field.clean("a\x00b")
    assert refused.value.messages == ["使用できない文字が含まれています。"]


@pytest.mark.django_db
@pytest.mark.parametrize("form_class", [PasskeyLoginForm, BankClosingDayForm])
def test_forms_without_their_own_message_say_it_in_plain_japanese(form_class):
    names = [name for name, field in form_class.base_fields.items() if isinstance(field, forms.CharField)]
    form = form_class({name: "x\x00" for name in names})
    form.is_valid()
    errors = [error for name in names for error in form.errors.get(name, [])]
    assert errors and not any("何か文字" in error for error in errors)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="msgfmt (gettext) is not installed")
def test_the_compiled_catalogue_matches_its_source(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(compiled), str(PO)], check=True)
    assert compiled.read_bytes() == PO.with_suffix(".mo").read_bytes(), "run msgfmt (see django.po)"
