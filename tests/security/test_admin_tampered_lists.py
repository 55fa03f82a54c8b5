"""STAFF-1 (walk25 F2, F2b): a superuser's list pages answer tampered input with the
admin's own messages, never a 500 — a filter naming no choice of a column with fixed
choices (the job queue's PostgreSQL enum ``status``), and a bulk action POST whose
selected ids are no ids (``abc``, empty) on every list that has an action."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model

from tests.security.test_staff_admin import superuser_signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["status=zzz", "status__exact=zzz", "status__in=todo,zzz"])
def test_an_unknown_choice_in_a_filter_is_an_invalid_filter_not_a_500(query):
    client = superuser_signed_in("root-choices")
    client.raise_request_exception = False
    response = client.get("/admin/procrastinate/procrastinatejob/?" + query)
    assert response.status_code == 302 and response["Location"].endswith("?e=1"), response.status_code
    assert client.get("/admin/procrastinate/procrastinatejob/?status=todo").status_code == 200


def _lists_with_actions(request):
    for model, model_admin in admin.site._registry.items():
        if model_admin.get_actions(request):
            yield f"/admin/{model._meta.app_label}/{model._meta.model_name}/", next(iter(model_admin.get_actions(request)))


@pytest.mark.parametrize("selected", [["abc"], [""], ["1", "x"], ["99999999999999999999"]])
def test_a_tampered_selection_on_any_list_with_actions_is_refused_in_japanese(rf, selected):
    client = superuser_signed_in("root-actions")
    client.raise_request_exception = False
    request = rf.get("/admin/")
    request.user = get_user_model().objects.get(username="root-actions")
    lists = list(_lists_with_actions(request))
    assert "/admin/auth/group/" in [url for url, _ in lists]
    failed = []
    for url, action in lists:
        response = client.post(url, {"action": action, "index": "0", "_selected_action": selected}, follow=True)
        if response.status_code != 200 or "選択された項目を読み取れませんでした" not in response.content.decode():
            failed.append((url, response.status_code))
    assert failed == []


def test_a_real_selection_still_reaches_the_action():
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="walk25")
    client = superuser_signed_in("root-real")
    response = client.post("/admin/auth/group/", {"action": "delete_selected", "index": "0",
                                                  "_selected_action": [str(group.pk)]})
    assert response.status_code == 200 and "walk25" in response.content.decode()  # Django's confirmation
    assert Group.objects.filter(pk=group.pk).exists()
