"""SEC-10 IB取引中止: the customer suspends with step-up (image card here); every session
ends; login then tells only the right password that IB is suspended; staff resume."""

import re

import pytest
from django.test import Client

from notifications.models import OutboxMessage
from security import cards
from security.models import AuditEvent, StepUp
from security.services import LOGIN_FAILED, LOGIN_SUSPENDED, customer_ib_resume
from tests import factories
from tests.security.secondfactor import card_post, customer_with_card, right_answers, wrong_answers
from tests.security.test_staff_admin import staff, staff_client  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def logged_in(customer):
    client = Client()
    assert client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"}).status_code == 302
    return client


def test_suspend_with_image_card_step_up():
    customer = customer_with_card(email="s@example.jp")
    other_session = logged_in(customer)
    client = logged_in(customer)
    assert "IB取引中止" in client.get("/settings/").content.decode()
    assert client.post("/settings/suspend/").url == "/settings/suspend/confirm/"
    challenge = cards.image_card_challenge_current(customer=customer)
    page = client.get("/settings/suspend/confirm/").content.decode()
    assert cards.cell_label(challenge.cells[0]) in page

    response = client.post("/settings/suspend/confirm/", card_post(challenge, wrong_answers(challenge)))
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.status == "active"  # a wrong answer changes nothing

    challenge = cards.image_card_challenge_current(customer=customer)  # sticky: the same cells
    response = client.post("/settings/suspend/confirm/", card_post(challenge, right_answers(challenge)))
    assert response.url == "/settings/suspend/done/"
    customer.refresh_from_db()
    assert customer.status == "suspended"
    assert StepUp.objects.get(customer=customer, kind="ib_suspend").used_at is not None
    assert AuditEvent.objects.filter(customer=customer, action="ib_suspend", outcome="success").count() == 1
    assert OutboxMessage.objects.filter(customer=customer, event="ib_suspend").count() == 1
    assert other_session.get("/").status_code == 302  # every session ended
    assert client.get("/").status_code == 302

    assert LOGIN_FAILED in Client().post("/login/", {"contract_id": customer.contract_id,
                                                     "password": "Wrong999"}).content.decode()
    # the right password gets the same page as a wrong one while suspended (no oracle)
    right = Client().post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    assert LOGIN_FAILED in right.content.decode() and LOGIN_SUSPENDED not in right.content.decode()


def test_replayed_confirmation_does_nothing_more():
    customer = customer_with_card()
    client = logged_in(customer)
    client.post("/settings/suspend/")
    challenge = cards.image_card_challenge_current(customer=customer)
    data = card_post(challenge, right_answers(challenge))
    client.post("/settings/suspend/confirm/", data)
    factories.staff_user("staff01")  # the actor: a staff user who may (security 0023)
    customer_ib_resume(customer=customer, reason="本人確認済み", actor="staff01")  # staff resumed
    customer.refresh_from_db()
    again = logged_in(customer)
    response = again.post("/settings/suspend/confirm/", data)
    assert response.status_code == 302 and response.url == "/settings/suspend/"  # no pending operation
    customer.refresh_from_db()
    assert customer.status == "active"
    assert AuditEvent.objects.filter(customer=customer, action="ib_suspend").count() == 1


def test_guessing_a_suspended_contract_learns_nothing_and_is_counted():
    """The review's finding: ~40 guesses on a suspended contract were not counted and the
    right password got its own message. Now every attempt gets one page, every wrong one
    counts (and locks at five, with the lockout mail), and the resume will see them."""
    from security.models import Credential

    customer = customer_with_card(email="g@example.jp")
    factories.suspended(customer)
    pages = set()
    for attempt in range(40):
        password = "Pass1234" if attempt in (2, 39) else f"Guess{attempt:03d}"
        response = Client().post("/login/", {"contract_id": customer.contract_id, "password": password})
        assert response.status_code == 200
        html = response.content.decode()
        pages.add(re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html))  # the whole page
    assert len(pages) == 1 and LOGIN_FAILED in pages.pop()
    credential = Credential.objects.get(customer=customer, kind="password")
    assert credential.failures == 38 and credential.failures_while_suspended == 38 and credential.is_locked
    assert OutboxMessage.objects.filter(customer=customer, event="lockout").count() == 1
    assert AuditEvent.objects.filter(customer=customer, action="login", outcome="failure").count() == 38
    refused = AuditEvent.objects.filter(customer=customer, action="login", outcome="refused")
    assert list(refused.order_by("id").values_list("summary", flat=True)) == [
        "IB取引中止中", "ロック中・IB取引中止中"]


def test_staff_suspend_for_a_customer_who_phoned_in(staff_client):
    """SEC-10: the guide tells a customer who fears a leak to suspend IB themselves 「または
    すみやかに当金庫までご連絡ください」 — staff stop it from admin with a reason: the
    customer's sessions end at once, the audit names the staff user, the customer is mailed,
    and the customer's own 取引履歴 does not show the staff note."""
    customer = customer_with_card(email="s@example.jp")
    session = logged_in(customer)
    assert session.get("/").status_code == 200
    url = f"/admin/accounts/customer/{customer.pk}/suspend/"
    assert url in staff_client.get(f"/admin/accounts/customer/{customer.pk}/change/").content.decode()
    blank = staff_client.post(url, {"reason": " "})
    assert "理由を入力してください。" in blank.content.decode()
    customer.refresh_from_db()
    assert customer.status == "active"

    done = staff_client.post(url, {"reason": "本人から電話、生年月日で確認"}, follow=True)
    assert "IB取引を中止しました" in done.content.decode()
    customer.refresh_from_db()
    assert customer.status == "suspended"
    assert session.get("/").status_code == 302  # the session the customer had is over
    event = AuditEvent.objects.get(customer=customer, action="ib_suspend")
    assert event.actor == "staff-t" and "生年月日で確認" in event.summary
    mail = OutboxMessage.objects.get(customer=customer, event="ib_suspend")
    assert "お申し出により、当金庫でインターネットバンキングのご利用を停止しました" in mail.body
    # the page offers 再開 now, not a second 中止; a stale form posted again changes nothing
    page = staff_client.get(f"/admin/accounts/customer/{customer.pk}/change/").content.decode()
    assert "IB取引再開" in page and url not in page
    again = staff_client.post(url, {"reason": "二度目"})
    assert "この契約者はすでにIB取引中止の状態です。" in again.content.decode()  # staff wording (walk25 F7)
    assert AuditEvent.objects.filter(customer=customer, action="ib_suspend").count() == 1


def test_staff_without_the_permission_cannot_suspend(staff_client, staff):
    customer = customer_with_card(email="s@example.jp")
    user, _ = staff
    user.groups.clear()
    response = staff_client.post(f"/admin/accounts/customer/{customer.pk}/suspend/", {"reason": "x"})
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.status == "active"


def test_done_page_does_not_tell_a_logged_in_customer_ib_was_suspended():
    """SEC-10: 「ご利用を停止しました。ログアウトしました。」 only follows a suspension (which
    ends every session). A customer still logged in who opens the done page's address (a
    bookmark, the history, the back button) was told their IB was stopped and they were
    logged out — neither was true. They go to 各種設定 instead; nothing changes."""
    customer = customer_with_card()
    client = logged_in(customer)
    response = client.get("/settings/suspend/done/")
    assert response.status_code == 302 and response.url == "/settings/"
    customer.refresh_from_db()
    assert customer.status == "active"
    assert client.get("/").status_code == 200  # still logged in


def _backends_waiting_for_a_lock() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else one snapshot per transaction
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_loser_of_a_double_click_sees_the_done_page_and_is_logged_out():
    """SEC-10, SEC-14: two submits of the confirm page at once (a double click). Both passed
    the login check before the first ended every session; the second then found the step-up
    used and showed 「このお取引は既に処理されています」 on the confirm page — with the
    menu, as if still logged in. It shows the done page and ends its session, like the
    first. Real requests on two connections, held at the customer's row lock until both
    wait there."""
    import threading
    import time

    from django.db import connections, transaction

    from accounts.models import Customer

    customer = customer_with_card()
    first = logged_in(customer)
    first.post("/settings/suspend/")
    second = Client()  # the same browser: the same session cookie
    for name, morsel in first.cookies.items():
        second.cookies[name] = morsel.value
    challenge = cards.image_card_challenge_current(customer=customer)
    answer = card_post(challenge, right_answers(challenge))
    responses = {}

    def submit(name, client):
        try:
            responses[name] = client.post("/settings/suspend/confirm/", answer)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=("first", first)),
               threading.Thread(target=submit, args=("second", second))]
    with transaction.atomic():
        # the confirmations lock the customer's row (NO KEY) before the step-up's
        Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while _backends_waiting_for_a_lock() < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        waiting = _backends_waiting_for_a_lock()
    for thread in threads:
        thread.join(30)
    assert waiting == 2, responses

    assert {name: (r.status_code, r.get("Location")) for name, r in responses.items()} == {
        "first": (302, "/settings/suspend/done/"), "second": (302, "/settings/suspend/done/")}
    page = second.get("/settings/suspend/done/").content.decode()
    assert "ご利用を停止しました" in page
    customer.refresh_from_db()
    assert customer.status == "suspended"
    assert AuditEvent.objects.filter(customer=customer, action="ib_suspend", outcome="success").count() == 1
    assert OutboxMessage.objects.filter(customer=customer, event="ib_suspend").count() == 1
    assert second.get("/").status_code == 302  # no session left
