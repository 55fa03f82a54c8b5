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
    # Pay-easy collections are held here until settled with each biller (LEDGER-4). One
    # only (accounts 0024): payeasy_pay() reads it with .get(); an account per biller
    # would need that and the index account_single_internal changed first.
    ("payeasy_collection", "9000004", "ペイジー収納", "ｵｵｻｶｺｳｾｲｼﾝｷﾝ ﾍﾟｲｼﾞｰ"),
]

# The hot internal accounts, split into this many stripes (Account.stripe_of, issue 14):
# one side of nearly every transfer (its fee) and every Pay-easy payment. Stripe i of
# account 900000d is numbered 9d0000i. More stripes than concurrent posting connections
# keeps two connections off the same row lock.
STRIPES = {"fee_income": 16, "payeasy_collection": 16}


def stripe_rows() -> list[tuple[str, str, str, str]]:
    """(parent number, stripe number, name, holder_kana) of every stripe."""
    return [
        (number, f"9{number[-1]}{index:05d}", f"{name}（分割{index}）", holder)
        for purpose, number, name, holder in INTERNAL_ACCOUNTS
        for index in range(1, STRIPES.get(purpose, 0) + 1)
    ]


def ensure_reference_data(Branch, Account, using: str = "default") -> None:  # noqa: N803 - model classes
    """On the database ``using`` (a migration passes its own connection: the owner's)."""
    import zengin_code

    branches, accounts = Branch.objects.db_manager(using), Account.objects.db_manager(using)

    # the historical models of migrations before 0012 have no stripes yet
    stripes = stripe_rows() if any(f.name == "stripe_of" for f in Account._meta.get_fields()) else []
    numbers = [row[1] for row in INTERNAL_ACCOUNTS] + [row[1] for row in stripes]
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
    for parent_number, number, name, holder in stripes:
        stripe, _ = accounts.get_or_create(
            branch=head_office,
            number=number,
            defaults={"purpose": "stripe", "name": name, "holder_kana": holder, "type": "1",
                      "stripe_of": accounts.get(branch=head_office, number=parent_number)},
        )
        if stripe.purpose != "stripe":  # a number taken by another account: stop, loudly
            raise RuntimeError(f"account {head_office.code}-{number} exists and is not a stripe")
