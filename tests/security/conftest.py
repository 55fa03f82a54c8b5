import datetime as dt

import pytest
import time_machine


@pytest.fixture(autouse=True)
def otp_clock_at_step_start(request):
    """OTP codes change every 30 seconds; a test that computed a code just before a step
    boundary would send a stale one. Tests that use OTP codes run with the clock frozen at
    the start of a step (process-wide, so the code under test sees the same time)."""
    module = request.module.__name__
    if not module.endswith(("test_otp", "test_stepup", "test_second_factor_views")):
        yield
        return
    start = dt.datetime.now(dt.timezone.utc).replace(second=1, microsecond=0)
    with time_machine.travel(start, tick=False):
        yield
