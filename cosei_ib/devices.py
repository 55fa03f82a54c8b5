"""Smartphone or PC (UI-1).

Layout is viewport-first CSS (one set of pages, media queries). Where the guide says a
feature must *not be offered* on a smartphone (software keyboard, print button, download
button, calendar date picker), the server decides by this rule so the markup is not sent
at all: a user agent of an iPhone, iPod, an Android phone (Android + "Mobile"), or any
other "Mobile" browser is a smartphone. iPads and Android tablets count as PCs, as the
guide's two environments (パソコン / スマートフォン) suggest.
"""

from __future__ import annotations

import re

_SMARTPHONE = re.compile(r"iPhone|iPod|Android.*Mobile|Windows Phone|Mobile.*Firefox|\bMobile\b", re.I)
_TABLET = re.compile(r"iPad|Tablet", re.I)


def is_smartphone_user_agent(user_agent: str) -> bool:
    if not user_agent or _TABLET.search(user_agent):
        return False
    return bool(_SMARTPHONE.search(user_agent))


def is_smartphone(request) -> bool:
    return is_smartphone_user_agent(request.META.get("HTTP_USER_AGENT", ""))
