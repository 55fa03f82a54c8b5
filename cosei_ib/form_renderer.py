"""A form renderer that writes Django's plain input and select widgets in Python.

Django renders every widget, and every option of a select, through its widget templates
(``django/forms/widgets/*.html``, each including ``attrs.html``): on 入出金明細照会 the nine
widgets of the query form cost ~2 ms of CPU per page view, more than the statement's
query (bench/pages_profile.py, issue 14). This renderer writes the same markup from the
same widget context — ``Widget.get_context()`` still decides every attribute (values,
``required``, ``aria-invalid``, ``aria-describedby``, selected options) — for the
templates below, exactly as those templates would (tests/cosei_ib/test_form_renderer.py
compares them), and hands anything else to the templates.
"""

from __future__ import annotations

from html import escape

from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

_INPUT_TEMPLATES = frozenset({
    "django/forms/widgets/input.html",
    "django/forms/widgets/text.html",
    "django/forms/widgets/date.html",
    "django/forms/widgets/hidden.html",
})
_SELECT = "django/forms/widgets/select.html"
_SELECT_OPTION = "django/forms/widgets/select_option.html"
_RADIO_OPTION = "django/forms/widgets/radio_option.html"


def conditional_escape(value) -> str:
    """Django's ``conditional_escape`` (its ``escape`` is ``html.escape`` of ``str()``),
    without the lazy-string wrapper Django's carries, which cost more than the escaping
    itself for the ~40 values of a form (issue 14). A lazy string has no ``__html__``
    and is escaped after ``str()``, as by Django's."""
    return value.__html__() if hasattr(value, "__html__") else escape(str(value))


def _text(value) -> str:
    """``{{ value|stringformat:'s' }}``: str(), escaped unless already safe."""
    return conditional_escape(value if isinstance(value, str) else str(value))


def _attrs(attrs: dict) -> str:
    """``attrs.html``: False leaves the attribute out, True writes its bare name."""
    return "".join(
        f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{_text(value)}"'
        for name, value in attrs.items() if value is not False
    )


def _input(widget: dict) -> str:
    value = "" if widget["value"] is None else f' value="{_text(widget["value"])}"'
    return (f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
            f'{value}{_attrs(widget["attrs"])}>')


def _select(widget: dict) -> str | None:
    options = []
    for group_name, choices, _index in widget["optgroups"]:
        if group_name:
            return None  # <optgroup>: left to the template
        for option in choices:
            if option["template_name"] != _SELECT_OPTION:
                return None
            options.append(f'\n  <option value="{_text(option["value"])}"{_attrs(option["attrs"])}>'
                           f'{conditional_escape(option["label"])}</option>\n')
    return (f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>'
            f'{"".join(options)}\n</select>')


class WidgetRenderer(DjangoTemplates):
    """Django's default renderer, with the plain input and select widgets (and a radio
    button's ``tag()``) written in Python. Use one instance (``widget_renderer``): the
    template engine of the fallback is built once per instance."""

    def render(self, template_name, context, request=None):
        widget = context.get("widget")
        html = None
        if widget is not None:
            if template_name in _INPUT_TEMPLATES or (template_name == _RADIO_OPTION
                                                     and not widget.get("wrap_label")):
                html = _input(widget)
            elif template_name == _SELECT:
                html = _select(widget)
        if html is None:
            return super().render(template_name, context, request)
        return mark_safe(html)  # every value above is escaped


widget_renderer = WidgetRenderer()
