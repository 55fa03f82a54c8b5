"""税金・各種料金の払込み（ペイジー）pages (PAY-1, PAY-3, PAY-4).

お支払口座・収納機関番号 → the biller's numbers → the bill (amount for an open bill) →
確認 + step-up → 受付完了. What the customer typed is kept in the session (the wizard), so
the back button and 「戻る」 show it again. Every page keeps Pay-easy hours
(``customer_required(service="payeasy")``).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_safe, require_http_methods

from accounts.selectors import account_list_for_customer, debit_accounts_for_customer
from cosei_ib import bankcalendar
from security import session as customer_session
from security.audit import client_ip
from security.decorators import customer_required
from security.errors import AuthFactorError
from security.stepup_flow import NOTHING_PENDING, stepup_pending, stepup_pending_confirm, stepup_pending_start
from security.forms import StepUpForm

from . import selectors, services
from .forms import DUPLICATE_ACK, AmountForm, LinkAccountForm, NumbersForm, StartForm
from .gateway import BillInfo
from .models import Bill, Biller

WIZARD = "cosei_payeasy"
PENDING = "cosei_pending_payeasy"
DONE = "cosei_payeasy_done"
LINK = "cosei_payeasy_link"
PENDING_REPLACED = ("別の画面で新しい払込みのお手続きが始まったため、この画面の払込みは実行しませんでした。"
                    "内容をご確認のうえ、もう一度お手続きください。")

payeasy_page = customer_required(service="payeasy")


def _wizard(request) -> dict:
    return request.session.get(WIZARD) or {}


def _save(request, wizard: dict) -> None:
    request.session[WIZARD] = wizard


def _payable_accounts(request):
    """お支払口座 offered and accepted: the customer's open accounts only — a closed or
    frozen one named in a POST is the field's 「お支払口座の指定が正しくありません」.
    The frozen ones (``stopped``) are named on the page as not usable now (walk25 F16)."""
    return debit_accounts_for_customer(customer=request.customer)


def _blocked(request):
    until = services.payeasy_blocked_until(customer=request.customer)
    if until is None:
        return None
    return render(request, "payeasy/blocked.html", {"message": services.blocked_message(until)}, status=403)


@payeasy_page
@require_http_methods(["GET", "HEAD", "POST"])
def start_view(request):
    """お支払口座 and 収納機関番号."""
    blocked = _blocked(request)
    if blocked:
        return blocked
    wizard = _wizard(request)
    accounts = _payable_accounts(request)
    initial = {"account": wizard.get("account"), "biller": wizard.get("biller", "")}
    form = StartForm(request.POST or None, accounts=accounts.payable, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            biller = services.biller_for_entry(form.cleaned_data["biller"])
        except services.PayeasyRefused as refused:
            form.add_error("biller", refused.message)
        else:
            if wizard.get("biller") != biller.number or wizard.get("via_link"):
                wizard = {}  # another biller: its numbers do not carry over
            wizard.update(account=form.cleaned_data["account"], biller=biller.number)
            _save(request, wizard)
            return redirect("payeasy:numbers")
    return render(request, "payeasy/start.html", {"form": form, "step": 1, "stopped_accounts": accounts.stopped,
                                                  "payeasy_hours": bankcalendar.hours_text("payeasy")})


def _wizard_biller(request) -> Biller | None:
    number = _wizard(request).get("biller")
    return Biller.objects.filter(number=number, is_active=True).first() if number else None


@payeasy_page
@require_http_methods(["GET", "HEAD", "POST"])
def numbers_view(request):
    """お客様番号, or 納付番号 + 確認番号 (+ 納付区分): the bill is looked up under the
    daily wrong-entry limit (PAY-3)."""
    blocked = _blocked(request)
    if blocked:
        return blocked
    biller = _wizard_biller(request)
    if biller is None:
        return redirect("payeasy:start")
    wizard = _wizard(request)
    form = NumbersForm(request.POST or None, biller=biller, initial=wizard.get("entry") or {})
    if request.method == "POST" and form.is_valid():
        entry = {"number": form.cleaned_data["number"],
                 "confirmation": form.cleaned_data.get("confirmation", ""),
                 "category": form.cleaned_data.get("category", "")}
        try:
            bill = services.bill_lookup_for_customer(customer=request.customer, biller=biller,
                                                     ip=client_ip(request), **entry)
        except services.PayeasyRefused as refused:
            if refused.blocked:
                return render(request, "payeasy/blocked.html", {"message": refused.message}, status=403)
            form.add_error(None, refused.message)
        else:
            wizard.update(entry=entry, bill=bill.as_session(), via_link=False)
            wizard.pop("amount", None)
            _save(request, wizard)
            return redirect("payeasy:bill")
    return render(request, "payeasy/numbers.html", {"form": form, "biller": biller, "step": 2})


def _content(request, *, wizard: dict, biller: Biller, bill: BillInfo, amount: int) -> dict:
    """Exactly what will execute, held by the step-up (SEC-7)."""
    earlier = services.duplicate_earlier(customer=request.customer, biller=biller, number=bill.number)
    entry = wizard.get("entry") or {}
    return {
        "operation": "payeasy", "account": wizard["account"], "biller": biller.number,
        "number": bill.number, "category": bill.category,
        "confirmation": None if wizard.get("via_link") else entry.get("confirmation", ""),
        "bill_id": bill.bill_id, "amount": amount, "via_link": bool(wizard.get("via_link")),
        "duplicate": services.duplicate_summary(earlier),
        # the bill the page shows: the payment is refused as changed when the biller's differs
        "shown": services.bill_shown(bill),
    }


def _start_confirm(request, wizard: dict, biller: Biller, bill: BillInfo, amount: int):
    wizard["amount"] = amount
    _save(request, wizard)
    try:
        stepup_pending_start(request, session_key=PENDING, kind="payeasy",
                             content=_content(request, wizard=wizard, biller=biller, bill=bill, amount=amount))
    except AuthFactorError as refused:
        messages.error(request, refused.message)
        return None
    return redirect("payeasy:confirm")


@payeasy_page
@require_http_methods(["GET", "HEAD", "POST"])
def bill_view(request):
    """The bill as the biller states it; the amount for an open-amount bill."""
    biller = _wizard_biller(request)
    wizard = _wizard(request)
    if biller is None or "bill" not in wizard or "account" not in wizard:
        return redirect("payeasy:start")
    if wizard.get("via_link"):
        return redirect("payeasy:link_resume")
    bill = BillInfo.from_session(wizard["bill"])
    form = None
    if bill.is_open_amount:
        initial = {"amount": wizard.get("amount", "")}
        form = AmountForm(request.POST or None, bill=bill, initial=initial)
    if request.method == "POST" and (form is None or form.is_valid()):
        amount = bill.amount if form is None else form.cleaned_data["amount"]
        response = _start_confirm(request, wizard, biller, bill, amount)
        if response is not None:
            return response
    account = account_list_for_customer(customer=request.customer).filter(pk=wizard["account"]).first()
    return render(request, "payeasy/bill.html", {"biller": biller, "bill": bill, "form": form,
                                                 "account": account, "step": 3})


def _receipt(request, payment):
    """The receipt of ``payment`` (see ``_receipt_kept``)."""
    _receipt_kept(request, payment)
    return redirect("payeasy:done")


def _receipt_kept(request, payment) -> None:
    """The session after ``payment``: the wizard gone, the receipt's 受付番号 kept for 受付完了.
    The 情報リンク in the session is used up, and its return address offered, only when this
    payment paid that link's bill: a link left unpaid (the customer typed another bill's
    numbers instead) keeps waiting and lends its biller's 「戻る」 to no other receipt (PAY-4)."""
    request.session.pop(WIZARD, None)
    link = request.session.get(LINK) or {}
    paid_link = (payment.via_link and link.get("biller_number") == payment.biller.number
                 and link.get("number") == payment.number)
    if paid_link:
        request.session.pop(LINK, None)
    request.session[DONE] = {"reference": payment.reference,
                             "return_url": link.get("return_url", "") if paid_link else ""}


def _already_paid(request, stepup_id: str):
    payment = selectors.payment_of_used_stepup(request.customer, stepup_id)
    if payment is None:
        return None
    if str((request.session.get(PENDING) or {}).get("stepup")) == stepup_id:
        request.session.pop(PENDING, None)
    return _receipt(request, payment)


@sensitive_post_parameters("otp", "card_1", "card_2")
@payeasy_page
@require_http_methods(["GET", "HEAD", "POST"])
def confirm_view(request):
    """確認 + step-up. A payment cannot be cancelled (the page says so); a payment to the
    same number within three months must be acknowledged first (PAY-3). A second submit of
    a confirmation that already paid (double click, back button, another tab) shows that
    payment's receipt.

    The step-up is read from the database only where this view needs the row: a right
    answer is checked against the rows the confirmation locks (``stepup_pending_confirm``),
    so the POST that pays reads it once (issue 14)."""
    pending = request.session.get(PENDING)
    posted = request.POST.get("pending", "") if request.method == "POST" else ""
    if posted and (pending is None or posted != pending["stepup"]):
        already = _already_paid(request, posted)
        if already is not None:
            return already
    if pending is None:
        if request.method == "POST":  # done or given up in another tab, or expired
            messages.info(request, NOTHING_PENDING)
        return redirect("payeasy:start")
    content = pending["content"]
    duplicate = content.get("duplicate")
    acknowledged = request.POST.get("acknowledge") == "1"
    paid = []
    changed: list[services.BillChanged] = []

    def execute(customer, content):
        # a refusal comes named for 取引履歴 (拒否 with the biller and the amount) by the service
        try:
            paid.append(services.payeasy_pay(
                customer=customer, account_id=content["account"], biller_number=content["biller"],
                number=content["number"], confirmation=content["confirmation"], category=content["category"],
                bill_id=content["bill_id"], amount=content["amount"], via_link=content["via_link"],
                duplicate_acknowledged=acknowledged, ip=client_ip(request), shown=content.get("shown")))
        except services.BillChanged as refused:
            changed.append(refused)  # final: the flow drops the pending payment and says why
            raise
        # the receipt's session, saved with the payment (session_saved_with, issue 14): the
        # pending payment, the wizard and a paid 情報リンク leave it in the commit that paid
        _receipt_kept(request, paid[0])

    if request.method == "POST" and posted != pending["stepup"]:
        # another tab started another payment since this page was shown: what this page
        # showed is no longer what would execute, so nothing is checked or done
        _stepup = stepup_pending(request, PENDING)[0]
        form = StepUpForm.for_stepup(_stepup)
        ack_error, page_error, done = "", PENDING_REPLACED, False
    elif request.method == "POST" and duplicate and not acknowledged:
        # not acknowledged: the answer is not even checked (nothing is counted or used)
        _stepup = stepup_pending(request, PENDING)[0]
        form = StepUpForm.for_stepup(_stepup)
        ack_error, page_error, done = DUPLICATE_ACK, "", False
    else:
        ack_error = page_error = ""
        form, _stepup, done = stepup_pending_confirm(request, session_key=PENDING, execute=execute,
                                                     session_saved_with=())
    if form is None:
        return _bill_changed(request, content, changed[0]) if changed else redirect("payeasy:start")
    if done:
        return redirect("payeasy:done")  # the session is the receipt's (_receipt_kept)
    if request.method == "POST":  # refused as already used: the request that won paid it
        already = _already_paid(request, str(_stepup.pk))
        if already is not None:
            return already
    biller = Biller.objects.filter(number=content["biller"]).first()
    account = account_list_for_customer(customer=request.customer).filter(pk=content["account"]).first()
    bill = content.get("shown") or _wizard(request).get("bill")  # what will be paid, not another tab's
    back = reverse("payeasy:link_resume" if content["via_link"] else "payeasy:bill")
    return render(request, "payeasy/confirm.html", {
        "form": form, "content": content, "biller": biller, "account": account, "duplicate": duplicate,
        "bill": BillInfo.from_session(bill) if bill else None, "ack_error": ack_error,
        "acknowledged": acknowledged, "back": back, "step": 4, "pending": _stepup.pk,
        "page_error": page_error,
    })


def _bill_changed(request, content: dict, changed: services.BillChanged):
    """The bill or the biller changed after the confirm page was shown (probe34 F1): the
    step-up flow has dropped the pending payment and put ``changed.message`` in the
    messages. The customer goes back to the step the change concerns — the bill as it is
    now (the wizard's copy replaced, so 「戻る」 and 確認画面へ never show the old one
    again), the numbers, or the biller — as 利用限度額 returns to its input page with
    LIMIT_CHANGED. A 情報リンク goes back to its own page, which asks the biller again, or
    is given up when it can no longer pay. The wizard is the confirmation's (another tab
    may have moved it to another bill meanwhile)."""
    if content["via_link"]:
        request.session.pop(WIZARD, None)
        if changed.step == "bill":
            return redirect("payeasy:link_resume")
        request.session.pop(LINK, None)
        return redirect("payeasy:start")
    wizard = {"account": content["account"], "biller": content["biller"], "via_link": False,
              "entry": {"number": content["number"], "confirmation": content["confirmation"] or "",
                        "category": content["category"]}}
    if changed.step == "bill":
        wizard["bill"] = changed.bill.as_session()
    _save(request, wizard)
    return redirect({"bill": "payeasy:bill", "numbers": "payeasy:numbers"}.get(changed.step, "payeasy:start"))


@payeasy_page
@require_safe
def done_view(request):
    """受付完了 with the 受付番号 (print button on a PC only, UI-1)."""
    done = request.session.get(DONE)
    if not done:
        return redirect("payeasy:start")
    payment = selectors.payment_get_for_customer(request.customer, done["reference"])
    return render(request, "payeasy/done.html", {"payment": payment, "return_url": done.get("return_url"),
                                                 "step": 5})


# --- 情報リンク方式 (PAY-4) -----------------------------------------------------------------

@require_safe
def link_view(request):
    """A biller's site sends the customer here with signed payment data. Verified and
    used up at once (a replay fails); kept in the session across the login."""
    if not bankcalendar.is_service_open("payeasy"):
        return render(request, "service_closed.html", {"hours": bankcalendar.hours_text("payeasy")}, status=503)
    try:
        link = services.link_accept(query=request.GET, customer=request.customer, ip=client_ip(request))
    except services.PayeasyRefused as refused:
        return render(request, "payeasy/link_refused.html", {"message": refused.message}, status=400)
    request.session[LINK] = link.as_session()
    if request.customer is None:
        request.session[customer_session.AFTER_LOGIN] = reverse("payeasy:link_resume")
        messages.info(request, "収納機関からのお支払いを続けるには、ログインしてください。")
        return redirect("security:login")
    return redirect("payeasy:link_resume")


@payeasy_page
@require_http_methods(["GET", "HEAD", "POST"])
def link_resume_view(request):
    """The bill a verified 情報リンク names, pre-filled: the customer only picks the
    account, then confirms with the step-up."""
    data = request.session.get(LINK)
    if not data:
        return redirect("payeasy:start")
    link = services.LinkPayment(**data)
    try:
        biller, bill = services.link_bill_lookup(customer=request.customer, link=link, ip=client_ip(request))
    except services.PayeasyRefused as refused:
        request.session.pop(LINK, None)
        return render(request, "payeasy/link_refused.html", {"message": refused.message}, status=400)
    accounts = _payable_accounts(request)
    wizard = _wizard(request)
    initial = {"account": wizard.get("account")} if wizard.get("via_link") else {}
    form = LinkAccountForm(request.POST or None, accounts=accounts.payable, initial=initial)
    if request.method == "POST" and form.is_valid():
        wizard = {"account": form.cleaned_data["account"], "biller": biller.number, "via_link": True,
                  "entry": {"number": bill.number, "category": bill.category, "confirmation": ""},
                  "bill": bill.as_session()}
        response = _start_confirm(request, wizard, biller, bill, link.amount)
        if response is not None:
            return response
    return render(request, "payeasy/link_resume.html", {"form": form, "biller": biller, "bill": bill,
                                                        "amount": link.amount, "step": 3,
                                                        "stopped_accounts": accounts.stopped})


# --- the biller simulator's own page (PAY-2, PAY-4 demo) ------------------------------------

@require_safe
def simulator_biller_view(request, number: str):
    """A demo page of the biller simulator, standing in for a biller's web site: its
    unpaid bills, each with a signed 情報リンク to this bank. Not part of the bank's pages
    (no login); off unless ``PAYEASY_SIMULATOR_PAGES``."""
    if not settings.PAYEASY_SIMULATOR_PAGES:
        raise Http404("simulator pages are off")
    # only digits reach the query: a NUL in the path was a database error (a 500)
    biller = (Biller.objects.filter(number=number, is_active=True).exclude(link_secret="").first()
              if number.isascii() and number.isdigit() and len(number) <= 5 else None)
    if biller is None:
        raise Http404("no such biller")
    today = bankcalendar.local_now().date()
    return_url = request.build_absolute_uri(request.path)
    expires_at = timezone.now() + dt.timedelta(minutes=15)
    rows = []
    for bill in Bill.objects.filter(biller=biller, status=Bill.Status.OPEN, due_date__gte=today,
                                    amount__isnull=False).order_by("due_date", "id"):
        fields = services.link_build(biller=biller, number=bill.number, category=bill.category,
                                     amount=bill.amount, return_url=return_url, expires_at=expires_at)
        rows.append({"bill": bill, "url": reverse("payeasy:link") + "?" + _query(fields)})
    return render(request, "payeasy/simulator_biller.html", {"biller": biller, "rows": rows})


def _query(fields: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(fields)
