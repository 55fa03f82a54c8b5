"""The application's URLs plus ``/bench/minimal-transfer/``: the baseline of
transfer_confirm.py — the writes of a transfer to another bank done with plain Django ORM
in one transaction (the posting, transfer, Zengin record, audit row, outbox row), without
session, step-up check or any of the service's checks (a step-up is written and used with
it: the database asks for one, transfers 0012).

Since LEDGER-7 the app's role cannot INSERT journals or entries: the posting is one call
of the database function ``ledger_post()`` (lock in id order, funds check, journal + four
entries, balances), the least any transfer can do — without ``journal_post``'s Python
validation and savepoint."""

from django.db import connection, transaction
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from accounts.models import Account, Customer
from cosei_ib import bankcalendar
from cosei_ib.urls import urlpatterns as application_urlpatterns
from notifications.models import OutboxMessage
from security.models import AuditEvent
from security.stepup import stepup_seed_used
from transfers.models import FeeSchedule, OutgoingTransfer, Transfer, TransferLimit

AMOUNT, FEE = 1, 330


@csrf_exempt
def minimal_transfer(request):
    customer_id, account_id = int(request.POST["customer"]), int(request.POST["account"])
    settlement = Account.objects.only("id").get(purpose="zengin_settlement").pk
    fee_income = Account.objects.only("id").get(purpose="fee_income").pk
    fee_schedule = FeeSchedule.objects.filter(effective_from__lte=timezone.localdate()).order_by("-effective_from").first()
    with transaction.atomic():
        # the customer's lock first, as the services take it (transfers 0026 checks the
        # day's limit under it and refuses a transfer without it)
        # the bank's default limit: a new row may hold no more for the app's role (transfers
        # 0037, CI235), and 1円 transfers stay far below it
        TransferLimit.objects.bulk_create([TransferLimit(customer_id=customer_id, daily_limit=1_000_000)],
                                          ignore_conflicts=True)
        list(TransferLimit.objects.select_for_update().filter(customer_id=customer_id).values_list("pk", flat=True))
        # the customer's confirmation, used with the transfer (transfers 0012)
        stepup_id = stepup_seed_used(customer=Customer(pk=customer_id), kind="transfer", content={
            "debit_account_id": account_id, "route": "other_bank", "bank_code": "0161", "branch_code": "002",
            "account_type": "1", "account_number": "0012345", "holder_kana": "ﾀﾅｶ ﾊﾅｺ", "amount": AMOUNT,
            "fee": FEE, "fee_borne_by_payee": False, "fee_schedule_id": fee_schedule.pk, "sender_name": "ﾍﾞﾝﾁ",
            "transfer_date": timezone.localdate().isoformat()}).pk
        with connection.cursor() as cursor:  # InsufficientFunds etc. would be a 500: the bench seeds enough
            cursor.execute(
                "SELECT journal_id, posted_at FROM ledger_post(%s, %s, %s, %s, %s, %s, %s)",
                ["transfer", "振込 ﾀﾅｶ ﾊﾅｺ", f"transfer:{stepup_id}",  # the key transfers 0009 holds it to
                 [account_id, account_id, settlement, fee_income], [-AMOUNT, -FEE, AMOUNT, FEE],
                 ["振込 ﾀﾅｶ ﾊﾅｺ", "振込手数料", "振込", "振込手数料"], None])
            journal_id, now = cursor.fetchone()
        transfer = Transfer.objects.create(
            customer_id=customer_id, debit_account_id=account_id, route="other_bank", bank_code="0161",
            bank_name="池田泉州銀行", branch_code="002", branch_name="貝塚", account_type="1",
            account_number="0012345", holder_kana="ﾀﾅｶ ﾊﾅｺ", amount=AMOUNT, fee=FEE,
            fee_schedule=fee_schedule, sender_name="ﾍﾞﾝﾁ",
            transfer_date=timezone.localdate(), status="executed", stepup_id=stepup_id, journal_id=journal_id,
            executed_at=now)
        OutgoingTransfer.objects.create(transfer=transfer, bank_code="0161", bank_kana="ｲｹﾀﾞｾﾝｼﾕｳ",
                                        branch_code="002", branch_kana="ｶｲﾂﾞｶ", account_type="1",
                                        account_number="0012345", payee_kana="ﾀﾅｶ ﾊﾅｺ", amount=AMOUNT,
                                        sender_name="ﾍﾞﾝﾁ",
                                        # its settlement day, as the service takes it (transfers 0026)
                                        settlement_date=bankcalendar.settlement_day(timezone.localdate()))
        AuditEvent.objects.create(customer_id=customer_id, action="transfer", outcome="success",
                                  summary="振込 1円")
        OutboxMessage.objects.create(customer_id=customer_id, event="transfer", to="", subject="振込",
                                     body="振込", status="skipped")
    return HttpResponse("ok")


urlpatterns = [path("bench/minimal-transfer/", minimal_transfer), *application_urlpatterns]
