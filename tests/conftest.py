"""Shared fixtures. Tests run against a real PostgreSQL (dev.py test starts one)."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings as hypothesis_settings

from tests.browser.accessibility import (accessibility_check_install, accessibility_check_wait,
                                         accessibility_violations_text)

# Issue 14, fuzzing (tests/reliability): CI runs a fixed set of examples (derandomize: the
# seed comes from each test's name), so a red run is red again on a developer's machine.
# COSEI_FUZZ_PROFILE=long draws new random examples on every run, ten times as many
# (docs/testing.md). Function-scoped fixtures (a logged-in client) are shared by a test's
# examples on purpose: each example checks its own before/after row counts.
_FUZZ_COMMON = dict(deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])
hypothesis_settings.register_profile("ci", derandomize=True, database=None, **_FUZZ_COMMON)
hypothesis_settings.register_profile("long", derandomize=False, **_FUZZ_COMMON)
hypothesis_settings.load_profile(os.environ.get("COSEI_FUZZ_PROFILE", "ci"))
if os.environ.get("COSEI_FUZZ_PROFILE") == "long":
    os.environ.setdefault("COSEI_FUZZ_SCALE", "10")

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# where a loop is running unless told this is deliberate (it is: the loop is Playwright's).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


# How far the app's clock may be from the database's (``cosei_clock_slack()``, accounts
# 0031): five minutes in production. The tests travel in time with the app's clock
# (time_machine) while the database's stays now, so the test database takes 100 years;
# the tests of the rules that read it put five minutes back (``database_clock_strict``).
CLOCK_SLACK_TRAVEL = "100 years"
CLOCK_SLACK_PRODUCTION = "5 minutes"


def clock_slack_sql(slack: str) -> str:
    return ("CREATE OR REPLACE FUNCTION public.cosei_clock_slack() RETURNS interval LANGUAGE plpgsql VOLATILE"
            f" SET search_path = pg_catalog AS $$ BEGIN RETURN interval '{slack}'; END $$")


def near_midnight_in_tokyo(margin_minutes: int = 6) -> bool:
    """True within ``margin_minutes`` either side of 0:00 in Tokyo by the real clock (the
    database's): there the five-minute slack makes yesterday or tomorrow the day too."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    now = dt.datetime.now(ZoneInfo("Asia/Tokyo"))
    minutes = now.hour * 60 + now.minute
    return minutes < margin_minutes or minutes >= 24 * 60 - margin_minutes


@contextlib.contextmanager
def clock_strict():
    """The production slack (five minutes), set by the owner on its own connection
    (committed: the test's own transaction sees it), then the travel slack again — for the
    part of a test after it travelled in time (a booking made the day before). Within the
    slack of 0:00 in Tokyo the rules rightly take two days as today, so the tests of them
    are skipped there (a CI run at 15:00 UTC failed them once) rather than made weaker."""
    if near_midnight_in_tokyo():
        pytest.skip("within the five-minute clock slack of 0:00 in Tokyo: the day rules take two days then")
    owner_commits(clock_slack_sql(CLOCK_SLACK_PRODUCTION))
    try:
        yield
    finally:
        owner_commits(clock_slack_sql(CLOCK_SLACK_TRAVEL))


def owner_commits(sql: str) -> None:
    """``sql`` run and committed by the owner on a connection of its own (the test's own
    transaction sees a function it replaced)."""
    import psycopg
    from django.db import connections

    with psycopg.connect(**connections["owner"].get_connection_params(), autocommit=True) as conn:
        conn.execute(sql)


def held_sql(function: str, held: bool) -> str:
    """``public.<function>()``, the switch of a rule the test database relaxes (true: the rule
    holds), made to return ``held``."""
    return (f"CREATE OR REPLACE FUNCTION public.{function}() RETURNS boolean"
            f" LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$ BEGIN RETURN {held}; END $$")


@contextlib.contextmanager
def rule_strict(function: str):
    """The production rule switched by ``function`` (set by the owner on its own connection,
    committed, as ``clock_strict``), then relaxed again."""
    owner_commits(held_sql(function, True))
    try:
        yield
    finally:
        owner_commits(held_sql(function, False))


# notifications 0018 (CI242): a mail leaves its state only after the commit that wrote it. The
# test database relaxes it: a test sends, in its one transaction, the mail it wrote.
MAIL_DELIVERED_APART = "notifications_mail_delivered_apart_held"
# notifications 0027 (CI310): an address change's code mail is of an earlier transaction than its
# confirmation. Relaxed: a test requests and confirms a change (the factories, the Ｅメール設定
# tests) in its one transaction.
CODE_MAIL_APART = "notifications_code_mail_apart_held"
# transfers 0037 (CI235, CI236): the daily limit and the bank maximum move only as their services
# move them. Relaxed: tests set a customer's limit or the bank maximum directly, as a DBA would,
# in their one transaction.
LIMIT_RULES = "transfers_limit_rules_held"
RELAXED_RULES = (MAIL_DELIVERED_APART, CODE_MAIL_APART, LIMIT_RULES)


@pytest.fixture
def mail_delivered_apart_strict():
    """The production rule (CI242) for one test."""
    with rule_strict(MAIL_DELIVERED_APART):
        yield


@pytest.fixture
def code_mail_apart_strict():
    """The production rule of notifications 0027 (CI310's code mail) for one test."""
    with rule_strict(CODE_MAIL_APART):
        yield


def limit_rules_held():
    """The production rules of transfers 0037, then relaxed again."""
    return rule_strict(LIMIT_RULES)


@pytest.fixture
def limit_rules_strict():
    """``limit_rules_held`` for one whole test."""
    with limit_rules_held():
        yield


def demo_database_sql(demo: bool) -> str:
    """payeasy 0013 (CI247): ``seed_demo`` adds billers only on a demo database. The test
    database is one (the tests seed the demo, as ``dev.py run`` does); the tests of the rule
    make it a bank's (``demo_database_off``). With it accounts 0039's ``cosei_demo_loading()``
    (CI316): the tests' fixtures post ``demo:`` keys as the seed does, at any time."""
    return held_sql("cosei_demo_database", demo) + ";\n" + held_sql("cosei_demo_loading", demo)


@pytest.fixture
def demo_database_off():
    """A bank's database (``cosei_demo_database()`` false) for one test, set by the owner on
    its own connection (committed, as ``clock_strict``), then the test database's again."""
    owner_commits(demo_database_sql(False))
    try:
        yield
    finally:
        owner_commits(demo_database_sql(True))


@pytest.fixture
def database_clock_strict():
    """The production slack for one whole test (``clock_strict``)."""
    with clock_strict():
        yield


@pytest.fixture
def no_job_waiting():
    """No due job waits in procrastinate's queue (rolled back with a non-transactional
    test): a test of /health/'s ``ok`` must not read the jobs other tests of a long suite
    committed and left queued — past ``JOB_WAIT_LIMIT`` they make the status ``error``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE status = 'todo'")


@pytest.fixture
def owner_sql(request):
    """``run(sql, params)``: a statement the app's role may not run (reference data: our
    branches, accounts/db_roles.py), run and committed by the owner on its own connection as
    a DBA would. Transactional tests only: their flush (as the owner) empties the tables and
    puts the reference data back, so nothing outlives the test."""
    import psycopg
    from django.db import connections

    marker = request.node.get_closest_marker("django_db")
    assert marker is not None and marker.kwargs.get("transaction"), "owner_sql needs django_db(transaction=True)"

    def run(sql: str, params=None) -> None:
        with psycopg.connect(**connections["owner"].get_connection_params(), autocommit=True) as conn:
            conn.execute(sql, params)

    return run


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    """LEDGER-7: the owner creates and migrates the test database (and grants the app's
    role its privileges after migrate); every test then runs as the app's role, as the
    web and the worker do. dev.py gives both URLs."""
    from django.conf import settings
    from django.db import connections

    if "owner" not in settings.DATABASES:
        pytest.exit("DATABASE_OWNER_URL is not set: the tests need the owner role to create "
                    "the test database (python3 dev.py test sets it)", returncode=2)
    owner, app = connections["owner"], connections["default"]
    with django_db_blocker.unblock():
        old_name = owner.settings_dict["NAME"]
        # the app's connection points at the test database before migrate's post_migrate
        # handlers run (they may write through it)
        app.close()
        app.settings_dict["NAME"] = owner.creation._get_test_db_name()
        owner.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
        with owner.cursor() as cursor:
            cursor.execute(clock_slack_sql(CLOCK_SLACK_TRAVEL))
            for function in RELAXED_RULES:
                cursor.execute(held_sql(function, False))
            cursor.execute(demo_database_sql(True))
    yield
    with django_db_blocker.unblock():
        app.close()
        owner.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


@pytest.fixture(scope="session")
def playwright():
    if os.environ.get("COSEI_SKIP_BROWSER") or not os.path.exists(CHROMIUM):
        pytest.skip("no Chromium installed: browser tests skipped (dev.py says so loudly)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright):
    """One headless Chromium (Debian's) for the whole session, driven by Playwright."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}, "locale": "ja-JP",
                "timezone_id": "Asia/Tokyo"},
    "iphone": "iPhone 13",
}


@pytest.fixture(params=sorted(DEVICES))
def device(request):
    """Each browser test runs once on a desktop and once on an iPhone-sized screen."""
    return request.param


ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so a fixture's teardown knows whether
    the test failed (the `page` fixture below keeps its artifacts then)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def page_artifacts_keep(page, nodeid: str) -> list[Path]:
    """Issue 14: a failed browser test leaves the screenshot and the HTML of its page in
    test-artifacts/ (CI keeps the folder), named after the test and the device."""
    ARTIFACTS.mkdir(exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.removeprefix("tests/").replace(".py::", "__")).strip("_")[:150]
    saved = []
    shot = ARTIFACTS / f"{stem}.png"
    try:
        page.screenshot(path=str(shot), full_page=True)
        saved.append(shot)
    except Exception:  # noqa: BLE001 - a page that crashed still gets its HTML kept, if any
        pass
    html = ARTIFACTS / f"{stem}.html"
    try:
        html.write_text(page.content(), encoding="utf-8")
        saved.append(html)
    except Exception:  # noqa: BLE001
        pass
    return saved


@pytest.fixture
def page(request, playwright, browser, device, live_server):
    spec = DEVICES[device]
    options = dict(playwright.devices[spec]) if isinstance(spec, str) else dict(spec)
    options.update(locale="ja-JP", timezone_id="Asia/Tokyo", base_url=live_server.url)
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    inaccessible = accessibility_check_install(context)  # UI-1: axe on every page
    page = context.new_page()
    page.device = device
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for path in page_artifacts_keep(page, request.node.nodeid):
            print(f"kept {path}")
    else:
        accessibility_check_wait(page)
    context.close()
    found = [(url, violations) for url, violations in inaccessible if violations]
    if found and report is not None and report.passed:
        pytest.fail(f"accessibility (axe-core, {device}):\n{accessibility_violations_text(found)}", pytrace=False)


@pytest.fixture(autouse=True)
def reference_data(request):
    """Branches and internal accounts come from a data migration; a transactional test's
    flush removes them and puts them back as the owner (cosei_ib.testing's flush: the app's
    role may not open the bank's own accounts, accounts 0024). Here only a check that
    they are there (with a single role, the set-up without an owner, it puts them back)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None and "live_server" not in request.fixturenames:
        return
    request.getfixturevalue("_django_db_helper") if marker else request.getfixturevalue("transactional_db")
    from accounts.models import Account, Branch
    from accounts.reference_data import ensure_reference_data

    ensure_reference_data(Branch, Account)


@pytest.fixture(autouse=True)
def bank_closing_days():
    """The bank's closing days are cached per process (cosei_ib.bankcalendar): each test
    starts with none, as loaded (a test without the database must not query, and a page's
    query count leaves out the load a process does once a minute); a closing day saved or
    deleted clears the copy (accounts.signals), and a test's rolled-back rows do not
    outlive it."""
    from cosei_ib import bankcalendar

    bankcalendar.closing_days_prime({})
    yield
    bankcalendar.closing_days_clear()
