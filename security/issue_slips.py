"""The 初回ログインパスワード通知書 of an issue form, kept for that form's double submit
(SEC-3, SEC-13, walk28 F2).

A browser shows only the last response of a double submit: the request that issued the
password rendered the slip into a page nobody saw, and the other one could only say
「処理済み」 — staff had to issue a second password. The issuing request therefore keeps
its slip in the staff session, encrypted with a key derived from the form's one-time
nonce, which the issue has just removed from the session: from then on the key exists
only in the staff's browser, which posts it back with the duplicate submit. Nothing is
kept in clear, nor for long (``SLIP_KEEP_SECONDS``)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.utils import timezone
from django.utils.crypto import salted_hmac

SLIP_SESSION_KEY = "staff_issue_slips"
# A duplicate submit reads the slip as soon as the issuing request commits; a minute is
# ample, and a slip is never kept after it.
SLIP_KEEP_SECONDS = 60


def _slot(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _fernet(nonce: str) -> Fernet:
    key = salted_hmac("security.issue_slips", nonce, algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _fresh(slips: dict, now: dt.datetime) -> dict:
    oldest = now - dt.timedelta(seconds=SLIP_KEEP_SECONDS)
    return {slot: kept for slot, kept in slips.items()
            if isinstance(kept, dict) and dt.datetime.fromisoformat(kept.get("at", "")) >= oldest}


def slip_keep(session, *, nonce: str, purpose: str, password: str, issued_at: dt.datetime) -> None:
    """Keep the slip of the form ``nonce`` (consumed by this issue) in ``session``."""
    now = timezone.now()
    sealed = _fernet(nonce).encrypt(json.dumps({"password": password,
                                                "issued_at": issued_at.isoformat()}).encode()).decode()
    slips = _fresh(dict(session.get(SLIP_SESSION_KEY, {})), now)
    slips[_slot(nonce)] = {"for": purpose, "at": now.isoformat(), "slip": sealed}
    session[SLIP_SESSION_KEY] = slips


def slip_kept(session, *, nonce: str, purpose: str) -> tuple[str, dt.datetime] | None:
    """The password and issue time of the slip kept for the form ``nonce`` and ``purpose``,
    or None (none kept, kept for another form, or older than ``SLIP_KEEP_SECONDS``)."""
    if not nonce:
        return None
    kept = _fresh(dict(session.get(SLIP_SESSION_KEY, {})), timezone.now()).get(_slot(nonce))
    if kept is None or kept.get("for") != purpose:
        return None
    try:
        slip = json.loads(_fernet(nonce).decrypt(kept["slip"].encode()))
    except (InvalidToken, KeyError, ValueError, AttributeError):
        return None
    return slip["password"], dt.datetime.fromisoformat(slip["issued_at"])
