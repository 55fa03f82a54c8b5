"""SEC-11: security headers on 200, 302, 403, 404 and 500; check --deploy is clean."""

import os
import secrets
import subprocess
import sys

import pytest
from django.test import Client, override_settings

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


# --- SEC-9 / SEC-13: no-store on every page, anonymous ones too ---------------------------


def assert_no_store(response):
    cache_control = response["Cache-Control"]
    assert "no-store" in cache_control and "private" in cache_control and "no-cache" in cache_control
    assert response.has_header("Expires")


def test_no_store_on_anonymous_pages_and_the_otp_key_page():
    from tests.security.secondfactor import customer_with_card

    client = Client()
    assert_no_store(client.get("/login/"))
    assert_no_store(client.get("/otp/activate/"))
    customer = customer_with_card()
    client.post("/otp/activate/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    token_page = client.get("/otp/activate/token/")
    assert token_page.status_code == 200 and "otp-secret" in token_page.content.decode()
    assert_no_store(token_page)
    assert_no_store(client.get("/otp/activate/register/"))


# --- Error pages in Japanese (400, 403, CSRF, 404, 500) ------------------------------------


def _client_with_failing_views(settings):
    from django.core.exceptions import PermissionDenied, SuspiciousOperation
    from django.http import Http404
    from django.urls import path

    import cosei_ib.urls

    def raiser(exception):
        def view(request):
            raise exception
        return view

    settings.ROOT_URLCONF = type("U", (), {"urlpatterns": [
        path("e400/", raiser(SuspiciousOperation("bad"))),
        path("e403/", raiser(PermissionDenied("no"))),
        path("e404/", raiser(Http404("none"))),
        path("e500/", raiser(RuntimeError("boom"))),
        *cosei_ib.urls.urlpatterns,
    ]})
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(("status", "text"), [
    (400, "リクエストを処理できませんでした"),
    (403, "この画面を表示する権限がありません"),
    (404, "お探しのページが見つかりません"),
    (500, "ただいまシステムが混み合っているか、障害が発生しています"),
])
def test_error_pages_are_japanese_and_keep_the_headers(settings, status, text):
    response = _client_with_failing_views(settings).get(f"/e{status}/")
    assert response.status_code == status
    html = response.content.decode()
    assert text in html and '<html lang="ja">' in html and 'href="/login/"' in html
    assert "Not Found" not in html and "Server Error" not in html
    assert_headers(response)
    assert_no_store(response)


def test_404_of_an_unknown_url_is_japanese():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404 and "お探しのページが見つかりません" in response.content.decode()


CSRF_NO_SESSION = ("ログアウトしたか、一定時間操作がなかったため、この画面は使えなくなりました。"
                   "もう一度ログインしてください。")
CSRF_MISMATCH = ("画面の有効期限が切れたか、不正な操作の可能性があります。"
                 "お手数ですがログイン画面からやり直してください。")
CSRF_LIVE = ("画面の有効期限が切れたか、不正な操作の可能性があります。送信された内容は実行されていません。"
             "お手数ですがメイン画面から操作をやり直してください。")


def test_csrf_failure_is_japanese_with_a_link_to_login():
    response = Client(enforce_csrf_checks=True).post("/login/", {"contract_id": "1", "password": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    assert CSRF_NO_SESSION in html and CSRF_MISMATCH not in html
    assert 'href="/login/"' in html and "CSRF" not in html
    assert_headers(response)
    assert_no_store(response)


def test_csrf_failure_after_logout_in_another_tab_says_logged_out():
    """SEC-9, SEC-11 (walk25 F12): a form posted from a tab left open after 「ログアウト」 in
    another tab got 「…不正な操作の可能性があります。」, which alarms a customer who only
    logged out. With no live session it says so, with the login link, and nothing runs; a
    bad token within a live session keeps the warning."""
    import re

    from security.models import StepUp
    from tests.security.secondfactor import customer_with_card

    customer = customer_with_card()
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    response = client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234",
                                       "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    page = client.get("/transfers/limit/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    # within the live session, a wrong token: the warning stays; the customer still logged
    # in goes on from メイン画面, not the login page (walk26 F14)
    response = client.post("/transfers/limit/", {"daily_limit": "100000", "csrfmiddlewaretoken": "x" * 64})
    html = response.content.decode()
    assert response.status_code == 403 and CSRF_LIVE in html and CSRF_MISMATCH not in html
    assert "ログイン画面" not in html and 'href="/">メイン画面へ</a>' in html
    # the other tab logs out (the cookies cleared, as Clear-Site-Data does in a browser)
    other_tab = client.post("/logout/", {"csrfmiddlewaretoken": token})
    assert other_tab.status_code == 302
    client.cookies.clear()
    response = client.post("/transfers/limit/", {"daily_limit": "100000", "csrfmiddlewaretoken": token})
    html = response.content.decode()
    assert response.status_code == 403 and CSRF_NO_SESSION in html and CSRF_MISMATCH not in html
    assert 'href="/login/"' in html
    assert not StepUp.objects.filter(customer=customer).exists()  # nothing started


def test_500_page_renders_without_a_request_or_context():
    from django.template import loader

    html = loader.get_template("500.html").render()
    assert "ただいまシステムが混み合っているか、障害が発生しています" in html
    assert "大阪厚生信用金庫" in html and 'href="/login/"' in html


def test_400_for_a_foreign_host_is_japanese():
    response = Client(HTTP_HOST="evil.example").get("/login/")
    assert response.status_code == 400
    assert "リクエストを処理できませんでした" in response.content.decode()


# --- issue 7: the error pages as production serves them (DEBUG=False) ----------------------

DEBUG_MARKERS = ("Traceback", "Page not found", "Using the URLconf", "DEBUG = True", "Django tried",
                 "Request Method", "Server Error", "Forbidden")


@override_settings(DEBUG=False)
def test_error_pages_with_debug_off_for_a_customer_staff_and_nobody(settings):
    from django.contrib.auth import get_user_model
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests import factories

    customer = factories.customer(password="Pass1234", password_is_initial=False)
    foreign = factories.account()
    signed_in = Client()
    signed_in.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    staff = get_user_model().objects.create_user("staff-e", password="x", is_staff=True)  # no permissions
    staff_client = Client()
    staff_client.force_login(staff)
    session = staff_client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=staff, name="e").persistent_id
    session.save()

    cases = [
        (Client().get("/no-such-page/"), 404, "お探しのページが見つかりません", 'href="/login/"'),
        (signed_in.get("/no-such-page/"), 404, "お探しのページが見つかりません", "メイン画面へ"),
        (signed_in.get("/accounts/statements/", {"account": foreign.pk}), 404, "お探しのページが見つかりません",
         "メイン画面へ"),
        (staff_client.get(f"/admin/accounts/customer/{customer.pk}/unlock/"), 403,
         "この操作の権限がありません", "管理画面へ"),  # staff: an admin page, back to admin (review5, walk25 F20)
        (_client_with_failing_views(settings).get("/e500/"), 500, "障害が発生しています", 'href="/login/"'),
    ]
    for response, status, text, link in cases:
        html = response.content.decode()
        assert response.status_code == status, (status, text)
        assert text in html and link in html and '<html lang="ja"' in html
        assert not [marker for marker in DEBUG_MARKERS if marker in html], (status, html[:300])
        assert_headers(response)
