"""A demo 被仕向 file (XFER-12) for the accounts of ``accounts.demo``: two credits and one
入金不能 (名義相違), from 池田泉州銀行 on behalf of ｶ)ｺｳｾｲｼﾖｳｼﾞ. Written by
``manage.py interbank_demo_incoming``; docs/interbank.md says how to try it."""

from __future__ import annotations

import datetime as dt

from .zengin_file import DataRecord, Header, file_build

# (branch, 科目, number, 受取人名, amount)
DEMO_INCOMING = [
    ("001", "1", "1234567", "ﾔﾏﾀﾞ ﾀﾛｳ", 50_000),   # 山田 太郎: credited
    ("002", "1", "3456789", "ｻﾄｳ ﾊﾅｺ", 80_000),    # 佐藤 花子: credited
    ("003", "1", "6789012", "ﾀﾅｶ ｼﾞﾛｳ", 12_000),   # 鈴木 一郎's account, another name: 入金不能（名義相違）
]


def demo_incoming_file(day: dt.date, *, serial: int = 1) -> bytes:
    header = Header(requester_code=str(serial), requester_name="ｶ)ｺｳｾｲｼﾖｳｼﾞ", transfer_day=day, bank_code="0161",
                    bank_kana="ｲｹﾀﾞｾﾝｼﾕｳ", branch_code="002", branch_kana="ｶｲﾂﾞｶ", account_type="1",
                    account_number="0012345")
    return file_build(header, [DataRecord(bank_code="1633", bank_kana="ｵｵｻｶｺｳｾｲ", branch_code=branch,
                                          branch_kana="", account_type=kind, account_number=number,
                                          payee_kana=name, amount=amount)
                               for branch, kind, number, name, amount in DEMO_INCOMING])
