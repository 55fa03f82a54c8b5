"""Settings of the gunicorn server that pages.py starts: the production profile
(cosei_ib.settings.prod) as it is, with only what a benchmark over plain HTTP on the
loopback, at any hour, needs:

- no redirect to HTTPS and no Secure flag on the cookies (there is no TLS proxy in front;
  the ``__Host-`` cookie prefix requires the Secure flag, so the names lose it too);
- the service hours off (LEDGER-6), so that a run at night measures the pages, not the
  closed page;
- the URLs: the application's plus the bare baseline page (pages_urls.py).

The secret key, the allowed host and the app role's DATABASE_URL come from the
environment, as in production (pages.py sets them)."""

from cosei_ib.settings.prod import *  # noqa: F401,F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SESSION_COOKIE_NAME = "sessionid"
CSRF_COOKIE_NAME = "csrftoken"
SERVICE_HOURS_ENFORCED = False
ROOT_URLCONF = "pages_urls"
