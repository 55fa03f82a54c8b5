"""STAFF-1 (walk25 F20): the 契約者 page offers only the 窓口での操作 the staff user may
do, and a 403 in admin is an admin page (Japanese, a link back to the admin index), not the
customer site's page with the customer call centre's number."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories
from tests.security.test_staff_admin import staff, staff_client  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

ACTIONS = ["IB取引中止（お申し出）", "初回パスワード再発行", "画像認証カード発行・再発行", "予約中の振込（取消）",
           "取引履歴（操作ログ）"]


def _view_only_client() -> Client:
    user = get_user_model().objects.create_user(username="walkview", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=user, name="v", confirmed=True).persistent_id
    session.save()
    return client


def test_a_view_only_staff_user_is_offered_no_action_and_a_403_is_an_admin_page():
    customer = factories.customer()
    client = _view_only_client()
    html = client.get(f"/admin/accounts/customer/{customer.pk}/change/").content.decode()
    assert "窓口での操作" in html
    for label in ACTIONS:
        assert label not in html, label
    response = client.get(f"/admin/accounts/customer/{customer.pk}/suspend/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "この操作の権限がありません。" in page
    assert 'href="/admin/"' in page and "営業店管理" in page  # the admin's layout and way back
    assert "0120" not in page  # not the customer call centre


def test_branch_staff_are_offered_what_they_may_do(staff_client):  # noqa: F811
    customer = factories.customer()
    html = staff_client.get(f"/admin/accounts/customer/{customer.pk}/change/").content.decode()
    for label in ACTIONS:
        assert label in html, label

