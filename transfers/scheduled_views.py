"""振込予約取消 and 予約状況 pages (XFER-6, issue 9), PC and phone, no JavaScript needed.

The list shows the customer's scheduled transfers; each not yet due has a 取消 button that
starts a step-up for exactly that transfer (``stepup_pending_start``); the confirm page
cancels it once (``scheduled_transfer_cancel``: one conditional UPDATE)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from cosei_ib.bankcalendar import local_now
from security.audit import client_ip
from security.decorators import customer_required
from security.errors import AuthFactorError
from security.stepup_flow import stepup_pending_confirm, stepup_pending_start

from . import scheduled, selectors

PENDING_CANCEL = "cosei_pending_transfer_cancel"

# Where 振込予約取消 and 予約状況 were entered from (``?from=``), for their back link and
# carried from page to page. Only a key of this table counts — the link is reversed from
# it, never taken from the request (no open redirect); without one (the main menu, the
# done page) there is no back link, rather than a 「各種設定に戻る」 to a page the customer
# never saw (walk22).
ORIGINS = {"settings": ("security:settings", "各種設定に戻る"), "history": ("history", "取引履歴照会に戻る")}


def _origin(request) -> str:
    value = request.GET.get("from", "")
    return value if value in ORIGINS else ""


def _url(name: str, origin: str, *args) -> str:
    url = reverse(name, args=args)
    return f"{url}?{urlencode({'from': origin})}" if origin else url


def _origin_context(origin: str) -> dict:
    back = ORIGINS.get(origin)
    return {"origin_query": f"?{urlencode({'from': origin})}" if origin else "",
            "back": {"url": reverse(back[0]), "label": back[1]} if back else None}


@customer_required
@require_http_methods(["GET", "HEAD"])
def scheduled_list(request):
    today = local_now().date()
    rows = [{"transfer": transfer, "problem": scheduled.scheduled_transfer_cancel_problem(transfer, today=today)}
            for transfer in selectors.scheduled_list_for_customer(customer=request.customer)]
    return render(request, "transfers/scheduled_list.html",
                  {"rows": rows, "today": today, **_origin_context(_origin(request))})


@customer_required
@require_POST
def scheduled_cancel_start(request, transfer_id: int):
    transfer = selectors.transfer_get_for_customer(request.customer, transfer_id)
    origin = _origin(request)
    problem = scheduled.scheduled_transfer_cancel_problem(transfer, today=local_now().date())
    if problem:
        messages.error(request, problem)
        return redirect(_url("transfers:scheduled", origin))
    content = {"operation": "transfer_cancel", "transfer_id": transfer.pk,
               "transfer_date": transfer.transfer_date.isoformat(), "amount": transfer.amount}
    try:
        stepup_pending_start(request, session_key=PENDING_CANCEL, kind="transfer_cancel", content=content)
    except AuthFactorError as refused:
        messages.error(request, refused.message)
        return redirect(_url("transfers:scheduled", origin))
    return redirect(_url("transfers:scheduled_cancel", origin))


@sensitive_post_parameters("otp", "card_1", "card_2")
@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def scheduled_cancel(request):
    pending = request.session.get(PENDING_CANCEL)
    origin = _origin(request)
    form, _stepup, finished = stepup_pending_confirm(
        request, session_key=PENDING_CANCEL,
        execute=lambda customer, content: scheduled.scheduled_transfer_cancel(
            customer=customer, transfer_id=content["transfer_id"], ip=client_ip(request)),
        repeat_is_done=("transfer_cancel",),
        session_saved_with=(),  # the pending cancel leaves the session in its commit (issue 14)
    )
    if form is None:
        return redirect(_url("transfers:scheduled", origin))
    if finished:
        messages.success(request, "お振込のご予約を取り消しました。")
        return redirect(_url("transfers:scheduled", origin))
    transfer = selectors.transfer_get_for_customer(request.customer, pending["content"]["transfer_id"])
    return render(request, "transfers/scheduled_cancel.html",
                  {"form": form, "transfer": transfer, **_origin_context(origin)})


@customer_required
@require_http_methods(["GET", "HEAD"])
def scheduled_history(request):
    return render(request, "transfers/scheduled_history.html", {
        "transfers": selectors.scheduled_history_for_customer(customer=request.customer),
        **_origin_context(_origin(request))})

