"""The Zengin bank and branch directory (XFER-2), loaded from the ``zengin-code`` package
into tables (never read from the package per request), with a kana-initial index."""

from __future__ import annotations

import unicodedata

from django.db import transaction

from accounts.reference_data import BANK_CODE

from .models import Bank, BankBranch

# Shown first on the bank page: our bank, then the major banks (ゆうちょ included).
FEATURED_BANKS = [BANK_CODE, "9900", "0001", "0005", "0009", "0010", "0017", "0036", "0033"]

# 五十音 rows for the kana index: label → the initials of that row.
KANA_ROWS = {
    "ア": "アイウエオ", "カ": "カキクケコ", "サ": "サシスセソ", "タ": "タチツテト",
    "ナ": "ナニヌネノ", "ハ": "ハヒフヘホ", "マ": "マミムメモ", "ヤ": "ヤユヨ",
    "ラ": "ラリルレロ", "ワ": "ワヲン",
}

_TYPE_SUFFIXES = [
    ("信金", Bank.Type.SHINKIN), ("信組", Bank.Type.SHINKUMI), ("労金", Bank.Type.ROKIN),
    ("信連", Bank.Type.NOKYO), ("農協", Bank.Type.NOKYO), ("漁協", Bank.Type.NOKYO),
    ("信漁連", Bank.Type.NOKYO),
]


def kana_initial(kana: str) -> str:
    """First kana without voicing marks, small kana made large: ガ → カ, ぱ → ハ."""
    if not kana:
        return ""
    first = unicodedata.normalize("NFD", kana[0])[0]
    first = {"ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ", "ャ": "ヤ", "ュ": "ユ",
             "ョ": "ヨ", "ッ": "ツ", "ヴ": "ウ"}.get(first, first)
    return first


def bank_type(code: str, name: str) -> str:
    for suffix, kind in _TYPE_SUFFIXES:
        if name.endswith(suffix):
            return kind
    if code < "1000" or code == "9900":
        return Bank.Type.BANK
    return Bank.Type.OTHER


def zengin_load(*, codes: set[str] | None = None) -> tuple[int, int]:
    """Upsert banks and branches from the package (only ``codes`` when given, for tests);
    banks and branches the package no longer lists are removed. Idempotent: safe to run
    whenever the package updates. Returns (banks, branches)."""
    import zengin_code

    source = {code: bank for code, bank in zengin_code.Bank.all.items() if codes is None or code in codes}
    with transaction.atomic():
        existing = {bank.code: bank for bank in Bank.objects.all()}
        featured = {code: index + 1 for index, code in enumerate(FEATURED_BANKS)}
        to_create, to_update = [], []
        for code, data in source.items():
            fields = {"name": data.name, "kana": data.kana, "type": bank_type(code, data.name),
                      "initial": kana_initial(data.kana), "featured_order": featured.get(code, 0)}
            if code in existing:
                bank = existing[code]
                if any(getattr(bank, key) != value for key, value in fields.items()):
                    for key, value in fields.items():
                        setattr(bank, key, value)
                    to_update.append(bank)
            else:
                to_create.append(Bank(code=code, **fields))
        Bank.objects.bulk_create(to_create, batch_size=1000)
        Bank.objects.bulk_update(to_update, ["name", "kana", "type", "initial", "featured_order"])
        if codes is None:
            Bank.objects.exclude(code__in=list(source)).delete()
        bank_ids = dict(Bank.objects.filter(code__in=list(source)).values_list("code", "id"))
        have = {(row[0], row[1]): row[2:] for row in BankBranch.objects.filter(bank_id__in=bank_ids.values())
                .values_list("bank_id", "code", "name", "kana", "id")}
        branch_create, branch_update, keep = [], [], set()
        for code, data in source.items():
            bank_id = bank_ids[code]
            for branch in data.branches.values():
                key = (bank_id, branch.code)
                keep.add(key)
                if key not in have:
                    branch_create.append(BankBranch(bank_id=bank_id, code=branch.code, name=branch.name,
                                                    kana=branch.kana, initial=kana_initial(branch.kana)))
                elif have[key][:2] != (branch.name, branch.kana):
                    branch_update.append(BankBranch(id=have[key][2], name=branch.name, kana=branch.kana,
                                                    initial=kana_initial(branch.kana)))
        BankBranch.objects.bulk_create(branch_create, batch_size=2000)
        BankBranch.objects.bulk_update(branch_update, ["name", "kana", "initial"], batch_size=2000)
        gone = [have[key][2] for key in have if key not in keep]
        if gone:
            BankBranch.objects.filter(id__in=gone).delete()
    return len(source), len(keep)
