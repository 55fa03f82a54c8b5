"""The main menu of the guide (UI base). An item is shown only when its page exists, so
the menu grows as the apps land (link only what exists)."""

from __future__ import annotations

from functools import lru_cache

from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse

MAIN_MENU = [
    ("残高照会", "accounts:balances"),
    ("入出金明細照会", "accounts:statements"),
    ("振込", "transfers:start"),
    ("振込予約取消", "transfers:scheduled"),
    ("税金・各種料金の払込み", "payeasy:start"),
    ("取引履歴照会", "history"),
    ("各種設定", "security:settings"),
]


# Pages under one item's URL that are reached from another item: 利用限度額変更 and 振込先の
# 管理 live under /transfers/ but are opened from 各種設定, whose page links them (UI-1).
MENU_SECTION_OF = {"transfers:limit": "security:settings", "transfers:payees": "security:settings"}


@lru_cache(maxsize=16)
def _sections(resolver, script_prefix: str) -> tuple[tuple[str, str], ...]:
    """(URL prefix, URL of the item it belongs to) for MENU_SECTION_OF, once per configuration."""
    found = []
    for name, owner in MENU_SECTION_OF.items():
        try:
            found.append((reverse(name, urlconf=resolver.urlconf_name), reverse(owner, urlconf=resolver.urlconf_name)))
        except NoReverseMatch:
            continue
    return tuple(found)


@lru_cache(maxsize=16)
def _menu_links(resolver, script_prefix: str) -> tuple[tuple[str, str], ...]:
    """(label, URL) of the items whose page exists. Every customer page shows the menu;
    the URLs depend only on the URL configuration (the resolver, which Django replaces
    when the configuration changes) and the script prefix, so they are reversed once per
    process, not seven times per page."""
    links = []
    for label, name in MAIN_MENU:
        try:
            links.append((label, reverse(name, urlconf=resolver.urlconf_name)))
        except NoReverseMatch:
            continue
    return tuple(links)


def main_menu(current_path: str = "") -> list[dict]:
    """The items, the current one marked: the item whose URL is the longest prefix of the
    path (振込予約取消's /transfers/scheduled/ lies under 振込's /transfers/; only one item
    is the current page)."""
    resolver, prefix = get_resolver(get_urlconf()), get_script_prefix()
    links = _menu_links(resolver, prefix)
    owners = [(url, url) for _, url in links] + list(_sections(resolver, prefix))
    deepest = max((pair for pair in owners if current_path.startswith(pair[0])), key=lambda pair: len(pair[0]),
                  default=(None, None))
    return [{"label": label, "url": url, "current": url == deepest[1]} for label, url in links]
