"""The application's URLs plus ``/bench/bare/``: the baseline of pages.py — a bare Django
page with a database session and one indexed SELECT, served by the same gunicorn through
the same middleware as the application's pages."""

from django.http import HttpResponse
from django.urls import path

from accounts.models import Account
from cosei_ib.urls import urlpatterns as application_urlpatterns

BARE_ACCOUNT = "bench_bare_account"


def bare_page(request):
    """Reads this (anonymous) session from the database — no user, no customer — and one
    account by primary key: two queries, no write. The set-up visit of pages.py, without a
    session, names the account and so starts the session."""
    account_id = request.session.get(BARE_ACCOUNT)
    if account_id is None:
        account_id = request.session[BARE_ACCOUNT] = int(request.GET["account"])
    account = Account.objects.only("number", "balance").get(pk=account_id)
    return HttpResponse(f"<!DOCTYPE html><title>bench</title><p>bench-bare {account.number} {account.balance}</p>")


urlpatterns = [path("bench/bare/", bare_page), *application_urlpatterns]
