"""残高照会 and 入出金明細照会 (ACCT-1/2/3/5, UI-1). Thin: forms validate, selectors read."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from cosei_ib.bankcalendar import local_now
from cosei_ib.devices import is_smartphone
from cosei_ib.replica import read_alias
from security.audit import audit_record, client_ip
from security.decorators import customer_required

from . import selectors
from .csv_export import content_disposition, statement_csv, statement_csv_filenames
from .forms import StatementDownloadInput, StatementQueryInput
from .models import Account
from .templatetags.accounts_format import japanese_date

logger = logging.getLogger(__name__)

MESSAGE_NO_DOWNLOAD_ON_SMARTPHONE = (
    "スマートフォンでは明細のダウンロードはご利用いただけません。パソコンからご利用ください。"
)


def _account_or_404(request, account_id, accounts: list[Account]) -> Account:
    """The customer's account (from ``accounts``, the customer's own as the page has read
    them), or a 404 that is also written to the audit log (ACCT-5, SEC-13): a foreign id in
    a URL is somebody probing."""
    try:
        return selectors.account_get_for_customer(request.customer, account_id, accounts=accounts)
    except Http404:
        audit_record(
            action="access_refused", outcome="refused", customer=request.customer,
            summary="照会できない口座の指定（入出金明細照会）",
            # what was asked for, for staff only: the customer read an internal id, or any
            # text put in ?account= (walk25 F13)
            staff_detail=f"口座 id={str(account_id)[:32]}" if account_id is not None else "口座の指定なし",
            ip=client_ip(request),
        )
        raise


@require_safe
@customer_required
def balances(request):
    """残高照会: every account's current, 前日 and 前月末 balances and 支払可能額."""
    summary = selectors.balance_summary_for_customer(customer=request.customer)
    return render(request, "accounts/balances.html", {"summary": summary})


@require_safe
@customer_required
def statements(request):
    """入出金明細照会: the query form, and one page of rows once an account is chosen."""
    now = local_now()
    today = now.date()
    smartphone = is_smartphone(request)
    accounts = selectors.accounts_for_customer(customer=request.customer)
    account = _account_or_404(request, request.GET["account"], accounts) if "account" in request.GET else None
    bound = account is not None and "mode" in request.GET
    form = StatementQueryInput(request.GET if bound else None, accounts=accounts, today=today,
                               smartphone=smartphone, account=account)
    page = query = None
    if form.is_valid():
        query = form.query(account)
        page = selectors.statement_page(
            query=query, cursor=form.cleaned["cursor"], today=today,
            using=read_alias(request),  # the replica unless the customer just wrote
        )
    # the query as sent without its page (the cursor), for the pager's and the download's
    # links: read off the QueryDict, not through its copy() (a deep copy; issue 14)
    kept = [(key, value) for key, values in request.GET.lists() if key != "cursor" for value in values]
    next_url = first_url = None
    if page is not None:
        first_url = "?" + urlencode(kept)
        if page.next_cursor is not None:  # the cursor is digits and a dot: nothing to quote
            next_url = f"{first_url}{'&' if kept else ''}cursor={page.next_cursor.encode()}"
    return render(request, "accounts/statements.html", {
        "form": form,
        "accounts": accounts,
        "account": account,
        "query": query,
        "page": page,
        "is_first_page": bound and not request.GET.get("cursor"),
        "next_url": next_url,
        "first_url": first_url,
        "download_params": [(key, value) for key, value in kept if key != "encoding"],
        "as_of": now,
        "retention_start": japanese_date(form.oldest),
        "retention_months": selectors.STATEMENT_RETENTION_MONTHS,
        "page_size": selectors.STATEMENT_PAGE_SIZE,
    })


@require_safe
@customer_required
def statements_csv(request):
    """The same query as a CSV download, streamed (ACCT-3). PC only (UI-1)."""
    if is_smartphone(request):
        return render(request, "accounts/refused.html",
                      {"message": MESSAGE_NO_DOWNLOAD_ON_SMARTPHONE}, status=403)
    today = local_now().date()
    accounts = selectors.accounts_for_customer(customer=request.customer)
    account = _account_or_404(request, request.GET.get("account"), accounts)
    form = StatementDownloadInput(request.GET, accounts=accounts, today=today, smartphone=False)
    if not form.is_valid():
        return render(request, "accounts/statements.html", {
            "form": form, "accounts": accounts, "account": account, "as_of": local_now(),
            "retention_start": japanese_date(selectors.retention_start(today)),
            "retention_months": selectors.STATEMENT_RETENTION_MONTHS,
            "page_size": selectors.STATEMENT_PAGE_SIZE,
        }, status=400)
    query = form.query(account)
    encoding = form.cleaned["encoding"]
    rows = selectors.statement_rows_for_export(query=query, today=today, using=read_alias(request))
    response = StreamingHttpResponse(
        statement_csv(rows, encoding=encoding),
        content_type="text/csv; charset=" + ("Shift_JIS" if encoding == "sjis" else "utf-8"),
    )
    response["Content-Disposition"] = content_disposition(*statement_csv_filenames(query, today))
    logger.info("statement csv account=%s mode=%s encoding=%s", account.pk, query.mode, encoding)
    return response
