"""cosei_ib.form_renderer writes exactly what Django's widget templates write (issue 14):
the same markup from the same widget context, escaping included; what it does not know
it leaves to the templates."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from accounts.forms import StatementForm
from accounts.models import Account, Branch
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


STATEMENT_ACCOUNTS = [Account(id=7 + index, branch=Branch(id=1, code="001", name="本店営業部"),
                              type=Account.Type.ORDINARY, number=f"123456{index}", customer_id=1)
                      for index in range(2)]


def statement_form(data, *, smartphone, renderer):
    today = dt.date(2026, 3, 20)
    return StatementForm(data, accounts=STATEMENT_ACCOUNTS, today=today, smartphone=smartphone, renderer=renderer,
                         initial={"account": 7, "date": today, "date_from": today.replace(day=1), "date_to": today,
                                  "count": 10})


@pytest.mark.parametrize("data", [
    None,
    {"text": HOSTILE, "day": "2026-03-05", "hidden": HOSTILE, "number": "1", "choice": "b", "grouped": "y",
     "radio": "2", "many": ["p", "q"]},
    {"text": "", "day": "2026-13-45", "choice": HOSTILE, "radio": HOSTILE, "number": "x"},
])
def test_same_markup_as_the_widget_templates(data):
    assert rendered(Everything(data, renderer=widget_renderer)) == rendered(Everything(data, renderer=TEMPLATES))


@pytest.mark.parametrize("smartphone", [False, True])
@pytest.mark.parametrize("data", [
    None,
    {"account": "8", "mode": "period", "date_from": "2026-03-01", "date_to": "2026-03-20", "order": "asc"},
    {"account": "8", "mode": "date", "date": "２０２６/13/01", "count": "7", "order": "x", "cursor": "zz"},
    {"account": "99", "mode": HOSTILE, "date_from": HOSTILE, "date_to": "", "count": "50"},
])
def test_the_statement_query_form_is_rendered_as_before(data, smartphone):
    fast = statement_form(data, smartphone=smartphone, renderer=None)
    assert fast.renderer is widget_renderer
    slow = statement_form(data, smartphone=smartphone, renderer=TEMPLATES)
    if data is not None:
        assert fast.is_valid() == slow.is_valid()
    assert rendered(fast) == rendered(slow)
