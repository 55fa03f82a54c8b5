"""cosei_ib.form_renderer writes exactly what Django's widget templates write (issue 14):
the same markup from the same widget context, escaping included; what it does not know
it leaves to the templates."""

from __future__ import annotations

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from cosei_ib.form_renderer import widget_renderer

TEMPLATES = DjangoTemplates()
HOSTILE = '"><script>alert(1)</script>&amp;'


class Everything(forms.Form):
    text = forms.CharField(label="名前", max_length=10, widget=forms.TextInput(attrs={
        "placeholder": HOSTILE, "autocomplete": "off", "data-flag": True, "data-off": False}))
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    hidden = forms.CharField(required=False, widget=forms.HiddenInput)
    number = forms.IntegerField(required=False)  # number.html: left to the templates
    choice = forms.ChoiceField(choices=[("a", HOSTILE), ("b", mark_safe("<b>安全</b>")), (3, "三"),
                                        ("l", gettext_lazy("<遅延>&'"))])  # a lazy string: escaped
    grouped = forms.ChoiceField(required=False, choices=[("組", [("x", "X"), ("y", "Y")]), ("z", "Z")])
    radio = forms.ChoiceField(widget=forms.RadioSelect, choices=[("1", "一"), ("2", HOSTILE)])
    many = forms.MultipleChoiceField(required=False, choices=[("p", "P"), ("q", "Q")])


def rendered(form: forms.Form) -> list[str]:
    html = []
    for field in form:
        html.append(str(field))
        html.append(field.as_widget(attrs={"aria-label": HOSTILE}))
        if isinstance(field.field.widget, forms.RadioSelect):
            html.extend(choice.tag() for choice in field)
            html.extend(str(choice) for choice in field)  # wrapped in its label: the templates
    return html


@pytest.mark.parametrize("data", [
    None,
    {"text": HOSTILE, "day": "2026-03-05", "hidden": HOSTILE, "number": "1", "choice": "b", "grouped": "y",
     "radio": "2", "many": ["p", "q"]},
    {"text": "", "day": "2026-13-45", "choice": HOSTILE, "radio": HOSTILE, "number": "x"},
])
def test_same_markup_as_the_widget_templates(data):
    assert rendered(Everything(data, renderer=widget_renderer)) == rendered(Everything(data, renderer=TEMPLATES))
