"""How accounts are named on screen (one place, so every page says the same)."""

from __future__ import annotations

import datetime as dt

from django import template

register = template.Library()


@register.filter
def branch_label(branch) -> str:
    """「梅田支店」 but 「本店営業部」: Zengin names of head-office units carry their own
    suffix; other branch names get 支店."""
    name = getattr(branch, "name", branch) or ""
    return name if name.endswith(("部", "店", "支所", "出張所")) else f"{name}支店"


@register.filter
def account_label(account) -> str:
    """「大淀支店 普通 ***4567」: branch, type and the masked number (last four digits)."""
    return f"{branch_label(account.branch)} {account.get_type_display()} {account.masked_number}"


@register.filter(is_safe=True)
def yen(amount: int) -> str:
    """「1,234,567円」: integer yen with thousands separators, as ``intcomma`` writes them
    for Japanese, without the locale machinery (called for every figure of a statement).
    Anything but an int (None, a string) renders as nothing rather than failing the page."""
    return f"{amount:,}円" if isinstance(amount, int) else ""


@register.filter(is_safe=True, expects_localtime=True)
def slash_date(moment) -> str:
    """「2026/03/05」, the statement's date column: the local date (the template engine
    converts an aware datetime to the local time first, as for ``date``). Anything but a
    date renders as nothing, as ``date`` does."""
    return f"{moment:%Y/%m/%d}" if isinstance(moment, dt.date) else ""
