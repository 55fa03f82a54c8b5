"""SEC-8, SEC-13: ``manage.py login_spray_check`` finds one address trying a password
against many contract IDs — which the per-contract lockout never sees — from the audit
rows real logins write, and exits non-zero for cron and monitoring."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client

from security.audit import audit_record
from security.models import AuditEvent
from tests import factories
from tests.commands import command_run

pytestmark = pytest.mark.django_db

SPRAYER = "203.0.113.7"
SPRAYED = "Spring2026"  # the one password the sprayer tries everywhere


def active_customer(password: str = "Pass1234"):
    customer = factories.customer(password=password, password_is_initial=False)
    return customer


def login_from(address: str, contract_id: str, password: str) -> int:
    return Client(REMOTE_ADDR=address).post(
        "/login/", {"contract_id": contract_id, "password": password}).status_code


def unknown_id_failures(*, action: str, first_digit: str, count: int, ip: str | None) -> None:
    """The rows ``login_authenticate`` writes for unknown contract IDs, written directly
    (what the proxy set-up or the OTP activation door leaves)."""
    for number in range(1, count + 1):
        audit_record(action=action, outcome=AuditEvent.Outcome.FAILURE,
                     contract_id=f"{first_digit}{number:09d}", summary="契約者ID不明", ip=ip)


def spray_check(capsys, *args: str) -> tuple[int, str, str]:
    return command_run(capsys, "login_spray_check", *args)


def test_one_address_on_many_contracts_is_reported_with_the_contract_it_got_into(capsys):
    """Ten wrong passwords on ten contracts (known and unknown IDs) plus the one
    contract whose password it was: no contract is locked (one failure each), the check
    names the address, the ten IDs, and the contract the password opened."""
    victims = [active_customer() for _ in range(7)]
    unlucky = active_customer(password=SPRAYED)
    unknown_ids = ["9000000001", "9000000002", "9000000003"]
    for contract_id in [victim.contract_id for victim in victims] + unknown_ids:
        assert login_from(SPRAYER, contract_id, SPRAYED) == 200  # refused, no lock
    assert login_from(SPRAYER, unlucky.contract_id, SPRAYED) == 302  # the spray found one
    assert login_from("198.51.100.20", victims[0].contract_id, "Pass1234") == 302  # the owner
    assert AuditEvent.objects.filter(action="lockout").count() == 0  # SEC-8 saw nothing

    status, out, err = spray_check(capsys)

    assert status == 1
    assert f"[SPRAY] ip={SPRAYER} contract_ids=10 failures=10" in out
    tried = sorted([victim.contract_id for victim in victims] + unknown_ids)
    assert f"        tried: {' '.join(tried)}" in out
    assert ("PASSWORD ACCEPTED from this address (check these contracts first): "
            f"{unlucky.contract_id}") in out
    assert "198.51.100.20" not in out  # the owner's own login is no finding
    assert "login spray check FAILED: 1 address(es)" in err
    assert SPRAYED not in out + err and "Pass1234" not in out + err  # SEC-13


def test_the_right_password_of_a_locked_contract_counts_as_a_hit(capsys):
    """A right password on a locked contract is refused like a wrong one (SEC-8), but
    for the operator it is a password the sprayer now knows."""
    locked = active_customer(password=SPRAYED)
    for _ in range(5):
        login_from("192.0.2.99", locked.contract_id, "wrong999")
    assert AuditEvent.objects.filter(action="lockout", customer=locked).exists()
    for number in range(1, 10):
        login_from(SPRAYER, f"80000000{number:02d}", SPRAYED)
    assert login_from(SPRAYER, locked.contract_id, SPRAYED) == 200  # refused: locked

    status, out, _err = spray_check(capsys, "--threshold", "10")

    assert status == 1
    assert f"[SPRAY] ip={SPRAYER} contract_ids=10 failures=10" in out
    assert f"(check these contracts first): {locked.contract_id}" in out
    assert "192.0.2.99" not in out  # five failures on one contract: the lockout's case


def test_a_customer_mistyping_and_a_small_office_are_no_finding(capsys, settings):
    """Below the threshold nothing is reported and the exit status is 0; refusals
    outside the service hours checked no password and are not counted."""
    me = active_customer()
    for _ in range(4):
        login_from("192.0.2.10", me.contract_id, "typo1234")
    family = [active_customer() for _ in range(3)]
    for member in family:
        login_from("192.0.2.11", member.contract_id, "typo1234")
    settings.SERVICE_HOURS_ENFORCED = True
    tokyo = dt.timezone(dt.timedelta(hours=9))
    with time_machine.travel(dt.datetime(2026, 12, 2, 3, 0, tzinfo=tokyo)):
        for number in range(1, 20):  # 03:00 in Tokyo: closed, nothing is checked
            login_from(SPRAYER, f"70000000{number:02d}", SPRAYED)
    assert AuditEvent.objects.filter(summary="ご利用時間外", client_ip=SPRAYER).count() == 19

    with time_machine.travel(dt.datetime(2026, 12, 2, 3, 30, tzinfo=tokyo)):
        status, out, err = spray_check(capsys, "--minutes", "100000")

    assert status == 0 and err == ""
    assert out.startswith("login spray check passed: no address failed logins on 10 or more "
                          "contract IDs in ")


def test_only_the_window_counts(capsys):
    """Failures older than --minutes are out of the window; a longer window finds them."""
    start = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.timezone.utc)
    with time_machine.travel(start):
        for number in range(1, 13):
            login_from(SPRAYER, f"60000000{number:02d}", SPRAYED)
    with time_machine.travel(start + dt.timedelta(hours=2)):
        quiet = spray_check(capsys)  # the default 60 minutes
        found = spray_check(capsys, "--minutes", "180", "--threshold", "12")
        above = spray_check(capsys, "--minutes", "180", "--threshold", "13")
    assert quiet[0] == 0 and above[0] == 0
    assert found[0] == 1
    assert f"ip={SPRAYER} contract_ids=12 failures=12 first=2026-12-02 19:00:00+0900" in found[1]


def test_failures_without_an_address_are_said_not_hidden(capsys):
    """A row the proxy set-up left without an address cannot be attributed: the check
    says how many there are instead of passing silently over them."""
    unknown_id_failures(action="login", first_digit="5", count=3, ip=None)
    status, out, _err = spray_check(capsys)
    assert status == 0
    assert "note: 3 failed login(s) in the window have no client address" in out


def test_a_long_list_of_ids_is_cut_and_counted(capsys):
    unknown_id_failures(action="otp_activate_identify", first_digit="4", count=25, ip=SPRAYER)
    status, out, _err = spray_check(capsys)
    assert status == 1
    assert "contract_ids=25 failures=25" in out
    assert "4000000020 (+5 more)" in out and "4000000021" not in out


def test_a_spray_spread_over_many_addresses_is_found_by_the_total(capsys):
    """SEC-8, SEC-13: a botnet tries the password once per contract, each contract from
    another address — under every per-address threshold; the total of distinct contracts
    failing over all addresses together is a finding at --wide-threshold, and the passing
    line prints that total so the bank can set the threshold above its normal peak."""
    for number in range(1, 13):
        login_from(f"198.51.100.{number}", f"50000000{number:02d}", SPRAYED)

    below = spray_check(capsys, "--wide-threshold", "13")
    status, out, err = spray_check(capsys, "--wide-threshold", "12")

    assert below[0] == 0
    assert "all addresses together failed on 12 contract IDs (finding at 13)" in below[1]
    assert status == 1
    assert "[SPRAY] " not in out  # no single address reached --threshold
    assert "[SPRAY-WIDE] contract_ids=12 addresses=12 failures=12" in out
    assert "login spray check FAILED: all addresses together failed on 12 contract IDs (>= 12)" in err
    assert SPRAYED not in out + err


@pytest.mark.parametrize("args", [["--minutes", "0"], ["--threshold", "1"],
                                  ["--threshold", "20", "--wide-threshold", "19"]])
def test_nonsense_options_are_refused(args):
    with pytest.raises(CommandError):
        call_command("login_spray_check", *args)
