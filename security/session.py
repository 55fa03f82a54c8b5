"""Customer session state (SEC-3, SEC-9, SEC-12).

A session is *complete* only after the password, the forced password change (first login)
and, when chosen, the OTP at login. Until then it grants nothing but the next step.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import login, logout, update_session_auth_hash

from accounts.models import Customer

STAGE = "cosei_stage"
AUTH_AT = "cosei_auth_at"
SEEN_AT = "cosei_seen_at"

STAGE_PASSWORD_CHANGE = "password_change"
STAGE_OTP = "otp"
STAGE_PASSKEY = "passkey"
STAGE_COMPLETE = "complete"

# SEC-9: a page view (GET/HEAD) stores its time as the session's last-seen time only when
# the stored one is more than this many seconds old; every other request stores it always.
# Browsing then costs no session UPDATE and COMMIT per page. The stored time is at most
# this much older than the last request, so the idle logout comes 14.5 to 15 minutes after
# the last page view — never later than SESSION_IDLE_SECONDS — and 「ログインを継続する」
# (a POST) resets the clock exactly.
SEEN_AT_WRITE_AFTER_SECONDS = 30
READ_METHODS = frozenset({"GET", "HEAD"})


def session_start(request, customer: Customer, *, stage: str) -> None:
    """Log the customer in with a fresh session key (no fixation) at ``stage``."""
    from .services import session_register

    # the user and its customer in one query on every later request (security/backends.py)
    login(request, customer.user, backend="security.backends.CustomerSessionBackend")
    now = int(time.time())
    request.session[STAGE] = stage
    request.session[AUTH_AT] = now
    request.session[SEEN_AT] = now
    request.session.save()
    session_register(customer=customer, session_key=request.session.session_key)


def session_advance(request, stage: str, *, new_key: bool = False) -> None:
    if new_key:
        from .services import session_register

        old_key = request.session.session_key
        request.session.cycle_key()  # SEC-12: a new key again after the OTP step
        customer = getattr(request.user, "customer", None)
        if customer is not None:
            session_register(customer=customer, session_key=request.session.session_key,
                             replaces=old_key)
    request.session[STAGE] = stage


# probe35 F1: the hash this session's own password change replaced, and when — so that the
# change form of another tab of the browser, sent with the old current password shortly
# after, is told the password was changed already instead of counted as a guess.
PASSWORD_REPLACED = "cosei_password_replaced"
PASSWORD_REPLACED_SECONDS = 10 * 60


def session_keep_after_password_change(request, customer: Customer, *, replaced_hash: str) -> None:
    """Keep this session after its own password change (the new password hash would end
    it too). Django cycles the key; the new key is indexed as the customer's, so ending
    the customer's sessions later (IB取引中止, another password change, staff) ends this
    one as well (SEC-10/12).

    The old key is left holding why it ended (``CHANGED_HERE``), like the keys of the
    sessions a change ends: the twin of a double click still on its way with that key, or
    the browser that never got this response's new cookie, lands on the login page told
    the password was changed (probe35 F1), not on a bare request error."""
    from django.contrib.sessions.models import Session

    from .services import session_register

    old_key = request.session.session_key
    update_session_auth_hash(request, request.user)
    session_register(customer=customer, session_key=request.session.session_key, replaces=old_key)
    request.session[PASSWORD_REPLACED] = {"at": int(time.time()), "hash": replaced_hash}
    if old_key and old_key != request.session.session_key:
        Session.objects.bulk_create(session_ended_markers([old_key], reason=CHANGED_HERE),
                                    ignore_conflicts=True)


def password_replaced_here(request, now: float | None = None) -> str | None:
    """The hash this session's own change replaced within PASSWORD_REPLACED_SECONDS. Once
    older, it is dropped from the session (SEC-13): an Argon2 hash of a password the
    customer used is kept no longer than it serves. ``CustomerSessionMiddleware`` asks on
    every request of a live session, so it goes with the first request after the window."""
    replaced = request.session.get(PASSWORD_REPLACED)
    if replaced is None:
        return None
    if not isinstance(replaced, dict) or (now or time.time()) - replaced.get("at", 0) > PASSWORD_REPLACED_SECONDS:
        del request.session[PASSWORD_REPLACED]  # the session is saved with it gone
        return None
    return replaced.get("hash")


AFTER_LOGIN = "cosei_after_login"


def after_login_url(request) -> str:
    """Where a login goes once complete: the page that asked for it (a biller's 情報リンク,
    PAY-4, kept across the login in the session; a local path only), else メイン. The
    stored page is kept until the last login step (password change, OTP) is done."""
    from django.urls import reverse
    from django.utils.http import url_has_allowed_host_and_scheme

    if request.session.get(STAGE) == STAGE_COMPLETE:
        target = request.session.pop(AFTER_LOGIN, None)
        if (isinstance(target, str) and target.startswith("/") and not target.startswith("//")
                and url_has_allowed_host_and_scheme(target, allowed_hosts=None)):
            return target
    return reverse("home")


def session_stage(request) -> str | None:
    return request.session.get(STAGE)


def session_expired_reason(request, now: float | None = None) -> str | None:
    now = now or time.time()
    seen = request.session.get(SEEN_AT)
    started = request.session.get(AUTH_AT)
    if seen is None or started is None:
        return None
    if now - seen > settings.SESSION_IDLE_SECONDS:
        return "idle"
    if now - started > settings.SESSION_ABSOLUTE_SECONDS:
        return "absolute"
    return None


def session_ended_at(request, reason: str) -> float:
    """When the limit named by ``reason`` (session_expired_reason's) ended the session, as a
    Unix time: the customer's 取引履歴 row is written when they come back, which may be
    hours later (walk31 F7)."""
    if reason == "idle":
        return request.session[SEEN_AT] + settings.SESSION_IDLE_SECONDS
    return request.session[AUTH_AT] + settings.SESSION_ABSOLUTE_SECONDS


def session_seen(request, *, now: float) -> None:
    """Note a request of a live session for the idle logout (SEC-9); writes the session
    only when the stored time is stale (SEEN_AT_WRITE_AFTER_SECONDS) or the request is not
    a read."""
    seen = request.session.get(SEEN_AT)
    if request.method not in READ_METHODS or seen is None or now - seen > SEEN_AT_WRITE_AFTER_SECONDS:
        request.session[SEEN_AT] = int(now)


def session_idle_remaining(request, now: float | None = None) -> int:
    """Seconds until the idle logout as the server counts them: from the stored last-seen
    time, which a page view may have left up to SEEN_AT_WRITE_AFTER_SECONDS old. The
    page's warning timer starts from this, so 「ログインを継続する」 gets its whole minute."""
    now = now or time.time()
    seen = request.session.get(SEEN_AT)
    if seen is None:
        return settings.SESSION_IDLE_SECONDS
    return max(int(settings.SESSION_IDLE_SECONDS - (now - seen)), 0)


def session_end(request) -> None:
    logout(request)  # flushes the server-side session


# Why the customer's session was ended from elsewhere (walk26 F9), told once on the login
# page, where ``CustomerSessionMiddleware`` sends the next request of the browser that held it.
ENDED = "cosei_ended"
CHANGED_HERE = "password_changed_here"
# Every call of ``sessions_end_for_customer`` names its reason (walk27 F5: IB取引中止 on one
# device sent the other, half-way through a transfer, to the login page without a word).
# Ended in the middle of a confirm page, the pending operation went with the session.
NOT_EXECUTED = "お手続き中のお取引は実行されていません。"
ENDED_MESSAGES = {
    "password_change": ("ログインパスワードが変更されたため、ログアウトしました。新しいログインパスワードで"
                        "ログインしてください。お心当たりのない場合は、至急当金庫までご連絡ください。"),
    "password_locked": ("ログインパスワードが所定の回数連続して誤って入力されたため、お取引をロックし、"
                        f"ログアウトしました。{NOT_EXECUTED}ロックの解除には当金庫所定の手続きが必要です。"
                        "お取引店またはお問い合わせ窓口までご連絡ください。"),
    "ib_suspend": (f"IB取引中止のお手続きによりログアウトしました。{NOT_EXECUTED}"
                   "ご利用の再開には当金庫所定の手続きが必要です。お取引店までご連絡ください。"),
    # not an end from elsewhere: the key this session's own change replaced (see above)
    "password_changed_here": ("ログインパスワードは変更済みです（同時に送信された操作で変更しました）。"
                              "安全のためログアウトしましたので、変更後のログインパスワードでログインしてください。"),
    "initial_password": ("当金庫で初回ログインパスワードを再発行したため、ログアウトしました。"
                         f"{NOT_EXECUTED}当金庫からお届けする初回ログインパスワードでログインしてください。"
                         "お心当たりのない場合は、至急当金庫までご連絡ください。"),
}


def session_ended_markers(session_keys: list[str], *, reason: str) -> list:
    """Session rows under ``session_keys`` holding only why they ended (no user): for
    ``services.sessions_end_for_customer`` to write in place of the ended sessions."""
    import datetime as dt

    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    data = SessionStore().encode({ENDED: reason})
    expires = timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return [Session(session_key=key, session_data=data, expire_date=expires) for key in session_keys]


def session_ended_message(request) -> str | None:
    """The message for a browser whose session was ended from elsewhere, once: the marker
    session is flushed (a new key, nothing in it)."""
    reason = request.session.get(ENDED)
    if reason is None:
        return None
    request.session.flush()
    return ENDED_MESSAGES.get(reason)
