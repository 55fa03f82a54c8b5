"""Signal receivers of the accounts app: a 臨時休業日 saved or deleted clears this process's
copy of the closing days (``cosei_ib.bankcalendar``) at once and again at commit — a read
between the two inside another request must not keep the old list for a minute."""

from __future__ import annotations

from django.db import transaction

from cosei_ib import bankcalendar


def closing_day_changed(**_kwargs) -> None:
    bankcalendar.closing_days_clear()
    transaction.on_commit(bankcalendar.closing_days_clear)
