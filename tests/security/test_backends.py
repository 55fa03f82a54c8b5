"""Issue 14: CustomerSessionBackend loads a session's user with its customer in one query,
and never authenticates (customers log in through login_authenticate, staff through
ModelBackend, as before)."""

import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from security import session as customer_session
from security.backends import CustomerSessionBackend
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
    customer = customer_with_card()
    customer.email, customer.status = "yamada@example.jp", "active"
    customer.save()
    user = CustomerSessionBackend().get_user(customer.user.pk)
    expected = get_user_model().objects.select_related("customer").get(pk=customer.user.pk)
    for model_user, model_expected in ((user, expected), (user.customer, expected.customer)):
        assert type(model_user) is type(model_expected) and model_user._state.db == "default"
        for field in model_expected._meta.concrete_fields:
            assert getattr(model_user, field.attname) == getattr(model_expected, field.attname), field.name
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
    client.force_login(customer.user, backend=BACKEND)
    session = client.session
    now = int(time.time())
    session.update({customer_session.STAGE: customer_session.STAGE_COMPLETE,
                    customer_session.AUTH_AT: now, customer_session.SEEN_AT: now})
    session.save()
    response = client.get(reverse("home"))
    assert response.status_code == 200 and customer.name_kanji in response.content.decode()
