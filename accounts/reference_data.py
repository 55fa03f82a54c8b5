"""Reference data every database needs: our bank's branches from the Zengin code data
(XFER-2) and the internal accounts at the head office (LEDGER-4).

Used by migration 0003 (with historical models) and by the tests after a flush."""

from __future__ import annotations

BANK_CODE = "1633"

INTERNAL_ACCOUNTS = [
    # (purpose, number, name, holder_kana)
    ("fee_income", "9000001", "手数料収入", "ｵｵｻｶｺｳｾｲｼﾝｷﾝ ﾃｽｳﾘﾖｳ"),
    ("zengin_settlement", "9000002", "為替決済（全銀）", "ｵｵｻｶｺｳｾｲｼﾝｷﾝ ｶﾜｾｹｯｻｲ"),
    ("cash", "9000003", "現金（窓口）", "ｵｵｻｶｺｳｾｲｼﾝｷﾝ ｹﾞﾝｷﾝ"),
    # Pay-easy collections are held here until settled with each biller (LEDGER-4); the
    # Pay-easy app may add one account per biller beside it.
    ("payeasy_collection", "9000004", "ペイジー収納", "ｵｵｻｶｺｳｾｲｼﾝｷﾝ ﾍﾟｲｼﾞｰ"),
]


def ensure_reference_data(Branch, Account, using: str = "default") -> None:  # noqa: N803 - model classes
    """On the database ``using`` (a migration passes its own connection: the owner's)."""
    import zengin_code

    branches, accounts = Branch.objects.db_manager(using), Account.objects.db_manager(using)

    numbers = [row[1] for row in INTERNAL_ACCOUNTS]
    if branches.exists() and accounts.filter(number__in=numbers).count() == len(numbers):
        return
    bank = zengin_code.Bank.all[BANK_CODE]
    for branch in bank.branches.values():
        branches.update_or_create(
            code=branch.code, defaults={"name": branch.name, "name_kana": branch.kana}
        )
    head_office = branches.order_by("code").first()
    for purpose, number, name, holder in INTERNAL_ACCOUNTS:
        accounts.get_or_create(
            branch=head_office,
            number=number,
            defaults={"purpose": purpose, "name": name, "holder_kana": holder, "type": "1"},
        )
