"""残高照会 and 入出金明細照会 (ACCT-1/2/3/5, UI-1). Thin: forms validate, selectors read."""

from __future__ import annotations

import logging

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
from .forms import StatementDownloadForm, StatementForm
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


def _statement_query(account: Account, data: dict) -> selectors.StatementQuery:
    mode = data["mode"]
    return selectors.StatementQuery(
        account=account,
        mode=mode,
        start={selectors.MODE_DATE: data["date"], selectors.MODE_PERIOD: data["date_from"]}.get(mode),
        end=data["date_to"] if mode == selectors.MODE_PERIOD else None,
        count=data["count"] if mode == selectors.MODE_COUNT else None,
        newest_first=data["order"],
    )


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
    today = local_now().date()
    smartphone = is_smartphone(request)
    accounts = selectors.accounts_for_customer(customer=request.customer)
    account = _account_or_404(request, request.GET["account"], accounts) if "account" in request.GET else None
    bound = account is not None and "mode" in request.GET
    form = StatementForm(
        request.GET if bound else None,
        accounts=accounts, today=today, smartphone=smartphone,
        initial={
            "account": account.pk if account else (accounts[0].pk if accounts else None),
            "date": today, "date_from": today.replace(day=1), "date_to": today, "count": 10,
        },
    )
    page = query = None
    if bound and form.is_valid():
        query = _statement_query(account, form.cleaned_data)
        page = selectors.statement_page(
            query=query, cursor=form.cleaned_data["cursor"], today=today,
            using=read_alias(request),  # the replica unless the customer just wrote
        )
    next_url = first_url = None
    if page is not None:
        params = request.GET.copy()
        params.pop("cursor", None)
        first_url = "?" + params.urlencode()
        if page.next_cursor is not None:
            params["cursor"] = page.next_cursor.encode()
            next_url = "?" + params.urlencode()
    download = request.GET.copy()
    download.pop("cursor", None)
    return render(request, "accounts/statements.html", {
        "form": form,
        "accounts": accounts,
        "account": account,
        "query": query,
        "page": page,
        "is_first_page": bound and not request.GET.get("cursor"),
        "next_url": next_url,
        "first_url": first_url,
        "download_params": [(key, value) for key in download for value in download.getlist(key)
                            if key != "encoding"],
        "as_of": local_now(),
        "retention_start": japanese_date(selectors.retention_start(today)),
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
    form = StatementDownloadForm(request.GET, accounts=accounts, today=today, smartphone=False)
    if not form.is_valid():
        return render(request, "accounts/statements.html", {
            "form": form, "accounts": accounts, "account": account, "as_of": local_now(),
            "retention_start": japanese_date(selectors.retention_start(today)),
            "retention_months": selectors.STATEMENT_RETENTION_MONTHS,
            "page_size": selectors.STATEMENT_PAGE_SIZE,
        }, status=400)
    query = _statement_query(account, form.cleaned_data)
    encoding = form.cleaned_data["encoding"]
    rows = selectors.statement_rows_for_export(query=query, today=today, using=read_alias(request))
    response = StreamingHttpResponse(
        statement_csv(rows, encoding=encoding),
        content_type="text/csv; charset=" + ("Shift_JIS" if encoding == "sjis" else "utf-8"),
    )
    response["Content-Disposition"] = content_disposition(*statement_csv_filenames(query, today))
    logger.info("statement csv account=%s mode=%s encoding=%s", account.pk, query.mode, encoding)
    return response
