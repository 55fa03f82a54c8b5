"""The main menu (UI base): reversed once per URL configuration and script prefix, and
still only the pages that exist (issue 14)."""

from __future__ import annotations

from django.test import override_settings
from django.urls import clear_script_prefix, path, set_script_prefix

from cosei_ib.menu import main_menu


def _page(request):  # pragma: no cover - never called
    raise AssertionError


urlpatterns = [path("only/balances/", _page, name="history")]


def test_menu_marks_the_current_page():
    menu = main_menu("/accounts/balances/")
    assert [item["label"] for item in menu][:2] == ["残高照会", "入出金明細照会"]
    assert [item["current"] for item in menu if item["current"]] == [True]
    assert next(item for item in menu if item["current"])["url"] == "/accounts/balances/"


def test_only_the_deepest_matching_item_is_current():
    """UI-1: on /transfers/scheduled/ only 振込予約取消 is current, not 振込 (/transfers/)
    too — two items marked aria-current="page" (found walking the demo)."""
    for path, label in (("/transfers/scheduled/", "振込予約取消"), ("/transfers/scheduled/history/", "振込予約取消"),
                        ("/transfers/", "振込"), ("/transfers/details/", "振込"),
                        # opened from 各種設定 (walk20): 利用限度額変更, 振込先の管理
                        ("/transfers/limit/", "各種設定"), ("/transfers/limit/confirm/", "各種設定"),
                        ("/transfers/payees/", "各種設定"), ("/transfers/payees/3/rename/", "各種設定"),
                        ("/settings/", "各種設定")):
        assert [item["label"] for item in main_menu(path) if item["current"]] == [label], path


def test_menu_follows_a_changed_url_configuration_and_script_prefix():
    complete = main_menu()
    with override_settings(ROOT_URLCONF=__name__):
        assert main_menu() == [{"label": "取引履歴照会", "url": "/only/balances/", "current": False}]
    set_script_prefix("/ib/")
    try:
        assert [item["url"] for item in main_menu()] == ["/ib" + item["url"] for item in complete]
    finally:
        clear_script_prefix()
    assert main_menu() == complete
