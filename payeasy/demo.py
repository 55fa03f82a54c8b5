"""Demo billers and bills of the biller simulator (PAY-2), for ``seed_demo``.

Idempotent: a biller or bill that exists (by its numbers) is left as it is, so re-running
changes nothing and a bill paid in the demo stays paid. Due dates are set relative to the
day of the first run. The numbers to type are listed in docs/payeasy.md.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from security.audit import audit_record

from .models import Bill, Biller

# who the demo billers' audit rows name (payeasy 0012, CI247: a biller is added with its row)
SEED_ACTOR = "seed_demo"

# (number, name, kind, uses_confirmation, uses_category, amount_type, demo link secret)
BILLERS = [
    ("00100", "国税（大阪北税務署）", Biller.Kind.NATIONAL, True, True, Biller.AmountType.OPEN,
     "demo-link-secret-00100-kokuzei"),
    ("27100", "大阪市（市民税・府民税）", Biller.Kind.LOCAL, True, False, Biller.AmountType.FIXED,
     "demo-link-secret-27100-osaka"),
    ("58001", "厚生電力株式会社", Biller.Kind.PRIVATE, False, False, Biller.AmountType.FIXED, ""),
    ("58002", "コウセイモバイル株式会社", Biller.Kind.PRIVATE, False, False, Biller.AmountType.FIXED,
     "demo-link-secret-58002-mobile"),
]

# (biller, number, confirmation, category, description, payer, amount, (min, max), due in days, status)
BILLS = [
    ("00100", "1234567890123456", "123456", "101", "申告所得税及復興特別所得税（令和7年分 確定申告）",
     "山田 太郎", 48_000, None, 30, Bill.Status.OPEN),
    ("00100", "1234567890123457", "234567", "102", "消費税及地方消費税（中間申告）", "山田 太郎",
     None, (1, 1_000_000), 30, Bill.Status.OPEN),
    ("00100", "1234567890123458", "345678", "101", "申告所得税（令和6年分 延滞分）", "山田 太郎",
     12_000, None, -10, Bill.Status.OPEN),
    ("27100", "27100000000001", "111111", "", "令和8年度 市民税・府民税（普通徴収）第3期", "山田 太郎",
     23_500, None, 20, Bill.Status.OPEN),
    ("27100", "27100000000002", "222222", "", "令和8年度 市民税・府民税（普通徴収）第2期", "山田 太郎",
     23_500, None, 5, Bill.Status.PAID_ELSEWHERE),
    ("58001", "0012345678", "", "", "電気料金（11月ご使用分）", "ヤマダ タロウ", 8_432, None, 14, Bill.Status.OPEN),
    ("58001", "0012345678", "", "", "電気料金（12月ご使用分）", "ヤマダ タロウ", 9_120, None, 44, Bill.Status.OPEN),
    ("58001", "0012345679", "", "", "電気料金（9月ご使用分）", "サトウ ハナコ", 7_010, None, -5, Bill.Status.OPEN),
    ("58002", "09012345678", "", "", "携帯電話ご利用料金（11月分）", "ヤマダ タロウ", 6_980, None, 10,
     Bill.Status.OPEN),
]


def payeasy_demo_seed(*, today: dt.date | None = None) -> int:
    """Create the demo billers and bills that do not exist yet; returns bills created."""
    today = today or timezone.localdate()
    created = 0
    with transaction.atomic():
        billers = {}
        for number, name, kind, confirmation, category, amount_type, secret in BILLERS:
            billers[number], made = Biller.objects.get_or_create(number=number, defaults={
                "name": name, "kind": kind, "uses_confirmation": confirmation, "uses_category": category,
                "amount_type": amount_type, "link_secret": secret})
            if made:  # as the admin's row of an addition (payeasy.admin), the key left out
                audit_record(action="staff_biller_change", outcome="success", actor=SEED_ACTOR,
                             summary=f"追加 {Biller._meta.verbose_name} {billers[number]} デモデータ")
        for biller, number, confirmation, category, description, payer, amount, bounds, due, status in BILLS:
            _, made = Bill.objects.get_or_create(
                biller=billers[biller], number=number, confirmation=confirmation, category=category,
                description=description,
                defaults={"payer_name": payer, "amount": amount,
                          "min_amount": bounds[0] if bounds else None, "max_amount": bounds[1] if bounds else None,
                          "due_date": today + dt.timedelta(days=due), "status": status})
            created += made
    return created
