"""振込 pages (XFER-1): one page per step of the guide's 振込操作の流れ, PC and phone.

The wizard's input lives in the session (``WIZARD``) so the back button and every 戻る
link keep what was typed. The bank and branch are chosen with plain links (the state is
in the URL until the account page). 確認 holds the exact content on the server with a
step-up (security.stepup_flow); executing it once is enforced by the step-up's
conditional consumption, the Transfer's unique step-up id and the journal's
idempotency key.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.models import Account
from accounts.selectors import account_get_for_customer, debit_accounts_for_customer
from accounts.templatetags.accounts_format import japanese_date
from cosei_ib.bankcalendar import local_now
from cosei_ib.devices import is_smartphone
from security.audit import client_ip
from security.decorators import customer_required
from security.errors import AuthFactorError
from security.stepup_flow import NOTHING_PENDING, stepup_pending_confirm, stepup_pending_start

from . import scheduled, selectors, services
from .banks import KANA_ROWS
from .errors import TransferError
from .forms import AccountEntryForm, DetailsForm, LimitForm, NicknameForm, StartForm
from .models import Bank, Transfer

WIZARD = "cosei_transfer_wizard"
PENDING = "cosei_pending_transfer"
PENDING_LIMIT = "cosei_pending_limit_change"

CONFIRM_REPLACED = "別の画面で新しい振込内容が入力されたため、この確認画面は無効になりました。最新の内容を確認してください。"
WIZARD_LOST = "お手数ですが、最初から操作をやり直してください。"


def _search_params(request, *names: str) -> dict[str, str]:
    """GET parameters of the kana screens: at most 30 characters, control characters
    (NUL …) dropped — PostgreSQL refuses NUL in a text query."""
    return {name: "".join(char for char in request.GET.get(name, "")[:30]
                          if unicodedata.category(char)[0] != "C") for name in names}


def _wizard(request) -> dict:
    return request.session.get(WIZARD) or {}


def _wizard_save(request, **values) -> dict:
    wizard = {**_wizard(request), **values}
    request.session[WIZARD] = wizard
    return wizard


def _debit_account(request) -> Account | None:
    account_id = _wizard(request).get("debit_account_id")
    if account_id is None:
        return None
    return account_get_for_customer(request.customer, account_id)


# --- 1. 引落口座 and 振込先 -------------------------------------------------------------------


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def start(request):
    debit_accounts = debit_accounts_for_customer(customer=request.customer)
    accounts = debit_accounts.payable
    payees = list(selectors.payee_list_for_customer(customer=request.customer))
    wizard = _wizard(request)
    initial = {"debit_account": wizard.get("debit_account_id") or (accounts[0].pk if accounts else None)}
    form = StartForm(request.POST or None, accounts=accounts, payees=payees, initial=initial)
    if request.method == "POST" and form.is_valid():
        account_id = form.cleaned_data["debit_account"]
        if request.POST.get("mode") == "registered":
            if not form.cleaned_data["payee"]:
                form.add_error("payee", "振込先を選択してください。")
            else:
                payee = selectors.payee_get_for_customer(request.customer, form.cleaned_data["payee"])
                _wizard_save(request, debit_account_id=account_id)
                if _payee_confirm(request, bank_code=payee.bank_code, bank_name=payee.bank_name,
                                  branch_code=payee.branch_code, branch_name=payee.branch_name,
                                  account_type=payee.account_type, account_number=payee.account_number,
                                  payee_id=payee.pk, form=form):
                    return redirect("transfers:details")
        else:
            _wizard_save(request, debit_account_id=account_id)
            return redirect("transfers:bank")
    return render(request, "transfers/start.html", {"form": form, "payees": payees, "accounts": accounts,
                                                    "stopped_accounts": debit_accounts.stopped})


def _payee_confirm(request, *, form, payee_id=None, **account) -> bool:
    """口座名義確認: look the holder up and keep the payee in the wizard; a refusal
    becomes a message on ``form``."""
    try:
        found = services.name_lookup(customer=request.customer, ip=client_ip(request),
                                     bank_code=account["bank_code"], branch_code=account["branch_code"],
                                     account_type=account["account_type"],
                                     account_number=account["account_number"])
    except TransferError as refused:
        form.add_error(None, refused.message)
        return False
    if found.credit_account is not None and found.credit_account.pk == _wizard(request).get("debit_account_id"):
        form.add_error(None, services.SAME_ACCOUNT)  # said here, not only after the amount (XFER-1)
        return False
    payee = {**account, "holder_kana": found.holder_kana, "payee_id": payee_id,
             "credit_account_id": found.credit_account.pk if found.credit_account else None}
    kept = _wizard(request).get("payee") or {}
    same = all(kept.get(key) == payee[key] for key in ("bank_code", "branch_code", "account_type", "account_number"))
    _wizard_save(request, payee=payee, **({} if same else {"details": {}}))  # another payee: start afresh
    return True


# --- 2. 金融機関 / 3. 支店 / 4. 科目・口座番号 ------------------------------------------------


@customer_required
def bank(request):
    if not _wizard(request).get("debit_account_id"):
        return redirect("transfers:start")
    params = _search_params(request, "type", "row", "letter", "q")
    results = selectors.bank_search(bank_type=params["type"], row=params["row"], letter=params["letter"],
                                    query=params["q"])
    return render(request, "transfers/bank.html", {
        "featured": selectors.featured_banks(), "types": Bank.Type.choices, "rows": KANA_ROWS,
        "params": params, "row_letters": KANA_ROWS.get(params["row"], ""),
        "extra": f"type={params['type']}&" if params["type"] in Bank.Type.values else "",
        "results": list(results) if results is not None else None,
    })


@customer_required
def branch(request, bank_code: str):
    if not _wizard(request).get("debit_account_id"):
        return redirect("transfers:start")
    chosen = selectors.bank_get(bank_code)
    params = _search_params(request, "row", "letter", "q")
    results = selectors.branch_search(bank=chosen, row=params["row"], letter=params["letter"], query=params["q"])
    return render(request, "transfers/branch.html", {
        "bank": chosen, "rows": KANA_ROWS, "params": params, "row_letters": KANA_ROWS.get(params["row"], ""),
        "results": list(results) if results is not None else None,
    })


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def account_entry(request, bank_code: str, branch_code: str):
    if not _wizard(request).get("debit_account_id"):
        return redirect("transfers:start")
    chosen = selectors.bank_get(bank_code)
    chosen_branch = selectors.branch_get(chosen, branch_code)
    kept = _wizard(request).get("payee") or {}
    initial = ({"account_type": kept.get("account_type"), "account_number": kept.get("account_number")}
               if (kept.get("bank_code"), kept.get("branch_code")) == (bank_code, branch_code) else {})
    form = AccountEntryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if _payee_confirm(request, form=form, bank_code=chosen.code, bank_name=chosen.display_name,
                          branch_code=chosen_branch.code, branch_name=chosen_branch.name,
                          account_type=form.cleaned_data["account_type"],
                          account_number=form.cleaned_data["account_number"]):
            return redirect("transfers:details")
    return render(request, "transfers/account.html", {"form": form, "bank": chosen, "branch": chosen_branch})


# --- 5. 振込内容の入力 -----------------------------------------------------------------------


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def details(request):
    wizard = _wizard(request)
    payee = wizard.get("payee")
    debit = _debit_account(request)
    if not payee or debit is None:
        messages.info(request, WIZARD_LOST)
        return redirect("transfers:start")
    today = local_now().date()
    kept = wizard.get("details") or {}
    initial = {"amount": kept.get("amount", ""), "fee_borne_by_payee": kept.get("fee_borne_by_payee", False),
               "sender_name": kept.get("sender_name") or request.customer.name_kana,
               # today's date in the field unless the customer gave one (walk33 F2)
               "transfer_date": kept.get("transfer_date") or today}
    last_day = scheduled.last_schedule_day(today)  # a business day (probe34 F2)
    example = scheduled.date_example(today=today)
    shape = dict(smartphone=is_smartphone(request), today=today, last_day=last_day, date_example=example)
    form = None
    if request.method != "POST" and kept.get("transfer_date"):
        # a date given before 0:00 (confirmed after it, or 戻る the next day): asked for
        # again, shown as given — not today's put in its place (review33 F6)
        form = DetailsForm.date_to_choose_again(kept, **shape)
    form = form or DetailsForm(request.POST or None, initial=initial, **shape)
    if request.method == "POST":
        _wizard_save(request, details={
            "amount": request.POST.get("amount", "")[:30],
            "fee_borne_by_payee": bool(request.POST.get("fee_borne_by_payee")),
            "sender_name": request.POST.get("sender_name", "")[:60],
            "transfer_date": request.POST.get("transfer_date", "")[:20],
        })
        day = form.is_valid() and (form.cleaned_data["transfer_date"] or today)
        problem = day and scheduled.schedule_date_problem(day, today=today)
        if problem:
            form.add_error("transfer_date", problem)
        if form.is_valid():
            data = form.cleaned_data
            try:
                quote = services.transfer_quote(
                    customer=request.customer, debit_account=debit, bank_code=payee["bank_code"],
                    branch_code=payee["branch_code"], amount=data["amount"],
                    fee_borne_by_payee=data["fee_borne_by_payee"], day=day, ip=client_ip(request),
                    credit_account_id=payee.get("credit_account_id"))
                content = services.transfer_content(
                    debit_account=debit, payee=payee, amount=data["amount"],
                    fee_borne_by_payee=data["fee_borne_by_payee"], sender_name=data["sender_name"],
                    day=day, quote=quote, today=today)
                stepup_pending_start(request, session_key=PENDING, kind="transfer", content=content)
            except (services.TransferRefused, AuthFactorError) as refused:
                form.add_error(None, refused.message)
            else:
                # kept with the input: a 予約 refused after 0:00 asks for its date again (sched35)
                _wizard_save(request, details={**_wizard(request)["details"], "scheduled": content["scheduled"]})
                return redirect("transfers:confirm")
    return render(request, "transfers/details.html", {
        "form": form, "payee": payee, "debit": debit, "today": today,
        "date_hint": scheduled.DATE_HINT.format(last=japanese_date(last_day), example=example),
        "type_label": dict(Account.Type.choices).get(payee["account_type"], ""),
    })


# --- 6. 確認 + step-up / 7. 完了 ---------------------------------------------------------------


def _content_view(content: dict) -> dict:
    amount, fee, borne = content["amount"], content["fee"], content["fee_borne_by_payee"]
    return {**content, "type_label": dict(Account.Type.choices).get(content["account_type"], ""),
            "credited": amount - fee if borne else amount, "debited": amount if borne else amount + fee,
            "date": dt.date.fromisoformat(content["transfer_date"])}


@sensitive_post_parameters("otp", "card_1", "card_2")
@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request):
    """確認画面: the exact content held on the server and the step-up. A second submit of
    the same confirmation (double click, back button, replay, another tab) posts nothing
    and shows the first result."""
    pending = request.session.get(PENDING)
    posted = request.POST.get("confirmation", "")
    if request.method == "POST" and posted and (pending is None or posted != pending["stepup"]):
        return _already_done(request, posted) or _replaced(request)
    if pending is None:
        return redirect("transfers:start")
    passed = services.transfer_date_passed(pending["content"])
    if passed and request.method != "POST":  # past 0:00 since the input page: nothing to confirm
        request.session.pop(PENDING, None)
        messages.error(request, passed)
        return redirect("transfers:details")
    stepup_id = pending["stepup"]
    executed = []
    form, stepup, done = stepup_pending_confirm(
        request, session_key=PENDING,
        execute=lambda customer, content: executed.append(_execute_or_schedule(
            customer=customer, stepup_id=stepup_id, content=content, ip=client_ip(request))),
        # the wizard goes with the pending transfer, saved with the transfer (issue 14)
        session_saved_with=(WIZARD,),
    )
    if form is None:  # the date passed (refused, told): the input page keeps the rest (review33 F6, sched35)
        return redirect("transfers:details" if services.transfer_date_passed(pending["content"])
                        else "transfers:start")
    if done:
        request.session.pop(WIZARD, None)
        return redirect("transfers:done", transfer_id=executed[0].pk)
    if request.method == "POST":  # refused as already used: the first request's result
        finished = _already_done(request, stepup_id)
        if finished:
            return finished
    account = account_get_for_customer(request.customer, pending["content"]["debit_account_id"])
    return render(request, "transfers/confirm.html", {
        "form": form, "content": _content_view(pending["content"]), "debit": account,
        "confirmation": stepup_id,
        # a reservation (XFER-5) as the content was made: the page and its button say so,
        # and the confirmation does that (``_execute_or_schedule``), not what the clock says
        "scheduled": services.transfer_is_scheduled(pending["content"]),
    })


def _execute_or_schedule(*, content: dict, **kwargs) -> Transfer:
    """What the confirm page showed, decided when the content was made and bound by the
    step-up (``transfer_is_scheduled``): a 予約 is booked, else the transfer posts at once
    (XFER-5) — never the other by the clock at the submit (a 予約 for tomorrow confirmed
    after 0:00 executed at once). A refusal comes named for 取引履歴 by the service
    (``confirm_refusal_summarised``); a date passed is refused as final by either."""
    if services.transfer_is_scheduled(content):
        return scheduled.scheduled_transfer_create(content=content, **kwargs)
    return services.transfer_execute(content=content, **kwargs)


def _already_done(request, stepup_id: str):
    transfer = Transfer.objects.filter(customer=request.customer, stepup_id=_uuid_or_none(stepup_id)).first()
    if transfer is None:
        return None
    if (request.session.get(PENDING) or {}).get("stepup") == stepup_id:
        request.session.pop(PENDING, None)
    request.session.pop(WIZARD, None)
    return redirect("transfers:done", transfer_id=transfer.pk)


def _replaced(request):
    if request.session.get(PENDING):  # another tab entered other content since this page
        messages.error(request, CONFIRM_REPLACED)
        return redirect("transfers:confirm")
    # nothing pending: done or given up elsewhere, or expired (review: said 「別の画面で新しい
    # 振込内容が入力された」, which nobody had)
    messages.info(request, NOTHING_PENDING)
    return redirect("transfers:start")


def _uuid_or_none(value: str):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


DONE_NOT_REGISTRABLE = "実行されなかったお振込の振込先は、ここでは登録できません。"


def _done_state(transfer: Transfer) -> dict:
    """The done page's heading and sentence for the transfer as it is now (walk26 F2): an
    old confirmation replayed after the 予約 was cancelled or became 未処理 said
    「振込完了／振込手続きが完了しました」. A payee is offered for registration only after a
    transfer made or booked (``registrable``)."""
    status = transfer.status
    booked = timezone.localtime(transfer.created_at).date() < transfer.transfer_date
    if status == Transfer.Status.SCHEDULED:
        return {"heading": "振込予約の受付完了", "registrable": True,
                "text": "振込予約を受け付けました。振込指定日に実行します（前日までに残高をご確保ください）。"}
    if status == Transfer.Status.EXECUTED:
        return {"heading": "振込完了" if not booked else "振込予約（振込済）", "registrable": True,
                "text": "振込手続きが完了しました。" if not booked else "ご予約のお振込は振込指定日に実行しました。"}
    if status == Transfer.Status.UNPROCESSED:
        reason = transfer.get_unprocessed_reason_display()
        return {"heading": "振込予約（未処理）", "registrable": False,
                "text": (f"ご予約のお振込は、{reason}のため振込指定日に実行できませんでした（未処理）。"
                         if reason else "ご予約のお振込は振込指定日に実行できませんでした（未処理）。")
                + "お振込は行われていません。"}
    return {"heading": "振込予約（取消済）", "registrable": False,
            "text": "ご予約のお振込は取り消されています。お振込は行われていません。"}


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def done(request, transfer_id: int):
    transfer = selectors.transfer_get_for_customer(request.customer, transfer_id)
    registered = selectors.payee_list_for_customer(customer=request.customer).filter(
        bank_code=transfer.bank_code, branch_code=transfer.branch_code, account_type=transfer.account_type,
        account_number=transfer.account_number).first()
    state = _done_state(transfer)
    if request.method == "POST" and registered is None and not state["registrable"]:
        messages.error(request, DONE_NOT_REGISTRABLE)  # a page shown before it was cancelled
        return redirect("transfers:done", transfer_id=transfer.pk)
    if request.method == "POST" and registered is None:
        try:
            registered = services.payee_register(customer=request.customer, transfer=transfer,
                                                 ip=client_ip(request))
        except services.TransferRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, "振込先を登録しました。次回から「登録済みの振込先」から選べます。")
        return redirect("transfers:done", transfer_id=transfer.pk)
    return render(request, "transfers/done.html", {"transfer": transfer, "registered": registered, "state": state})


# --- 振込先の管理 (XFER-7) ------------------------------------------------------------------


@customer_required
@require_http_methods(["GET", "HEAD"])
def payees(request):
    return render(request, "transfers/payees.html", {
        "payees": selectors.payee_list_for_customer(customer=request.customer),
        "max_payees": services.MAX_PAYEES,
    })


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def payee_rename(request, payee_id: int):
    payee = _payee_or_gone(request, payee_id)
    if payee is None:
        return redirect("transfers:payees")
    form = NicknameForm(request.POST or None, initial={"nickname": payee.nickname})
    if request.method == "POST" and form.is_valid():
        try:
            services.payee_rename(customer=request.customer, payee=payee, nickname=form.cleaned_data["nickname"],
                                  ip=client_ip(request))
        except services.TransferRefused as refused:
            messages.error(request, refused.message)
        else:  # an empty name clears it (XFER-7): the list shows the holder's name again
            messages.success(request, "登録名を変更しました。" if form.cleaned_data["nickname"]
                             else "登録名を削除しました。受取人名で表示します。")
        return redirect("transfers:payees")
    return render(request, "transfers/payee_rename.html", {"form": form, "payee": payee})


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def payee_delete(request, payee_id: int):
    payee = _payee_or_gone(request, payee_id)
    if payee is None:
        return redirect("transfers:payees")
    if request.method == "POST":
        services.payee_delete(customer=request.customer, payee=payee, ip=client_ip(request))
        messages.success(request, "振込先を削除しました。")
        return redirect("transfers:payees")
    return render(request, "transfers/payee_delete.html", {"payee": payee})


def _payee_or_gone(request, payee_id: int):
    """The customer's payee; on a POST for one already deleted (the second click, another
    tab) None with 「既に削除されています」 for the list — a GET of it stays a 404."""
    try:
        return selectors.payee_get_for_customer(request.customer, payee_id)
    except Http404:
        if request.method != "POST":
            raise
        messages.info(request, services.PAYEE_GONE)
        return None


# --- 利用限度額変更 (XFER-8) -----------------------------------------------------------------


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def limit(request):
    today = local_now().date()
    figures = selectors.transfer_limit_view(customer=request.customer, today=today)
    form = LimitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        new_limit = form.cleaned_data["new_limit"]
        if new_limit > figures["maximum"]:
            form.add_error("new_limit", services.LIMIT_OVER_MAX.format(maximum=figures["maximum"]))
        elif new_limit == figures["current"] and figures["pending"] is None and not figures["capped"]:
            form.add_error("new_limit", services.LIMIT_SAME)
        else:
            # what the page showed goes with the change: the confirm applies it against these only
            content = {"operation": "limit_change", "new_limit": new_limit, "current": figures["current"],
                       "maximum": figures["maximum"], "chosen": figures["chosen"],
                       "pending": figures["pending"]["amount"] if figures["pending"] else None}
            try:
                stepup_pending_start(request, session_key=PENDING_LIMIT, kind="limit_change", content=content)
            except AuthFactorError as refused:
                form.add_error(None, refused.message)
            else:
                return redirect("transfers:limit_confirm")
    return render(request, "transfers/limit.html", {"form": form, "figures": figures, "today": today})


def _limit_shown(content: dict) -> services.LimitShown | None:
    """The figures the input page showed (None: a change begun before they were kept)."""
    if "maximum" not in content:
        return None
    return services.LimitShown(current=content["current"], pending=content["pending"], maximum=content["maximum"])


@sensitive_post_parameters("otp", "card_1", "card_2")
@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def limit_confirm(request):
    pending = request.session.get(PENDING_LIMIT)
    form, _stepup, finished = stepup_pending_confirm(
        request, session_key=PENDING_LIMIT,
        execute=lambda customer, content: services.transfer_limit_change(
            customer=customer, new_limit=content["new_limit"], shown=_limit_shown(content), ip=client_ip(request)),
        repeat_is_done=("limit_change",),  # 利用限度額 done shows the limits as they are
        session_saved_with=(),  # the pending change leaves the session in its commit (issue 14)
    )
    if form is None:
        return redirect("transfers:limit")
    if finished:
        return redirect("transfers:limit_done")
    if request.method == "POST" and services.LIMIT_CHANGED in form.non_field_errors():
        # what this change was judged against is gone: every retry here was refused the
        # same way; the input page shows the figures as they are now (review)
        request.session.pop(PENDING_LIMIT, None)
        messages.error(request, services.LIMIT_CHANGED)
        return redirect("transfers:limit")
    content = pending["content"]
    raise_later = content["new_limit"] > content["current"]
    today = local_now().date()
    tomorrow = today + dt.timedelta(days=1)
    figures = selectors.transfer_limit_view(customer=request.customer, today=today)
    shown = _limit_shown(content)
    if request.method != "POST" and shown is not None and shown != services.LimitShown(
            current=figures["current"], pending=figures["pending"] and figures["pending"]["amount"],
            maximum=figures["maximum"]):
        form.add_page_error(services.LIMIT_CHANGED)  # said before the answer is typed; the service refuses too
    # a raise waiting for tomorrow is dropped (or replaced) by this change: say so (XFER-8)
    waiting = figures["pending"]
    if waiting is not None and waiting["amount"] == content["new_limit"]:
        waiting = None
    before = services.limit_before_text(current=content["current"], chosen=content.get("chosen", content["current"]))
    return render(request, "transfers/limit_confirm.html",
                  {"form": form, "content": content, "raise_later": raise_later, "tomorrow": tomorrow,
                   "waiting": waiting, "before": before})


@customer_required
def limit_done(request):
    figures = selectors.transfer_limit_view(customer=request.customer, today=local_now().date())
    return render(request, "transfers/limit_done.html", {"figures": figures})

