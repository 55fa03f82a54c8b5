"""Issue 14: CustomerSessionBackend loads a session's user with its customer in one query
— or takes it from the session store, which reads it with a customer's session — and never
authenticates (customers log in through login_authenticate, staff through
ModelBackend, as before)."""

import datetime as dt
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.services import notice_enqueue
from security import session as customer_session
from security.audit import audit_record
from security.backends import CustomerSessionBackend
from security.models import CustomerSession
from security.services import customer_ib_resume, session_register
from tests import factories
from tests.security.secondfactor import customer_with_card

pytestmark = pytest.mark.django_db

BACKEND = "security.backends.CustomerSessionBackend"


def test_registered_after_model_backend():
    assert settings.AUTHENTICATION_BACKENDS == ["django.contrib.auth.backends.ModelBackend", BACKEND]


def test_get_user_brings_the_customer_in_the_same_query(django_assert_num_queries):
    customer = customer_with_card()
    with django_assert_num_queries(1):
        user = CustomerSessionBackend().get_user(customer.user.pk)
        assert user.customer.contract_id == customer.contract_id


def test_get_user_reads_every_field_as_the_orm_does():
    """The user and customer of the query written once (issue 14) equal the ORM's
    select_related("customer"), field by field, and know each other."""
    customer = customer_with_card(email="yamada@example.jp")  # an address from the start (CI310)
    customer.status = "active"
    # the timestamps are read as integers and made datetimes (issue 14): to the microsecond
    customer.previous_login_at = timezone.now() - dt.timedelta(days=3, microseconds=1)
    customer.last_login_at = dt.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC)  # before the epoch
    customer.save()
    get_user_model().objects.filter(pk=customer.user.pk).update(last_login=timezone.now())
    user = CustomerSessionBackend().get_user(customer.user.pk)
    expected = get_user_model().objects.select_related("customer").get(pk=customer.user.pk)
    for model_user, model_expected in ((user, expected), (user.customer, expected.customer)):
        assert type(model_user) is type(model_expected) and model_user._state.db == "default"
        for field in model_expected._meta.concrete_fields:
            value, orm_value = getattr(model_user, field.attname), getattr(model_expected, field.attname)
            assert value == orm_value, field.name
            if isinstance(orm_value, dt.datetime):
                assert value.tzinfo is orm_value.tzinfo, field.name
    assert user.customer.user is user
    assert not user._state.adding and not user.customer._state.adding


def test_get_user_of_staff_without_customer_and_of_inactive_users(django_assert_num_queries):
    staff = get_user_model().objects.create_user(username="staff-b", password="Staff-pass-1", is_staff=True)
    with django_assert_num_queries(1):
        user = CustomerSessionBackend().get_user(staff.pk)
        assert getattr(user, "customer", None) is None
    staff.is_active = False
    staff.save()
    assert CustomerSessionBackend().get_user(staff.pk) is None
    assert CustomerSessionBackend().get_user(staff.pk + 1000) is None


def test_it_never_authenticates():
    customer = customer_with_card()
    assert CustomerSessionBackend().authenticate(None, username=customer.contract_id, password="Pass1234") is None


def test_a_customer_session_naming_it_serves_customer_pages(client):
    customer = customer_with_card()
    complete_session(client, customer, register=False)
    response = client.get(reverse("home"))
    assert response.status_code == 200 and customer.name_kanji in response.content.decode()


def complete_session(client, customer, *, register=True):
    """A complete customer session, indexed as session_start indexes it."""
    client.force_login(customer.user, backend=BACKEND)
    session = client.session
    now = int(time.time())
    session.update({customer_session.STAGE: customer_session.STAGE_COMPLETE,
                    customer_session.AUTH_AT: now, customer_session.SEEN_AT: now})
    session.save()
    if register:
        session_register(customer=customer, session_key=session.session_key)
    return session.session_key


def user_queries(queries) -> list[str]:
    """The backend's own reads of a user (its SQL begins with the user's columns)."""
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "user"."id"')]


def test_a_customer_page_reads_its_session_and_user_in_one_statement(client):
    """Issue 14: the session store reads the customer's user with the session; the
    backend takes it and reads nothing more."""
    customer = customer_with_card()
    complete_session(client, customer)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    assert response.status_code == 200 and customer.name_kanji in response.content.decode()
    session_reads = [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]]
    assert len(session_reads) == 1 and "accounts_customer" in session_reads[0]
    assert user_queries(queries) == []


def test_the_user_read_with_the_session_is_taken_only_if_it_is_the_sessions_user(client):
    """SEC-12: the index row of the session names another customer (a row written wrong,
    or by an attacker with the app's role): the page is the session's own customer's, as
    Django's get_user reads it — the other customer's user is never taken."""
    customer, other = customer_with_card(), customer_with_card()
    key = complete_session(client, customer, register=False)
    CustomerSession.objects.create(customer=other, session_key=key)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    assert response.wsgi_request.customer.pk == customer.pk and response.wsgi_request.user.pk == customer.user.pk
    assert len(user_queries(queries)) == 1  # read again, by the session's user id


def test_a_session_without_index_row_reads_its_user_as_before(client):
    customer = customer_with_card()
    complete_session(client, customer, register=False)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    assert response.status_code == 200 and customer.name_kanji in response.content.decode()
    assert len(user_queries(queries)) == 1


def test_the_user_read_with_the_session_is_current_and_still_checked(client):
    """SEC-9, SEC-12: the user read with the session is the row as it is now — a
    contract stopped (IB取引中止) ends the session on the next page, a changed password
    hash (Django's session check) logs out — as with the user read on its own."""
    customer = customer_with_card()
    complete_session(client, customer)
    factories.suspended(customer)  # by staff, with no session clean-up
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("security:login")
    factories.staff_user("staff01")  # the actor: a staff user who may (security 0023)
    customer_ib_resume(customer=customer, reason="本人確認済み", actor="staff01")
    complete_session(client, customer)
    user = customer.user
    user.set_password("Another-pass-2026")  # as password_change writes it (security 0018), without
    user.save()                             # its session clean-up
    audit_record(action="password_change", outcome="success", customer=customer)
    notice_enqueue(customer=customer, event="password_change", lines=["パスワードが変更されました。"])
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert not client.session.get("_auth_user_id")


def test_a_staff_session_reads_its_user_as_before(client):
    staff = get_user_model().objects.create_user(username="staff-c", password="Staff-pass-1", is_staff=True)
    client.force_login(staff)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:index"))
    assert response.wsgi_request.user == staff and response.wsgi_request.customer is None
    session_reads = [q["sql"] for q in queries.captured_queries
                     if q["sql"].startswith("SELECT") and "django_session" in q["sql"]]
    assert len(session_reads) == 1
