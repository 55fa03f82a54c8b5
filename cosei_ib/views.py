import datetime as dt

from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.defaults import permission_denied as django_permission_denied

from notifications.selectors import unsealed_mails_count
from security.decorators import customer_required
from transfers.selectors import overdue_counts

from .bankcalendar import local_now


@customer_required
def home(request):
    """メイン画面: the customer's accounts at a glance and the menu."""
    accounts = request.customer.accounts.select_related("branch").order_by("branch__code", "type", "number")
    return render(request, "home.html", {"accounts": accounts})


# a beat this far ahead of the database's clock is not the worker's (an owner's row, a clock
# set back): reported, never taken as a live worker
BEAT_AHEAD_TOLERANCE = dt.timedelta(seconds=1)
# a job due this long and still waiting: the worker does not take jobs (dbprobe28 F1), whatever
# its own beat says — the beat is one job of many, and got through a worker restarted every minute
JOB_WAIT_LIMIT = dt.timedelta(minutes=3)
# when a waiting job became due: its scheduled time, or its latest event (deferred, retried …)
OLDEST_WAITING_JOB = """
SELECT floor(extract(epoch FROM clock_timestamp() - min(
           GREATEST(j.scheduled_at, (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id)))))::bigint
  FROM procrastinate_jobs j
 WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= clock_timestamp())"""

# dbprobe30 F3: a job holding one of the app's queueing locks (``outbox_send``,
# ``scheduled_transfers`` …) but scheduled ahead keeps every later copy out — procrastinate
# refuses a second waiting job under the lock — while never being due itself. The app never
# schedules a locked job ahead (its periodic defers are due at once), so any is reported.
LOCKED_AHEAD = dt.timedelta(minutes=1)
JOBS_LOCKED_AHEAD = """
SELECT count(*) FROM procrastinate_jobs j
 WHERE j.status = 'todo' AND j.queueing_lock IS NOT NULL AND j.scheduled_at > clock_timestamp() + %s"""
# a mail due this long and still 未送信, or a posting notice not yet made its mail: the sender
# does not run (dbprobe30 F3: every mail held back while /health/ said ``ok``). The sender is
# woken at each commit and sweeps every minute, so minutes mean it is stuck.
MAIL_WAIT_LIMIT = dt.timedelta(minutes=5)
OLDEST_WAITING_MAIL = """
SELECT floor(extract(epoch FROM clock_timestamp() - least(
           (SELECT min(m.next_attempt_at) FROM notifications_outboxmessage m
             WHERE m.status = 'pending' AND m.next_attempt_at <= clock_timestamp()),
           (SELECT min(n.created_at) FROM notifications_postingnotice n WHERE n.processed_at IS NULL))))::bigint"""


@never_cache
@require_safe
def health(request):
    """Load-balancer check: 200 when PostgreSQL answers; reports the worker's last beat,
    how many 予約中 transfers are dated before today and how many 未送信 records to other
    banks settle before today (``transfers.selectors.overdue_counts``: the batch or the
    day's 仕向 file did not take them — dbprobe26 F12: the job tables, writable by the app
    role, can silence the batch without an error; dbprobe27 F3) and how many 送信済 records
    are in a file of another 決済日 (``outgoing_records_misfiled``: no file of their day
    carried them; dbprobe28 F6 — the status is then ``error``).

    The worker's age is the database's clock minus the last beat not ahead of it (the app's
    role's beats are dated by that clock, accounts 0033); a beat ahead of it (dbprobe27 F9: one
    dated 8999 reported a live worker for ever, -220048690614 s) is counted and makes the
    status ``error`` — the page still answers 200: the web itself is fine.

    ``jobs_oldest_waiting_seconds``: how long the longest-waiting job that is due has waited
    (None: none waits). Over ``JOB_WAIT_LIMIT`` the status is ``error`` (dbprobe28 F1: a stream
    of NOTIFYs kept the worker restarting, one job a minute; the mail and the batch waited while
    /health/ said ``ok``). ``jobs_locked_ahead``: jobs holding a queueing lock of the app's but
    scheduled ahead (``JOBS_LOCKED_AHEAD``), and ``mail_oldest_waiting_seconds``: how long the
    oldest due 未送信 mail or unprocessed 入出金 notice has waited — either over its limit
    makes the status ``error`` (dbprobe30 F3). ``mail_unsealed``: mails the app did not seal
    (written by SQL) that the sender refused — 送信失敗, or 未送信 while a told event's fixed
    notice in their place waits for the server — written in the last week
    (``notifications.selectors.unsealed_mails_count``); any makes the status ``error``
    (dbprobe32 F1: it had been a log line only)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT floor(extract(epoch FROM clock_timestamp() - max(beat_at)"
                           " FILTER (WHERE beat_at <= clock_timestamp())))::bigint,"
                           " count(*) FILTER (WHERE beat_at > clock_timestamp() + %s)"
                           " FROM accounts_workerheartbeat", [BEAT_AHEAD_TOLERANCE])
            worker_age, beats_ahead = cursor.fetchone()
            cursor.execute(OLDEST_WAITING_JOB)
            job_wait = cursor.fetchone()[0]
            cursor.execute(JOBS_LOCKED_AHEAD, [LOCKED_AHEAD])
            locked_ahead = cursor.fetchone()[0]
            cursor.execute(OLDEST_WAITING_MAIL)
            mail_wait = cursor.fetchone()[0]
        overdue, outgoing_overdue, misfiled = overdue_counts(local_now().date())
        unsealed = unsealed_mails_count()
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    jobs_late = job_wait is not None and job_wait > JOB_WAIT_LIMIT.total_seconds()
    mail_late = mail_wait is not None and mail_wait > MAIL_WAIT_LIMIT.total_seconds()
    failing = beats_ahead or jobs_late or misfiled or locked_ahead or mail_late or unsealed
    return JsonResponse({"status": "error" if failing else "ok", "database": "ok",
                         "worker_last_beat_seconds": worker_age, "worker_beats_ahead_of_clock": beats_ahead,
                         "jobs_oldest_waiting_seconds": job_wait, "jobs_locked_ahead": locked_ahead,
                         "mail_oldest_waiting_seconds": mail_wait, "mail_unsealed": unsealed,
                         "scheduled_transfers_overdue": overdue, "outgoing_records_overdue": outgoing_overdue,
                         "outgoing_records_misfiled": misfiled})


def permission_denied(request, exception=None):
    """A 403 in the staff admin is an admin page (STAFF-1, walk25 F20): the customer
    site's page there showed the customer call centre's number to staff."""
    if request.path.startswith(reverse("admin:index")):
        return render(request, "admin/403.html", {**admin.site.each_context(request), "title": "アクセスできません"},
                      status=403)
    return django_permission_denied(request, exception)


@never_cache
def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW (SEC-9): a form posted without a valid token. Mostly a tab left
    open after 「ログアウト」 in another tab or the idle logout — the session is gone, so
    the customer is told that, not 「不正な操作の可能性」, which alarmed a customer who had
    only logged out (walk25 F12). A mismatch within a live session keeps that wording; a
    customer (or staff member) still logged in is sent on from メイン画面 (the admin index),
    not to log in again while the header shows their name and ログアウト (walk26 F14). A
    session half-way through the login goes back to the login page."""
    live = request.user.is_authenticated
    staff_page = request.path.startswith(reverse("admin:index"))
    logged_in = getattr(request, "customer", None) is not None or (live and staff_page and request.user.is_staff)
    return render(request, "403_csrf.html", {
        "session_live": live,
        "logged_in": logged_in,
        "staff_page": staff_page,
        "continue_url": reverse("admin:index") if staff_page else reverse("home"),
        "login_url": reverse("admin:login") if staff_page else reverse("security:login"),
    }, status=403)
