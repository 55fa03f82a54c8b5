"""The second, signed submit of a staff confirm page (STAFF-1; walk26 F3, walk27 F2).

A staff action that moves money for good — 振込資金返却, 窓口入金 — first shows what it
would do; only that page's own submit acts. The page's form carries what it showed as
hidden fields and a token signing the same values and the staff member it was shown to,
with a time: a submit of other values (another record, another amount), of another staff
member's page or of a page left open too long acts on nothing. A replay of the right
submit stays safe through the action's own idempotency (one return per record, one
deposit per slip)."""

from __future__ import annotations

from django.core import signing

CONFIRM_MINUTES = 30


def confirm_token(*, salt: str, **shown) -> str:
    """The token of a confirm page that showed ``shown`` (JSON-serialisable values)."""
    return signing.dumps(shown, salt=salt)


def confirm_token_matches(token: str, *, salt: str, **shown) -> bool:
    """Whether ``token`` was signed for exactly ``shown`` within CONFIRM_MINUTES."""
    try:
        signed = signing.loads(token or "", salt=salt, max_age=CONFIRM_MINUTES * 60)
    except signing.BadSignature:
        return False
    return signed == shown
