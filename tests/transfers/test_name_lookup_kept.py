"""XFER-3, XFER-11, LEDGER-7 (outside review dbprobe31 F9; transfers 0040, CI248), as the app's
own role: the 口座名義確認 count (look-ups of new accounts in the hour) is not reset — its rows
are never updated, and deleted only with their customer. The service's own path, a look-up
found or not, still commits."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings

from tests.transfers.support import payer
from tests.transfers.test_interbank_guards import refused_at_commit
from transfers import services
from transfers.directory import PayeeAccountError
from transfers.models import NameLookup

pytestmark = pytest.mark.django_db(transaction=True)  # each look-up commits, as the page's does
KEPT = "CI248"


def _sql(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


@override_settings(TRANSFERS_LOOKUPS_PER_HOUR=2)
def test_the_hours_look_ups_are_not_reset_by_the_app_role():
    customer, _debit = payer()
    lookup = dict(customer=customer, bank_code="0161", branch_code="002", account_type="1")
    assert services.name_lookup(account_number="0012345", **lookup).holder_kana  # found: committed
    with pytest.raises(PayeeAccountError):
        services.name_lookup(account_number="7654321", **lookup)  # not found: counted too
    assert NameLookup.objects.filter(customer=customer).count() == 2
    with pytest.raises(services.TransferRefused):
        services.name_lookup(account_number="0012345", **lookup)  # the limit
    # the review's reset, and the same by moving the rows out of the hour
    assert refused_at_commit(lambda: _sql("DELETE FROM transfers_namelookup")) == KEPT
    assert refused_at_commit(lambda: _sql(
        "UPDATE transfers_namelookup SET created_at = created_at - interval '2 hours'")) == KEPT
    assert refused_at_commit(lambda: _sql("UPDATE transfers_namelookup SET customer_id = customer_id")) == KEPT
    assert NameLookup.objects.filter(customer=customer).count() == 2
    with pytest.raises(services.TransferRefused):
        services.name_lookup(account_number="0012345", **lookup)
