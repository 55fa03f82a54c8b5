"""Helpers shared by the balance, statement and CSV tests (no tests here).

History is written only through ``journal_post`` (via tests.factories), backdated with
``posted_at`` in chronological order, as the ledger requires per account.
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo

from accounts.models import Account, Journal
from accounts.services import PostingLine, journal_post
from security import session as customer_session
from security.services import session_register
from tests import factories

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
DESKTOP_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0 Safari/537.36")


def tokyo(year, month, day, hour=12, minute=0, second=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=TOKYO)


def withdraw(account: Account, amount: int, *, description: str = "出金", posted_at=None) -> Journal:
    return journal_post(
        lines=[
            PostingLine(account, -amount, description),
            PostingLine(factories.internal(Account.Purpose.CASH), amount),
        ],
        kind=Journal.Kind.WITHDRAWAL,
        description=description,
        idempotency_key=factories.unique("test-withdraw-"),
        posted_at=posted_at,
    )


def post(account: Account, amount: int, when: dt.datetime, description: str | None = None) -> Journal:
    """A deposit (amount > 0) or a withdrawal (amount < 0) at ``when``."""
    if amount > 0:
        return factories.deposit(account, amount, description=description or "入金", posted_at=when)
    return withdraw(account, -amount, description=description or "出金", posted_at=when)


def login(client, customer, *, user_agent: str = DESKTOP_UA) -> None:
    """A complete customer session (as after password and, if any, OTP)."""
    client.force_login(customer.user, backend="security.backends.CustomerSessionBackend")  # as session_start
    session = client.session
    now = int(time.time())
    session[customer_session.STAGE] = customer_session.STAGE_COMPLETE
    session[customer_session.AUTH_AT] = now
    session[customer_session.SEEN_AT] = now
    session.save()
    session_register(customer=customer, session_key=session.session_key)  # as session_start
    client.defaults["HTTP_USER_AGENT"] = user_agent
