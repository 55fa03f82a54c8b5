"""SEC-2, SEC-3, SEC-8, SEC-12 (probe35 F1): the password change form sent twice — a
double click (two POSTs of one session at once) or a second tab of the browser (the
same session, after the first tab's change) — or a change of another device committed
while this one waited. The second submit types the password the first just replaced: it
was right when typed, so it is no guess (nothing counted, no 「現在のパスワード誤り」 row),
and the customer is told the password was changed; never a bare 400 (SessionInterrupted:
the first cycled the session key the second still held). Real PostgreSQL, real threads."""

from __future__ import annotations

import threading

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client

from notifications.models import OutboxMessage
from security import views
from security.models import AuditEvent, Credential
from security.services import PASSWORD_CHANGED_MEANWHILE, PASSWORD_CHANGED_MEANWHILE_AUDIT
from security.session import ENDED_MESSAGES, PASSWORD_REPLACED
from tests import factories

OLD, NEW, OTHER = "Pass1234", "Hana2026", "Tsuki2027"


def _signed_in(customer, password=OLD) -> Client:
    client = Client()
    assert client.post("/login/", {"contract_id": customer.contract_id, "password": password}).status_code == 302
    return client


def _change(client, url, current=OLD, new=NEW):
    return client.post(url, {"current_password": current, "new_password": new, "new_password_again": new})


def _messages(client, url) -> str:
    return client.get(url, follow=True).content.decode()


def _nothing_counted(customer) -> None:
    assert Credential.objects.get(customer=customer, kind="password").failures == 0
    assert not AuditEvent.objects.filter(customer=customer, action="password_change", outcome="failure").exists()
    assert AuditEvent.objects.filter(customer=customer, action="password_change", outcome="success").count() == 1
    assert OutboxMessage.objects.filter(customer=customer, event="password_change").count() == 1


def _customer(*, initial: bool):
    return factories.customer(password=OLD, password_is_initial=initial, email="hana@example.jp")


def _double_click(client, url, monkeypatch) -> dict:
    """Two POSTs of one form from one browser (one session), with real threads: each has
    loaded the session (and the user's hash) before either changes the password; then
    both run. The responses by thread name, and the second client (the same cookies)."""
    second_client = Client()
    second_client.cookies = client.cookies
    arrived = threading.Barrier(2, timeout=20)
    real = views.password_change

    def both_loaded(**kwargs):
        arrived.wait()  # both requests hold the one session key and the old hash
        return real(**kwargs)

    monkeypatch.setattr(views, "password_change", both_loaded)
    responses = {}

    def post(name, browser):
        try:
            responses[name] = _change(browser, url)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(name, browser))
               for name, browser in (("first", client), ("second", second_client))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return responses


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url,done", [("/settings/password/", "/settings/"), ("/password/initial/", "/")])
def test_a_double_click_changes_once_and_the_other_submit_is_told_not_counted(url, done, monkeypatch):
    customer = _customer(initial=url == "/password/initial/")
    client = _signed_in(customer)
    responses = _double_click(client, url, monkeypatch)
    assert sorted(response.status_code for response in responses.values()) == [302, 302], responses
    # one changed (its done page), the other found the change made: its session is gone (the
    # twin cycled the key), so it goes to the login page — not a 400 (SessionInterrupted)
    assert sorted(response.url for response in responses.values()) == sorted([done, "/login/"])
    loser = next(name for name, response in responses.items() if response.url == "/login/")
    told = Client()
    told.cookies.update(responses[loser].cookies)  # what the browser holds if this came last
    page = _messages(told, "/login/")
    assert PASSWORD_CHANGED_MEANWHILE in page and "変更後のログインパスワードでログインしてください" in page
    customer.user.refresh_from_db()
    assert customer.user.check_password(NEW)
    _nothing_counted(customer)
    assert AuditEvent.objects.filter(customer=customer, action="password_change", outcome="refused",
                                     summary=PASSWORD_CHANGED_MEANWHILE_AUDIT).count() == 1
    winner = Client()
    winner.cookies.update(responses["second" if loser == "first" else "first"].cookies)
    assert winner.get("/history/").status_code == 200  # the winner's browser stays logged in


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/settings/password/", "/password/initial/"])
def test_a_change_sent_as_staff_reissued_the_password_says_to_use_the_banks_initial_one(url, monkeypatch):
    """SEC-3, SEC-12: staff's 初回パスワード再発行 (or ロック解除) committed after the request
    loaded the customer's hash, before the change took the lock. The old password typed was
    right then: nothing counted. The session is gone (the re-issue ended it, and its marker
    with the session); the login page says to use the bank's new initial password — not
    「変更後のログインパスワードでログインしてください」: no change was made."""
    from accounts.models import Customer
    from security.services import PASSWORD_REISSUED_MEANWHILE_AUDIT, initial_password_issue

    customer = _customer(initial=url == "/password/initial/")
    factories.staff_user("staff-t")
    client = _signed_in(customer)
    real = views.password_change
    issued = {}

    def staff_first(**kwargs):  # the request's customer (and hash) loaded already
        issued["password"] = initial_password_issue(customer=Customer.objects.get(pk=customer.pk),
                                                    reason="本人から電話", actor="staff-t")
        return real(**kwargs)

    monkeypatch.setattr(views, "password_change", staff_first)
    response = _change(client, url)
    assert response.status_code == 302 and response.url == "/login/"
    page = _messages(client, "/login/")
    assert ENDED_MESSAGES["initial_password"] in page
    assert "変更後のログインパスワード" not in page and PASSWORD_CHANGED_MEANWHILE not in page
    assert client.get("/settings/").url.startswith("/login/")  # the session stays ended
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert customer.password_is_initial and customer.user.check_password(issued["password"])
    assert Credential.objects.get(customer=customer, kind="password").failures == 0
    assert list(AuditEvent.objects.filter(customer=customer, action="password_change")
                .values_list("outcome", "summary")) == [("refused", PASSWORD_REISSUED_MEANWHILE_AUDIT)]


@pytest.mark.django_db
def test_a_second_tab_sent_after_the_change_is_told_it_was_changed_and_stays_logged_in():
    customer = _customer(initial=False)
    client = _signed_in(customer)
    assert _change(client, "/settings/password/").url == "/settings/"  # the first tab
    response = _change(client, "/settings/password/", new=OTHER)  # the second tab, its form from before
    assert response.status_code == 302 and response.url == "/settings/"
    page = _messages(client, "/settings/")
    assert PASSWORD_CHANGED_MEANWHILE in page and "現在のログインパスワードが正しくありません" not in page
    customer.user.refresh_from_db()
    assert customer.user.check_password(NEW)
    _nothing_counted(customer)
    # a wrong password in that tab is still a guess, counted as ever
    response = _change(client, "/settings/password/", current="Wrong999", new=OTHER)
    assert "現在のログインパスワードが正しくありません。" in response.content.decode()
    assert Credential.objects.get(customer=customer, kind="password").failures == 1


@pytest.mark.django_db
def test_a_second_tab_sent_as_another_device_changed_it_again_goes_to_the_login_page(monkeypatch):
    """SEC-12 (review35b): the second tab's form, typed with the password this session's own
    change replaced, is sent while another device changes the password again (committed
    after the request loaded the hash). That change ended this session: the tab is told on
    the login page, with the session's end kept — not sent on to 各種設定 as if it lived."""
    from accounts.models import Customer
    from security.services import password_change

    customer = _customer(initial=False)
    client = _signed_in(customer)
    assert _change(client, "/settings/password/").url == "/settings/"  # OLD → NEW, this session
    other = _signed_in(customer, NEW)
    real = views.password_change

    def other_device_first(**kwargs):  # this request's hash (NEW) loaded already
        password_change(customer=Customer.objects.get(pk=customer.pk), current_password=NEW,
                        new_password=OTHER, ip=None, keep_session_key=other.session.session_key)
        return real(**kwargs)

    monkeypatch.setattr(views, "password_change", other_device_first)
    response = _change(client, "/settings/password/", current=OLD, new="Yuki2028")
    assert response.status_code == 302 and response.url == "/login/"
    page = _messages(client, "/login/")
    assert PASSWORD_CHANGED_MEANWHILE in page and "変更後のログインパスワードでログインしてください" in page
    assert client.get("/settings/").url.startswith("/login/")  # the session stays ended
    customer.user.refresh_from_db()
    assert customer.user.check_password(OTHER)
    assert Credential.objects.get(customer=customer, kind="password").failures == 0
    assert not AuditEvent.objects.filter(customer=customer, action="password_change", outcome="failure").exists()


@pytest.mark.django_db
def test_the_replaced_password_counts_as_a_guess_once_the_moment_has_passed():
    customer = _customer(initial=False)
    client = _signed_in(customer)
    _change(client, "/settings/password/")
    session = client.session
    session[PASSWORD_REPLACED] = {**session[PASSWORD_REPLACED], "at": session[PASSWORD_REPLACED]["at"] - 601}
    session.save()
    response = _change(client, "/settings/password/", new=OTHER)
    assert "現在のログインパスワードが正しくありません。" in response.content.decode()
    assert Credential.objects.get(customer=customer, kind="password").failures == 1


@pytest.mark.django_db
def test_the_replaced_hash_leaves_the_stored_session_once_its_window_has_passed():
    """SEC-13: the Argon2 hash of the replaced password stayed in the session for the
    session's whole life; it serves for PASSWORD_REPLACED_SECONDS only. The first request
    after that window drops it from the stored session; one within the window keeps it."""
    customer = _customer(initial=False)
    client = _signed_in(customer)
    _change(client, "/settings/password/")
    assert client.get("/history/").status_code == 200
    assert PASSWORD_REPLACED in client.session  # within the window: kept (read from the database)
    session = client.session
    session[PASSWORD_REPLACED] = {**session[PASSWORD_REPLACED], "at": session[PASSWORD_REPLACED]["at"] - 601}
    session.save()
    assert client.get("/history/").status_code == 200
    stored = Session.objects.get(session_key=client.cookies["sessionid"].value).get_decoded()
    assert PASSWORD_REPLACED not in stored and "_auth_user_id" in stored


@pytest.mark.django_db
def test_the_second_tab_of_the_first_login_goes_on_told_the_password_was_changed():
    customer = _customer(initial=True)
    client = _signed_in(customer)
    assert _change(client, "/password/initial/").url == "/"
    response = _change(client, "/password/initial/", new=OTHER)
    assert response.status_code == 302 and response.url == "/"
    assert PASSWORD_CHANGED_MEANWHILE in _messages(client, "/")
    customer.user.refresh_from_db()
    assert customer.user.check_password(NEW)
    _nothing_counted(customer)


@pytest.mark.django_db
def test_back_to_the_first_login_change_page_after_the_change_just_goes_on():
    """UI-1: a GET of /password/initial/ after the forced change (Back, a bookmark) sent
    nothing, yet was told 「…この送信では変更していません。」. It now just goes on to the
    page after the login; a POST from a tab with the old form is still told."""
    customer = _customer(initial=True)
    client = _signed_in(customer)
    assert _change(client, "/password/initial/").url == "/"
    assert "ログインパスワードを変更しました。" in _messages(client, "/")  # the change's own message, shown
    response = client.get("/password/initial/")
    assert response.status_code == 302 and response.url == "/"
    page = _messages(client, "/")
    assert PASSWORD_CHANGED_MEANWHILE not in page and "ログインパスワードを変更しました。" not in page
    assert PASSWORD_CHANGED_MEANWHILE in _messages(client, _change(client, "/password/initial/", new=OTHER).url)


@pytest.mark.django_db
def test_a_browser_left_with_the_old_session_key_is_told_on_the_login_page():
    """The double click's winner cycled the key; a browser that never got its response (the
    navigation cancelled by the second click) still holds the old key."""
    customer = _customer(initial=False)
    client = _signed_in(customer)
    old_key = client.session.session_key
    _change(client, "/settings/password/")
    assert Session.objects.get(session_key=old_key).get_decoded() == {"cosei_ended": "password_changed_here"}
    stale = Client()
    stale.cookies["sessionid"] = old_key
    response = stale.get("/settings/")
    assert response.status_code == 302 and response.url == "/login/"
    assert ENDED_MESSAGES["password_changed_here"] in stale.get("/login/").content.decode()
