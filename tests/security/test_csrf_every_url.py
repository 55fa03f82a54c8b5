"""SEC-11 (CSRF everywhere): every URL pattern of the project — customer pages, the
pre-login pages, the passkey JSON endpoints and all of staff admin — refuses a POST
without a CSRF token, whoever sends it (nobody, a logged-in customer, a logged-in staff
member with OTP). The patterns are walked from the resolver, so a view added later with
``@csrf_exempt`` (or a URL include that skips the middleware) fails this test until it
is listed in ``DELIBERATE_EXEMPTIONS`` with the reason it is safe.

Why every pattern and not only the views that accept POST: ``CsrfViewMiddleware``
checks the token before the view runs, so a POST-less view answers the CSRF page too —
and a view that starts accepting POST later is covered the day it does."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, include, path, resolve
from django.views.decorators.csrf import csrf_exempt
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import branch_staff_group_ensure
from tests.security.secondfactor import customer_with_card

pytestmark = pytest.mark.django_db

# url name (namespace:name) -> why the view may take a POST without Django's CSRF token.
# Empty: the passkey endpoints (SEC-16) are JSON posts that send X-CSRFToken from the
# page's form (static/js/passkey.js) and need no exemption. An entry here must name the
# view's own protection (a signature, a one-time challenge bound to the session …).
DELIBERATE_EXEMPTIONS: dict[str, str] = {}

# the 403_csrf.html sentences: the middleware refused, the view never ran — within a live
# session, and with none (logged out in another tab, timed out: walk25 F12)
CSRF_REFUSED = ("画面の有効期限が切れたか、不正な操作の可能性があります。",
                "ログアウトしたか、一定時間操作がなかったため、この画面は使えなくなりました。")

SAMPLE_BY_CONVERTER = {"int": "1", "str": "x", "slug": "x", "path": "1",
                       "uuid": "00000000-0000-0000-0000-000000000001"}


def url_patterns(patterns=None, prefix: str = "", namespace: str = ""):
    """(route text, url name, view) of every pattern below ``patterns``, includes
    followed (the route text as ``ResolverMatch.route`` spells it)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace \
                else (pattern.namespace or namespace)
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = (f"{namespace}:{pattern.name}" if namespace and pattern.name
                    else (pattern.name or ""))
            yield prefix + str(pattern.pattern), name, pattern.callback


def sample_path(route: str) -> str:
    """A path that the route matches: converters get a sample value, a regex group of
    literal alternatives its first one, ``.*`` some text. Anything else is a pattern this
    walker does not know yet: it says so rather than skip the URL."""
    def converter(match: re.Match) -> str:
        kind = match[1] or "str"
        if kind not in SAMPLE_BY_CONVERTER:
            raise AssertionError(f"teach sample_path the converter {kind!r} (route {route})")
        return SAMPLE_BY_CONVERTER[kind]

    def group(match: re.Match) -> str:
        body = match[1]
        if body in (".*", ".+"):
            return "x"
        if re.fullmatch(r"[\w-]+(\|[\w-]+)*", body):
            return body.split("|")[0]
        raise AssertionError(f"teach sample_path the regex group {body!r} (route {route})")

    text = re.sub(r"\(\?P<\w+>([^)]*)\)", group, route)  # before the converters: both use <name>
    text = re.sub(r"<(?:(\w+):)?\w+>", converter, text)
    text = text.replace("^", "").replace("$", "")
    if re.search(r"[()\[\]*+?\\]", text):
        raise AssertionError(f"teach sample_path this regex: {route}")
    return "/" + text


def walked_urls() -> list[tuple[str, str, object]]:
    """(path, name, view) for every pattern; each path checked to resolve to its own
    pattern, so the POST below reaches the view this row names."""
    rows = []
    for route, name, view in url_patterns():
        sample = sample_path(route)
        # ResolverMatch.route drops a regex's leading ^ where it joins the prefix
        assert resolve(sample).route == route.replace("/^", "/"), f"{sample} does not reach {route}"
        rows.append((sample, name, view))
    return rows


def csrf_unprotected(client: Client, paths: list[str]) -> list[str]:
    """The paths where a POST without a token was not refused by the CSRF check."""
    missing = []
    for sample in paths:
        response = client.post(sample, {"amount": "1000", "contract_id": "0000000001",
                                        "password": "x"})
        if response.status_code != 403 or not any(text in response.content.decode() for text in CSRF_REFUSED):
            missing.append(f"{sample} -> {response.status_code}")
    return missing


def anonymous() -> Client:
    return Client(enforce_csrf_checks=True)


def customer_session() -> Client:
    """A customer who really logged in (password; no OTP at login), the session copied
    into a client that checks CSRF like a browser does."""
    customer = customer_with_card()
    login = Client()
    response = login.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    assert response.status_code == 302 and login.get("/").status_code == 200
    client = Client(enforce_csrf_checks=True)
    client.cookies = login.cookies
    return client


def staff_session() -> Client:
    """Branch staff signed in to admin with password and OTP (STAFF-1)."""
    user = get_user_model().objects.create_user(username="csrf-staff", password="Staff-pass-1",
                                                is_staff=True)
    user.groups.add(branch_staff_group_ensure())
    device = TOTPDevice.objects.create(user=user, name="t", confirmed=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    assert client.get("/admin/").status_code == 200
    return client


def test_the_walk_covers_the_customer_pages_the_passkey_endpoints_and_admin():
    names = {name for _path, name, _view in walked_urls()}
    assert {"security:login", "security:logout", "security:login_passkey",
            "security:passkey_register_options", "transfers:confirm", "transfers:scheduled_cancel",
            "payeasy:confirm", "notifications:email_confirm", "admin:accounts_customer_unlock",
            "admin:transfers_interbank_upload", "admin:login"} <= names
    assert len(names) > 200  # admin's model pages included


@pytest.mark.parametrize("session", [anonymous, customer_session, staff_session])
def test_every_url_refuses_a_post_without_a_csrf_token(session):
    """SEC-11: no view is exempt from CSRF unless listed with a reason."""
    rows = walked_urls()
    checked = [sample for sample, name, _view in rows if name not in DELIBERATE_EXEMPTIONS]
    assert csrf_unprotected(session(), checked) == []


def test_every_listed_exemption_is_a_real_exempt_view():
    """The list of exemptions does not outlive the exemption: an entry names a view that
    exists and is exempt, with a reason."""
    views = {name: view for _path, name, view in walked_urls()}
    for name, reason in DELIBERATE_EXEMPTIONS.items():
        assert name in views and getattr(views[name], "csrf_exempt", False) and reason.strip(), name
    exempt = {name for name, view in views.items() if getattr(view, "csrf_exempt", False)}
    assert exempt <= set(DELIBERATE_EXEMPTIONS)


@csrf_exempt
def _forgotten_exempt_view(request, pk: int):
    return HttpResponse("posted")


# the project's URLs and one view someone forgot to protect
urlpatterns = [path("careless/<int:pk>/", _forgotten_exempt_view),
               path("", include("cosei_ib.urls"))]


def test_the_walk_finds_an_exempt_view(settings):
    """The check itself: the project's URLs plus one ``@csrf_exempt`` view fail it, on
    that view only."""
    settings.ROOT_URLCONF = __name__
    paths = [sample for sample, _name, _view in walked_urls()]
    assert "/careless/1/" in paths and "/transfers/confirm/" in paths
    assert csrf_unprotected(anonymous(), paths) == ["/careless/1/ -> 200"]
