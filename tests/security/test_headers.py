"""SEC-11: security headers on 200, 302, 403, 404 and 500; check --deploy is clean."""

import os
import secrets
import subprocess
import sys

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def assert_headers(response):
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_headers_on_200_302_403_404():
    client = Client()
    assert_headers(client.get("/login/"))                       # 200
    assert_headers(client.get("/"))                             # 302
    assert_headers(Client(enforce_csrf_checks=True).post("/login/", {}))  # 403
    assert_headers(client.get("/no-such-page/"))                # 404


def test_headers_on_500(settings):
    from django.urls import path

    def boom(request):
        raise RuntimeError("boom")

    import cosei_ib.urls

    settings.ROOT_URLCONF = type("U", (), {"urlpatterns": [path("boom/", boom), *cosei_ib.urls.urlpatterns]})
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    assert_headers(response)


def test_check_deploy_is_clean_with_production_settings():
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="cosei_ib.settings.prod",
               DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
               DJANGO_ALLOWED_HOSTS="ib.example.jp")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by tests/conftest.py for Playwright only
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret():
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="cosei_ib.settings.prod", DJANGO_ALLOWED_HOSTS="x")
    env.pop("DJANGO_SECRET_KEY", None)
    result = subprocess.run([sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr
