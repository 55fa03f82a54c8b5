"""The template environment of the customer pages (issue 14).

Customer pages are rendered by Jinja2, which compiles a template to Python code; Django's
own engine walks its node tree on every request, and on 残高照会 that walk cost about as
much CPU as the rest of the request (bench/RESULTS.md, session 27). Django admin and the
mail bodies stay on Django's engine (``templates/``); the customer pages live in
``jinja2/``. The filters are the same functions the Django templates use
(``accounts/templatetags/accounts_format.py``, Django's ``date`` and ``intcomma``), so both
engines write the same text.

Two differences from Django's engine are closed here:
- an unknown name or attribute renders as nothing, as in Django templates (never an
  error page for a missing optional value);
- Django calls a callable it is given; Jinja2 would print ``<bound method …>``. A callable
  reaching the output is refused (``TypeError``), so a forgotten ``()`` fails the tests
  instead of reaching a customer.

One difference is left to the templates: Jinja2 looks ``x.name`` up as an attribute first,
Django as a key first. A form field whose name is also an attribute of its form (the
step-up form's ``challenge``) is written ``form["challenge"]``.
"""

from __future__ import annotations

from functools import lru_cache

from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import date as django_date
from django.templatetags.static import static as django_static
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.timezone import template_localtime
from jinja2 import ChainableUndefined, Environment, Undefined, pass_context

from accounts.templatetags import accounts_format


@lru_cache(maxsize=256)
def _reversed(name: str, resolver, script_prefix: str) -> str:
    return reverse(name, urlconf=resolver.urlconf_name)


@pass_context
def url(context, name: str, *args, **kwargs) -> str:
    """``{% url %}``: a URL without arguments is reversed once per URL configuration (the
    resolver, which Django replaces when the configuration changes, as cosei_ib/menu.py
    keys its links) and script prefix (the layout names five on every page). Both are
    read once per request — Django sets them as a request starts — and kept on it: each
    read goes through asgiref's Local, ~3 µs for the pair, seven times a page (issue 14)."""
    if args or kwargs:
        return reverse(name, args=args or None, kwargs=kwargs or None)
    request = context.get("request")
    where = getattr(request, "_cosei_url_configuration", None)
    if where is None:
        where = (get_resolver(get_urlconf()), get_script_prefix())
        if request is not None:
            request._cosei_url_configuration = where
    return _reversed(name, *where)


@lru_cache(maxsize=256)
def static(path: str) -> str:
    """``{% static %}``: the hashed name from the manifest is looked up once per process
    (the manifest does not change while a process runs)."""
    return django_static(path)


@receiver(setting_changed)
def _static_urls_forget(*, setting, **kwargs):
    """A test that changes where static files live reads the new names."""
    if setting in {"STATIC_URL", "STORAGES", "STATIC_ROOT"}:
        static.cache_clear()


def _local(filter_function):
    """A date filter that, as Django's ``expects_localtime`` filters, sees local time."""
    def local(value, *args):
        return filter_function(template_localtime(value), *args)
    local.__name__ = filter_function.__name__
    return local


def _refuse_callables(value):
    if callable(value) and not isinstance(value, (str, Undefined)):  # Undefined is callable too
        raise TypeError(f"a template printed a callable without calling it: {value!r}")
    return value


def environment(**options) -> Environment:
    options["undefined"] = ChainableUndefined  # Django's backend passes Undefined (DebugUndefined with DEBUG)
    from notifications.services import address_readable  # the apps are loaded by now

    env = Environment(finalize=_refuse_callables, keep_trailing_newline=True, **options)
    env.globals.update(url=url, static=static)
    env.filters.update(
        yen=accounts_format.yen,
        branch_label=accounts_format.branch_label,
        account_label=accounts_format.account_label,
        dates_kept_whole=accounts_format.dates_kept_whole,
        statement_rows=accounts_format.statement_rows,
        slash_date=_local(accounts_format.slash_date),
        japanese_date=_local(accounts_format.japanese_date),
        japanese_minute=_local(accounts_format.japanese_minute),
        month_day=_local(accounts_format.month_day),
        date=_local(django_date),
        intcomma=intcomma,
        address_readable=address_readable,
    )
    return env
