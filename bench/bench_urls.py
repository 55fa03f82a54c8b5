"""The application's URLs plus ``/bench/minimal-transfer/``: the baseline of
transfer_confirm.py — the writes of a transfer to another bank done with plain Django ORM
in one transaction (lock, check, journal + four entries, transfer, Zengin record, audit
row, outbox row), without session, step-up or any of the service's checks."""

import uuid

from django.db import transaction
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from accounts.models import Account, Entry, Journal
from cosei_ib.urls import urlpatterns as application_urlpatterns
from notifications.models import OutboxMessage
from security.models import AuditEvent
from transfers.models import FeeSchedule, OutgoingTransfer, Transfer

AMOUNT, FEE = 1, 330


@csrf_exempt
def minimal_transfer(request):
    customer_id, account_id = int(request.POST["customer"]), int(request.POST["account"])
    settlement = Account.objects.only("id").get(purpose="zengin_settlement").pk
    fee_income = Account.objects.only("id").get(purpose="fee_income").pk
    with transaction.atomic():
        accounts = {account.pk: account for account in Account.objects.select_for_update()
                    .filter(pk__in=[account_id, settlement, fee_income]).order_by("pk")}
        now = timezone.now()  # after the locks: entry times never go backwards on an account
        debit = accounts[account_id]
        if debit.balance - debit.hold_amount < AMOUNT + FEE:
            return HttpResponse(status=409)
        journal = Journal.objects.create(kind="transfer", description="振込 ﾀﾅｶ ﾊﾅｺ", request_hash="",
                                         idempotency_key=f"bench-minimal:{uuid.uuid4()}", posted_at=now,
                                         created_at=now)
        Entry.objects.bulk_create([
            Entry(journal=journal, account_id=account_id, amount=-AMOUNT, balance_after=debit.balance - AMOUNT,
                  description="振込 ﾀﾅｶ ﾊﾅｺ", posted_at=now),
            Entry(journal=journal, account_id=account_id, amount=-FEE, balance_after=debit.balance - AMOUNT - FEE,
                  description="振込手数料", posted_at=now),
            Entry(journal=journal, account_id=settlement, amount=AMOUNT,
                  balance_after=accounts[settlement].balance + AMOUNT, description="振込", posted_at=now),
            Entry(journal=journal, account_id=fee_income, amount=FEE,
                  balance_after=accounts[fee_income].balance + FEE, description="振込手数料", posted_at=now),
        ])
        transfer = Transfer.objects.create(
            customer_id=customer_id, debit_account_id=account_id, route="other_bank", bank_code="0161",
            bank_name="池田泉州銀行", branch_code="002", branch_name="貝塚", account_type="1",
            account_number="0012345", holder_kana="ﾀﾅｶ ﾊﾅｺ", amount=AMOUNT, fee=FEE,
            fee_schedule=FeeSchedule.objects.order_by("-effective_from").first(), sender_name="ﾍﾞﾝﾁ",
            transfer_date=timezone.localdate(), status="executed", stepup_id=uuid.uuid4(), journal=journal,
            executed_at=now)
        OutgoingTransfer.objects.create(transfer=transfer, bank_code="0161", bank_kana="ｲｹﾀﾞｾﾝｼﾕｳ",
                                        branch_code="002", branch_kana="ｶｲﾂﾞｶ", account_type="1",
                                        account_number="0012345", payee_kana="ﾀﾅｶ ﾊﾅｺ", amount=AMOUNT,
                                        sender_name="ﾍﾞﾝﾁ", settlement_date=timezone.localdate())
        AuditEvent.objects.create(customer_id=customer_id, action="transfer", outcome="success",
                                  summary="振込 1円")
        OutboxMessage.objects.create(customer_id=customer_id, event="transfer", to="", subject="振込",
                                     body="振込", status="skipped")
    return HttpResponse("ok")


urlpatterns = [path("bench/minimal-transfer/", minimal_transfer), *application_urlpatterns]
