"""The two-page confirm-with-step-up pattern every transaction view uses (SEC-7, SEC-14).

    入力画面 → ``stepup_pending_start`` holds the exact operation on the server
    確認画面 → ``stepup_pending_confirm`` verifies the answer (image card or OTP), consumes
               the step-up and runs the operation, in one transaction (the operation under
               a savepoint: its refusal leaves the verification committed)

So a view says only what to execute::

    form, stepup, done = stepup_pending_confirm(request, session_key=PENDING,
                                                execute=lambda customer, content: ...)
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from django.contrib import messages
from django.utils import timezone

from accounts.models import Customer

from . import selectors
from .audit import audit_record, client_ip
from .cards import AnswerStale
from .errors import AuthFactorError
from .forms import StepUpForm
from .models import StepUp
from .passkeys import passkey_origins
from .stepup import (
    STEPUP_EXPIRED,
    STEPUP_METHOD_CHANGED,
    STEPUP_NOT_FOUND,
    STEPUP_USED,
    stepup_begin,
    stepup_content_canonical,
    stepup_use_guide_factor,
    stepup_verify_execute,
)

# the confirm page's 「画像認証カード・ワンタイムパスワードで認証する」 button (SEC-16)
OTHER_FACTOR = "stepup_other_factor"
# the hidden field of the step-up form: the step-up of the operation the page showed
SHOWN = "stepup"
NOTHING_PENDING = ("このお手続きは、既に完了したか別の画面で中止されたため、実行しませんでした。"
                   "結果は取引履歴照会でご確認ください。")
STEPUP_REPLACED = ("別の画面で新しいお手続きが始まったため、この画面のお手続きは実行しませんでした。"
                   "表示中の内容をご確認のうえ、もう一度認証してください。")


def stepup_pending_start(request, *, session_key: str, kind: str, content: dict) -> StepUp:
    """Begin a step-up for ``content`` and remember it in the session (raises
    AuthFactorError, e.g. when the factor is locked)."""
    stepup = stepup_begin(customer=request.customer, kind=kind, content=content)
    request.session[session_key] = {"stepup": str(stepup.pk), "content": content}
    return stepup


def stepup_pending(request, session_key: str) -> tuple[StepUp, dict] | None:
    pending = request.session.get(session_key)
    if not pending:
        return None
    stepup = selectors.stepup_get_for_customer(request.customer, pending["stepup"])
    stepup.customer = request.customer  # the same row (the selector filtered by it): not read again
    return stepup, pending["content"]


def _expired(request, session_key: str, message: str = STEPUP_EXPIRED) -> tuple[None, None, bool]:
    """The confirm page outlived its step-up: the pending operation is dropped and the
    customer, sent back to the input page, is told to start again — the page offered the
    same expired confirmation at every retry, each using up an OTP (walk24). So too when
    the step-up's method is no longer allowed (「パスキーでのみログイン」 or the one-time
    password turned on in another tab meanwhile, ``message`` STEPUP_METHOD_CHANGED): the
    page kept asking for an image-card answer it refused every time (walk33 F5)."""
    request.session.pop(session_key, None)
    messages.error(request, message, fail_silently=True)
    return None, None, False


def _done_elsewhere(request, found: tuple[StepUp, dict] | None, kinds: Collection[str]) -> StepUp | None:
    """The used step-up of ``kinds`` a POST names, when it is not the one pending: the
    confirmation this page showed went through in another request (or None)."""
    shown = request.POST.get(SHOWN) if request.method == "POST" and kinds else None
    if not shown or (found is not None and shown == str(found[0].pk)):
        return None
    stepup = selectors.stepup_used_get_for_customer(request.customer, shown, kinds=kinds)
    if stepup is not None:
        stepup.customer = request.customer  # the same row (the selector filtered by it)
    return stepup


def stepup_pending_confirm(
    request,
    *,
    session_key: str,
    execute: Callable[[Customer, dict], object],
    repeat_is_done: Collection[str] = (),
    session_saved_with: Collection[str] | None = None,
) -> tuple[StepUpForm | None, StepUp | None, bool]:
    """Handle the confirm page. Returns ``(form, stepup, done)``; ``form`` is None when
    nothing is pending or the step-up expired (redirect to the input page; a POST is told
    why, an expired one too). ``execute(customer, content)`` runs
    in the same transaction as the consumption of the step-up: it executes exactly what
    was confirmed, once. A refusal (an error with a Japanese ``message``) becomes a form
    error, leaves nothing done (the step-up stays verified, so the customer may retry
    until it expires) and is written to the audit log; the page then shows no challenge
    (the answer stands). A refusal marked ``final`` (it can never succeed: the 予約 is no
    longer 予約中) drops the pending operation and returns ``(None, None, False)`` with the
    message, as for nothing pending.

    ``repeat_is_done``: the step-up kinds the page confirms, for a view whose done page
    does not depend on ``execute``'s result (or that finds the result itself: the passkey
    registration looks up the ceremony the winner opened) — the loser of two submits of
    the page at once (a double click: both loaded the session with the pending step-up)
    finds the step-up used, which only a success does; it is told done, like the winner,
    instead of 「既に処理されています」 on the confirm page. So is a submit that comes after
    the winner's session was saved (a second tab, a replayed POST): nothing, or another
    operation, is pending then, but the page posted the step-up it showed (``SHOWN``), and
    when that is the customer's, of these kinds and used, the loser gets ``(form,
    that step-up, True)`` and the pending operation, if any, stays — instead of
    「既に完了したか…」 on the input page (SEC-14). Its session may have been saved by the
    winner meanwhile (or ended, by IB取引中止): what the done page shows must come from the
    database — ``stepup.content``, not the session.

    ``session_saved_with``: for a view that changes nothing in the session after a success
    but these keys (popped with the pending operation): the session is saved in the
    confirmation's transaction, after the operation — one commit fewer (issue 14); a
    refusal leaves it to the response, as always.

    A POST that is a whole answer (``StepUpForm.answer_shaped``) is checked without
    reading the step-up and its challenge first: the confirmation reads them under its
    locks, and the page's form is built from those rows only when it is refused (issue
    14). Whenever those rows ask for another form of answer (AnswerStale: nothing was
    written) or the step-up is not found, the POST is judged as below: the form read from
    the database first, as a page view does."""
    if request.method == "POST":
        answered = _answered(request, session_key=session_key, execute=execute,
                             repeat_is_done=repeat_is_done, session_saved_with=session_saved_with)
        if answered is not None:
            return answered
    found = stepup_pending(request, session_key)
    done_elsewhere = _done_elsewhere(request, found, repeat_is_done)
    if done_elsewhere is not None:
        return StepUpForm(method=done_elsewhere.method), done_elsewhere, True
    if found is None:
        if request.method == "POST":  # done or given up in another tab, or a resubmit after 完了
            messages.info(request, NOTHING_PENDING, fail_silently=True)
        return None, None, False
    stepup, content = found
    if request.method == "GET" and stepup.used_at is None and stepup.expires_at <= timezone.now():
        return _expired(request, session_key)
    shown = request.POST.get(SHOWN) if request.method == "POST" else None
    if shown is not None and shown != str(stepup.pk):
        # another tab of this session started another operation since this page was
        # shown: what this page showed is not what would execute, so nothing is checked
        form = StepUpForm.for_stepup(stepup)
        form.add_page_error(STEPUP_REPLACED)
        return form, stepup, False
    if request.method == "POST" and OTHER_FACTOR in request.POST:
        # no passkey on this device: the same operation, answered with the guide's factor
        try:
            stepup = stepup_use_guide_factor(customer=request.customer, stepup=stepup)
        except AuthFactorError as refused:
            form = StepUpForm.for_stepup(stepup)
            form.add_page_error(refused.message)
            return form, stepup, False
        return StepUpForm.for_stepup(stepup), stepup, False
    form = StepUpForm.for_stepup(stepup, request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return form, stepup, False
    return _verify_execute(request, session_key=session_key, stepup_id=stepup.pk, content=content,
                           answer=form.answer(), execute=execute, repeat_is_done=repeat_is_done,
                           session_saved_with=session_saved_with, stepup=stepup, form=form)


def _answered(request, *, session_key: str, execute, repeat_is_done: Collection[str],
              session_saved_with: Collection[str] | None):
    """The POST of a whole answer for the operation pending, checked with the rows locked
    in the confirmation's transaction; None: judge it with the form read first."""
    pending = request.session.get(session_key)
    if not pending or OTHER_FACTOR in request.POST:
        return None
    shown = request.POST.get(SHOWN)
    if shown is not None and shown != pending["stepup"]:
        return None  # another operation than the page showed: said by the form's page
    shaped = StepUpForm.answer_shaped(request.POST)
    if shaped is None:
        return None
    method, answer = shaped
    return _verify_execute(request, session_key=session_key, stepup_id=pending["stepup"],
                           content=pending["content"], answer=answer, execute=execute,
                           repeat_is_done=repeat_is_done, session_saved_with=session_saved_with,
                           answered=method)


def _refused_form(request, session_key: str, seen: dict) -> tuple[StepUp, StepUpForm]:
    """After a refusal of a shaped answer: the step-up and the page's form from the rows
    the confirmation locked — what a form read just before the transaction would have
    shown — bound to the POST as that form was (its ``content`` is read when used)."""
    stepup = seen.get("stepup")
    if stepup is None:
        stepup, _content = stepup_pending(request, session_key)
    stepup.customer = request.customer  # the same row (locked by it)
    challenge = seen.get("challenge")
    if stepup.verified_at is None and stepup.method == StepUp.Method.IMAGE_CARD and challenge is not None:
        form = StepUpForm(request.POST, method=stepup.method, challenge=challenge,
                          initial={"stepup_id": stepup.pk})
    else:
        form = StepUpForm.for_stepup(stepup, request.POST)
    form.is_valid()
    return stepup, form


def _verify_execute(request, *, session_key: str, stepup_id, content: dict, answer: dict, execute,
                    repeat_is_done: Collection[str], session_saved_with: Collection[str] | None,
                    stepup: StepUp | None = None, form: StepUpForm | None = None,
                    answered: str | None = None):
    """``stepup_verify_execute`` and what its outcome means for the page. ``stepup`` and
    ``form``: as read before the transaction; None with ``answered`` (the method of a
    shaped answer), when they come from the rows it locked (None returned: judge the POST
    with the form read first; nothing was written)."""
    customer = request.customer
    seen: dict = {}

    def operation():
        result = execute(customer, content)
        if session_saved_with is not None:
            for key in (session_key, *session_saved_with):
                request.session.pop(key, None)
            save = getattr(request.session, "save_in_transaction", None)
            if save is not None:
                save()
        return result

    try:
        # one transaction; a wrong answer is counted (committed) even though we refuse
        stepup_verify_execute(customer=customer, stepup_id=stepup_id, content=content,
                              ip=client_ip(request), origins=passkey_origins(request),
                              execute=operation, answered=answered, seen=seen, **answer)
    except AnswerStale:
        return None
    except AuthFactorError as refused:
        if stepup is None:
            if refused.message == STEPUP_NOT_FOUND and "stepup" not in seen:
                return None  # raised before anything was written: the form's read says 404
            stepup, form = _refused_form(request, session_key, seen)
        if repeat_is_done and refused.message == STEPUP_USED:
            request.session.pop(session_key, None)
            return form, stepup, True
        if refused.message in (STEPUP_EXPIRED, STEPUP_METHOD_CHANGED):
            return _expired(request, session_key, refused.message)
        form.add_refusal(refused)
        return form, stepup, False
    except Exception as refused:  # domain errors of the operation carry a Japanese message
        if not hasattr(refused, "message"):
            raise
        if stepup is None:
            stepup, form = _refused_form(request, session_key, seen)
        # The operation's savepoint rolled back (and with it any row it wrote); the
        # refusal itself is still part of the customer's history (ACCT-4, SEC-13): as the
        # operation words it, with its 受付番号 (拒否), else its message (失敗).
        summary = getattr(refused, "audit_summary", "")
        audit_record(action=stepup.kind, outcome="refused" if summary else "failure", customer=customer,
                     summary=summary or str(refused.message), ip=client_ip(request))
        if getattr(refused, "final", False):
            # it can never succeed now (the 予約 was cancelled by the branch meanwhile):
            # back to the input page with why, as after a success — not the confirm page
            # with a button that can only fail again (walk25 F11)
            request.session.pop(session_key, None)
            messages.error(request, refused.message, fail_silently=True)
            return None, None, False
        # the right answer stands (stepup_verify_execute marked it verified; the image-card
        # challenge it answered is closed and its images are gone): the page comes back
        # with the refusal and the button only, not a challenge to answer again (walk25 F11)
        stepup.verified_at = stepup.verified_at or timezone.now()
        form = StepUpForm.for_stepup(stepup)
        form.add_page_error(refused.message)
        return form, stepup, False
    if stepup is None:  # the row locked, with the content it was confirmed with
        stepup = seen["stepup"]
        stepup.customer, stepup.content = customer, stepup_content_canonical(content)
        form = StepUpForm(method=stepup.method)
    request.session.pop(session_key, None)
    return form, stepup, True
