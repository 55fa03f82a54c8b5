"""The main menu of the guide (UI base). An item is shown only when its page exists, so
the menu grows as the apps land (link only what exists)."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

MAIN_MENU = [
    ("残高照会", "accounts:balances"),
    ("入出金明細照会", "accounts:statements"),
    ("振込", "transfers:start"),
    ("振込予約取消", "transfers:scheduled"),
    ("税金・各種料金の払込み", "payeasy:start"),
    ("取引履歴照会", "history"),
    ("各種設定", "security:settings"),
]


def main_menu(current_path: str = "") -> list[dict]:
    items = []
    for label, name in MAIN_MENU:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "current": current_path.startswith(url)})
    return items
