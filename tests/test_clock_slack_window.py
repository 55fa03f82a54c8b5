"""The test suite's own rule for the day rules' tests (tests/conftest.py ``clock_strict``):
within six minutes of 0:00 in Tokyo they are skipped, since CI211/CI228's five-minute slack
rightly takes two days as today there; elsewhere they run."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.conftest import near_midnight_in_tokyo

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(("clock", "near"), [
    ((23, 53, 59), False), ((23, 54, 0), True), ((0, 0, 0), True), ((0, 5, 59), True), ((0, 6, 0), False),
    ((12, 0, 0), False),
])
def test_near_midnight_in_tokyo(clock, near):
    with time_machine.travel(dt.datetime(2026, 12, 8, *clock, tzinfo=TOKYO), tick=False):
        assert near_midnight_in_tokyo() is near
