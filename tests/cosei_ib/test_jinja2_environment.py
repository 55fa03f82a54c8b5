"""Issue 14: the customer pages' Jinja2 environment (cosei_ib/jinja2.py) writes what the
Django templates wrote — same filters, same local time, unknown names as nothing — and a
method printed without ``()`` fails instead of reaching a customer."""

import datetime as dt
import zoneinfo

import pytest
from django.template import Context, Template, engines
from django.utils import timezone

pytestmark = pytest.mark.django_db  # rendering needs no database, but the settings do

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
UTC_NEW_YEAR = dt.datetime(2026, 12, 31, 15, 30, tzinfo=dt.timezone.utc)  # 2027-01-01 00:30 in Tokyo


def jinja(source: str, **context) -> str:
    return engines["jinja2"].from_string(source).render(context)


def django(source: str, **context) -> str:
    return Template("{% load humanize accounts_format %}" + source).render(Context(context))


@pytest.mark.parametrize(("jinja_source", "django_source"), [
    ("{{ v|japanese_minute }}", "{{ v|japanese_minute }}"),
    ("{{ v|japanese_date }}", "{{ v|japanese_date }}"),
    ("{{ v|month_day }}", "{{ v|month_day }}"),
    ("{{ v|slash_date }}", "{{ v|slash_date }}"),
    ('{{ v|date("Y年n月j日 H:i") }}', '{{ v|date:"Y年n月j日 H:i" }}'),
])
def test_date_filters_see_local_time_as_in_django_templates(jinja_source, django_source):
    with timezone.override(TOKYO):
        written = jinja(jinja_source, v=UTC_NEW_YEAR)
        assert written == django(django_source, v=UTC_NEW_YEAR)
    assert "2027" in written or "1月1日" in written or "2027/01/01" in written


@pytest.mark.parametrize("amount", [0, 1_234_567, -5, 10**15])
def test_amounts_as_in_django_templates(amount):
    assert jinja("{{ v|yen }}|{{ v|intcomma }}", v=amount) == django("{{ v|yen }}|{{ v|intcomma }}", v=amount)


def test_unknown_names_render_as_nothing():
    assert jinja("[{{ missing }}|{{ missing.attribute.deeper }}|{{ missing|yen }}]") == "[||]"


def test_a_method_printed_without_calling_it_fails():
    class Account:
        def label(self):
            return "普通"

    assert jinja("{{ a.label() }}", a=Account()) == "普通"
    with pytest.raises(TypeError, match="callable"):
        jinja("{{ a.label }}", a=Account())


def test_text_is_escaped_and_safe_html_is_not():
    from django.utils.html import format_html
    assert jinja("{{ v }}", v="<b>'\"&") == "&lt;b&gt;&#39;&#34;&amp;"
    assert jinja("{{ v }}", v=format_html("<b>{}</b>", "<i>")) == "<b>&lt;i&gt;</b>"


def test_url_and_static_as_in_django_templates():
    assert jinja("{{ url('accounts:statements') }}") == django("{% url 'accounts:statements' %}")
    assert jinja("{{ static('css/site.css') }}") == Template("{% load static %}{% static 'css/site.css' %}").render(Context())


def test_cached_urls_follow_the_configuration_and_static_settings(settings):
    """``url()`` and ``static()`` are looked up once per process — but a changed URL
    configuration or static location is read again, as Django's own tags would."""
    before = jinja("{{ static('css/site.css') }}")
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.STATIC_URL = "/assets/"
    assert jinja("{{ static('css/site.css') }}") == "/assets/css/site.css" != before
    assert jinja("{{ url('home') }}") == "/"
    settings.ROOT_URLCONF = "tests.cosei_ib.jinja2_urls"
    assert jinja("{{ url('home') }}") == "/elsewhere/"


def test_url_reads_the_configuration_once_per_request(settings, rf):
    """Issue 14: ``url()`` keeps the request's URL configuration and script prefix on the
    request (read once, not seven times a page); a new request reads them again."""
    from django.template import engines
    from django.urls import set_script_prefix

    template = engines["jinja2"].from_string("{{ url('home') }} {{ url('accounts:statements') }}")
    request = rf.get("/")
    assert template.render({}, request) == "/ /accounts/statements/"
    assert getattr(request, "_cosei_url_configuration")[1] == "/"
    settings.ROOT_URLCONF = "tests.cosei_ib.jinja2_urls"
    assert template.render({}, request) == "/ /accounts/statements/"  # the same request: as it started
    home = engines["jinja2"].from_string("{{ url('home') }}")
    assert home.render({}, rf.get("/")) == "/elsewhere/"
    try:
        set_script_prefix("/ib/")
        assert home.render({}, rf.get("/")) == "/ib/elsewhere/"
    finally:
        set_script_prefix("/")
