"""SEC-13: the audit log cannot be forged and refuses nothing a visitor types; the client
address behind the reverse proxy."""

from __future__ import annotations

import logging

import pytest
from django.test import Client, RequestFactory

from security.audit import audit_record, client_ip
from security.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def audit_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "security.audit"]


def test_control_characters_are_escaped_in_the_log_and_the_row(caplog):
    caplog.set_level(logging.INFO, logger="security.audit")
    event = audit_record(action="login", outcome=AuditEvent.Outcome.FAILURE,
                         contract_id="1\nFORGED audit action=login outcome=success",
                         summary="a\x00b\r\nc\x1b[31m\u2028d", actor="staff\n01")
    lines = audit_lines(caplog)
    assert len(lines) == 1 and "\n" not in lines[0] and "\r" not in lines[0]
    assert "contract=1\\nFORGED" in lines[0] and "actor=staff\\n01" in lines[0]
    assert not any(line.startswith("FORGED") for line in caplog.text.splitlines())
    event.refresh_from_db()
    assert event.summary == "a\\x00b\\r\\nc\\x1b[31m\\u2028d"
    assert event.contract_id.startswith("1\\nFORGED") and len(event.contract_id) <= 32
    assert event.actor == "staff\\n01"


def test_long_texts_are_truncated_to_the_columns():
    event = audit_record(action="login", outcome=AuditEvent.Outcome.FAILURE,
                         contract_id="9" * 100, summary="\n" * 300)
    event.refresh_from_db()
    assert len(event.contract_id) <= 32 and len(event.summary) <= 128


def test_unknown_contract_id_is_kept_only_as_digits(client, caplog):
    """What was typed into the ID field may be a password: only a digits-only input (no
    password is: SEC-2 needs a letter) is stored, truncated; anything else is dropped."""
    caplog.set_level(logging.INFO)
    client.post("/login/", {"contract_id": "1\nFORGED x", "password": "whatever1"})
    client.post("/login/", {"contract_id": "Secret42abc", "password": "whatever1"})
    client.post("/login/", {"contract_id": "123-4567 890", "password": "whatever1"})
    client.post("/login/", {"contract_id": "1" * 20, "password": "whatever1"})
    client.post("/login/", {"contract_id": "5999 999 999", "password": "whatever1"})  # well-formed, unknown
    # probe35 F7: the malformed ones are refused for their form (拒否 契約者ID形式誤り), not looked
    # up; an ID typed in groups is well-formed
    rows = list(AuditEvent.objects.filter(action="login", summary__in=["契約者ID不明", "契約者ID形式誤り"])
                .order_by("id").values_list("summary", "contract_id"))
    assert rows == [("契約者ID形式誤り", ""), ("契約者ID形式誤り", ""), ("契約者ID不明", "1234567890"),
                    ("契約者ID形式誤り", "1" * 16), ("契約者ID不明", "5999999999")]
    assert "FORGED" not in caplog.text and "Secret42" not in caplog.text and "42" not in "".join(cid for _, cid in rows)


@pytest.mark.parametrize("typed,kept", [
    ("１２３４５", "12345"), ("123‐45", "12345"), ("１２３ー４５", "12345"), ("123 45", "12345"),
    (" 12345 ", "12345"), ("Secret42", ""), ("12-ab", ""), ("４２", "42"), ("1" * 20, "1" * 16),
])
def test_the_typed_id_is_kept_as_the_login_form_reads_digits(typed, kept):
    """SEC-1, SEC-13: a malformed ID's row kept its digits by a rule of its own (blanks and
    ASCII hyphens only): 「１２３４５」 typed with the IME on, or 「123‐45」 with a Japanese
    hyphen, were dropped, though the login form reads them as digits. One reading now
    (cosei_ib.textinput.digits_typed_in_groups); what is not digits is still dropped."""
    from security.audit import audit_contract_id_typed

    assert audit_contract_id_typed(typed) == kept


def test_a_malformed_id_typed_in_full_width_keeps_its_digits_on_the_row(client):
    client.post("/login/", {"contract_id": "１２３４５", "password": "whatever1"})
    row = AuditEvent.objects.get(action="login")
    assert (row.outcome, row.summary, row.contract_id) == ("refused", "契約者ID形式誤り", "12345")


@pytest.mark.parametrize("url", ["/accounts/statements/?account=%00", "/accounts/statements/csv/?account=%00"])
def test_nul_in_an_account_id_is_a_refused_404_not_a_500(url):
    customer = factories.customer(password="Pass1234", password_is_initial=False)
    client = Client(raise_request_exception=True)
    client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    response = client.get(url)
    assert response.status_code == 404
    event = AuditEvent.objects.get(customer=customer, action="access_refused", outcome="refused")
    assert "\x00" not in event.summary and "id=\\x00" in event.summary


# --- the client address behind the reverse proxy --------------------------------------------


@pytest.mark.parametrize(("proxies", "forwarded_for", "expected"), [
    (0, "203.0.113.9", "10.0.0.1"),                       # no proxy: the header is a visitor's word
    (1, "203.0.113.9", "203.0.113.9"),
    (1, "198.51.100.66, 203.0.113.9", "203.0.113.9"),     # left entries are the visitor's own claim
    (2, "198.51.100.66, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
    (1, " 2001:DB8::1 ", "2001:db8::1"),
    (1, "", "10.0.0.1"),                                  # nothing appended: the direct peer
    (2, "203.0.113.9", "10.0.0.1"),                       # fewer entries than proxies
    (1, "203.0.113.9, not-an-address", "10.0.0.1"),
    (1, "203.0.113.9\nFORGED", "10.0.0.1"),
])
def test_client_ip_takes_the_address_the_trusted_proxy_appended(settings, proxies, forwarded_for, expected):
    settings.SECURITY_TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected


def test_client_ip_default_is_the_direct_peer_and_login_audits_the_proxied_address(settings):
    assert settings.SECURITY_TRUSTED_PROXY_COUNT == 0
    request = RequestFactory().get("/", REMOTE_ADDR="not an ip")
    assert client_ip(request) is None
    settings.SECURITY_TRUSTED_PROXY_COUNT = 1
    Client().post("/login/", {"contract_id": "9999999999", "password": "Pass1234"},
                  HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.9")
    assert AuditEvent.objects.filter(action="login").latest("id").client_ip == "203.0.113.9"


def test_production_trusts_one_proxy():
    from pathlib import Path

    from django.conf import settings

    prod = (Path(settings.BASE_DIR) / "cosei_ib" / "settings" / "prod.py").read_text()
    assert 'SECURITY_TRUSTED_PROXY_COUNT = int(env("DJANGO_SECURITY_TRUSTED_PROXY_COUNT", "1"))' in prod
