"""Settings shared by every profile. Everything that differs between machines is read
from the environment (``DJANGO_*`` variables and ``DATABASE_URL``)."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "procrastinate.contrib.django",
    "accounts",
    "security",
    "transfers",
    "payeasy",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "security.middleware.AuthenticationMiddleware",  # Django's, + the user read with the session
    "django_otp.middleware.OTPMiddleware",
    # before the customer-session checks: the admin login after an automatic logout says why (walk29 F4)
    "django.contrib.messages.middleware.MessageMiddleware",
    "security.middleware.CustomerSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cosei_ib.method_not_allowed.MethodNotAllowedPageMiddleware",
]

ROOT_URLCONF = "cosei_ib.urls"
WSGI_APPLICATION = "cosei_ib.wsgi.application"

# Customer pages: Jinja2 (jinja2/, cosei_ib/jinja2.py — issue 14: Django's engine cost a
# customer page as much CPU as the rest of its request). Django admin and the mail bodies:
# Django's engine (templates/). A name is looked up in jinja2/ first.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "cosei_ib.jinja2.environment",
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cosei_ib.context_processors.bank",
            ],
        },
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cosei_ib.context_processors.bank",
            ],
        },
    },
]

# LEDGER-7: two database roles. DATABASE_URL is the app's role (web, worker, management
# commands): it may write the ledger only through ledger_post(). DATABASE_OWNER_URL is the
# role that owns the tables and runs `manage.py migrate --database owner`; give it only to
# the migration step (and the test runner), never to the web or the worker.
# dev.py sets both for its embedded PostgreSQL; an operator sets them for a real server.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", "postgresql://cosei_app@localhost:5432/cosei_ib"),
        conn_max_age=60,
        conn_health_checks=True,
    )
}
# dbprobe25 F6: a transaction left open by a hung request or job (a bug, a stuck outside
# call) would hold its row locks — on 為替決済 or the fee table, every posting waits. The
# server ends such a session after this long idle inside a transaction; no request, job or
# batch chunk of the app waits that long between two statements (docs/operations.md).
DATABASE_IDLE_IN_TRANSACTION_SECONDS = 60
_options = DATABASES["default"].setdefault("OPTIONS", {})
_options["options"] = " ".join(filter(None, [
    _options.get("options"),
    f"-c idle_in_transaction_session_timeout={DATABASE_IDLE_IN_TRANSACTION_SECONDS * 1000}",
]))
if env("DATABASE_OWNER_URL"):
    DATABASES["owner"] = dj_database_url.parse(env("DATABASE_OWNER_URL"), conn_max_age=0)
# The role the owner grants to after migrate (accounts/db_roles.py); default: the user of
# DATABASE_URL.
DATABASE_APP_ROLE = env("DATABASE_APP_ROLE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "ja"
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
# corrections to Django's own Japanese (locale/ja/LC_MESSAGES/django.po)
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True
FORMAT_MODULE_PATH = ["cosei_ib.formats"]  # 「2026年12月6日 13:14」 in admin, as on the customer pages

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGIN_URL = "/login/"

# Security headers common to all profiles; prod.py tightens the transport ones.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Django's database sessions; a customer's session is read with its user in one
# statement (security/session_store.py, issue 14).
SESSION_ENGINE = "security.session_store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "cosei_ib.views.csrf_failure"  # Japanese, and says why (SEC-9, walk25 F12)

# --- The bank -----------------------------------------------------------------------
BANK_CODE = "1633"  # Zengin code of 大阪厚生信用金庫
BANK_NAME = "大阪厚生信用金庫"
BANK_SHORT_NAME = "大阪厚生信金"

# LEDGER-6: service hours (start, end) as "HH:MM", end exclusive. Business days are
# computed in cosei_ib.bankcalendar. SERVICE_HOURS_ENFORCED may be switched off only in
# development (DJANGO_SERVICE_HOURS_ENFORCED=0); production always enforces them.
SERVICE_HOURS = {
    "default": {"weekday": ("07:00", "22:00"), "holiday": ("08:00", "21:00")},
    "payeasy": {"weekday": ("07:00", "21:45"), "holiday": ("08:00", "20:45")},
}
SERVICE_HOURS_ENFORCED = True

# --- Background worker (procrastinate) -----------------------------------------------
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
# dbprobe28 F1: a NOTIFY on procrastinate's channel that is not its JSON is logged and
# dropped, not the end of the worker's listener (accounts/job_listener.py)
PROCRASTINATE_ON_APP_READY = "accounts.job_listener.on_app_ready"
# NOTE-3: the outbox worker holds the message's row lock while it talks to the mail
# server; a hung server must not hold it (and the worker) for minutes.
EMAIL_TIMEOUT = 10

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"without_traceback": {"()": "cosei_ib.log_filters.WithoutTraceback"},
                "client_error_without_traceback": {"()": "cosei_ib.log_filters.ClientErrorWithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "console_one_line": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["without_traceback"]},
        "console_request": {"class": "logging.StreamHandler", "formatter": "plain",
                            "filters": ["client_error_without_traceback"]},
    },
    "loggers": {
        # a request Django refused as suspicious (400): one line each, no traceback (walk29 F8)
        "django.security": {"handlers": ["console_one_line"], "level": "WARNING", "propagate": False},
        # a 403 or 404 (「Forbidden (Permission denied): …」): one line, no traceback; a 500
        # keeps its traceback — and is written in production too, where Django's own console
        # handler writes only with DEBUG on (walk31 F8)
        "django.request": {"handlers": ["console_request"], "level": "WARNING", "propagate": False},
        "cosei_ib": {"handlers": ["console"], "level": "INFO"},
        "accounts": {"handlers": ["console"], "level": "INFO"},
        "security": {"handlers": ["console"], "level": "INFO"},
        "transfers": {"handlers": ["console"], "level": "INFO"},
        "payeasy": {"handlers": ["console"], "level": "INFO"},
        "notifications": {"handlers": ["console"], "level": "INFO"},
    },
}

# --- Security (SEC) --------------------------------------------------------------------
# SEC-8: consecutive failures that lock a credential.
SECURITY_LOCKOUT_THRESHOLDS = {"password": 5, "image_card": 3, "otp": 5, "passkey": 5}
# SEC-13: reverse proxies in front of the application that append the client address to
# X-Forwarded-For (0: none, REMOTE_ADDR is the client; prod.py: 1).
SECURITY_TRUSTED_PROXY_COUNT = 0
# SEC-9 / SEC-12: idle logout after 15 minutes; absolute limit of a session.
SESSION_IDLE_SECONDS = 15 * 60
SESSION_ABSOLUTE_SECONDS = 2 * 60 * 60
SESSION_WARNING_SECONDS = 60
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# SEC-2 / SEC-15: the bank's published password rule; the bounds are settings.
LOGIN_PASSWORD_MIN_LENGTH = 6
LOGIN_PASSWORD_MAX_LENGTH = 12

# OTP keys are never shown in admin (SEC-13).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
OTP_TOTP_ISSUER = "大阪厚生信金"

# SEC-11: CSP without inline script; nothing from other origins; no framing.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# --- Passkeys (SEC-16) -------------------------------------------------------------------
# The relying party is the bank's host name; assertions are accepted only from these
# origins. Left empty (development, tests) the request's own origin is expected, and only
# when its host is the RP ID (a passkey cannot be bound to an IP address such as 127.0.0.1).
WEBAUTHN_RP_ID = env("DJANGO_WEBAUTHN_RP_ID", "localhost")
WEBAUTHN_RP_NAME = "大阪厚生信用金庫 インターネットバンキング"
WEBAUTHN_ORIGINS = env_list("DJANGO_WEBAUTHN_ORIGINS", [])
PASSKEYS_PER_CUSTOMER = 5
# --- Notifications (notifications app: NOTE-1 … NOTE-4) ----------------------------------
# Sender of customer mail, and the bank's S/MIME certificate and key (PEM) that sign it.
NOTIFICATIONS_FROM_EMAIL = env("DJANGO_NOTIFICATIONS_FROM", "ib-info@osaka-kosei-shinkin.example.jp")
NOTIFICATIONS_SMIME_CERT = env("DJANGO_SMIME_CERT", str(BASE_DIR / ".dev" / "smime" / "bank-cert.pem"))
NOTIFICATIONS_SMIME_KEY = env("DJANGO_SMIME_KEY", str(BASE_DIR / ".dev" / "smime" / "bank-key.pem"))
# Development and tests only: create a self-signed pair at those paths on first use. In
# production a missing certificate fails the send (retried, then 送信失敗): never unsigned.
NOTIFICATIONS_SMIME_SELF_SIGNED = False
# The development mail backend writes one .eml file per message here.
NOTIFICATIONS_EML_DIR = env("DJANGO_MAIL_DIR", str(BASE_DIR / ".dev" / "mail"))
# NOTE-2: how long the code sent to a new address is valid, and how many wrong tries.
NOTIFICATIONS_EMAIL_CODE_SECONDS = 30 * 60
NOTIFICATIONS_EMAIL_CODE_MAX_FAILURES = 5
# Production SMTP (TLS).
EMAIL_HOST = env("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("DJANGO_EMAIL_PORT", "587"))
EMAIL_HOST_USER = env("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", True)
# --- Pay-easy (payeasy) ------------------------------------------------------------------
# PAY-2: the biller gateway (the documented simulator; a real one implements the same
# two methods, see docs/payeasy.md).
PAYEASY_GATEWAY = "payeasy.gateway.SimulatorGateway"
# PAY-3: wrong number/確認番号 entries a day before Pay-easy is blocked until 0:00; days
# back within which paying the same number again shows the duplicate warning.
PAYEASY_MAX_FAILURES_PER_DAY = 10
PAYEASY_DUPLICATE_DAYS = 92
# PAY-4: the longest validity a biller may give a 情報リンク (seconds).
PAYEASY_LINK_MAX_SECONDS = 60 * 60
# The biller simulator's demo pages (a biller's site offering 情報リンク); off in production.
PAYEASY_SIMULATOR_PAGES = True
# --- Transfers (XFER) --------------------------------------------------------------------
# XFER-8: the daily limit a new customer starts with, and the bank maximum used until staff
# save 振込の設定 in admin (the admin value wins).
TRANSFERS_DEFAULT_DAILY_LIMIT = 1_000_000
TRANSFERS_BANK_MAX_DAILY_LIMIT = 10_000_000
# XFER-11: name look-ups allowed per hour without a completed transfer.
TRANSFERS_LOOKUPS_PER_HOUR = 10
# XFER-12 (walk27 F3): a 被仕向 record of more than this many yen is not credited on upload
# but held (入金保留) until staff, having checked with the sending bank, release it
# (docs/interbank.md). The counter deposit's own cap is 1億円 a slip.
TRANSFERS_INCOMING_HOLD_ABOVE = int(env("DJANGO_TRANSFERS_INCOMING_HOLD_ABOVE", "10000000"))
# XFER-3: the interbank name-enquiry adapter (a documented simulator until the network).
TRANSFERS_INTERBANK_DIRECTORY = "transfers.directory.SimulatedInterbankDirectory"
# --- Read scale-out (operations; cosei_ib/replica.py, docs/operations.md) ----------------
# DATABASE_REPLICA_URL: a streaming standby of the primary, as the app's role. Only the
# statement page, its CSV and the operation history read from it (explicitly); a customer
# who wrote within REPLICA_PRIMARY_AFTER_WRITE_SECONDS reads those from the primary too.
if env("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        env("DATABASE_REPLICA_URL"), conn_max_age=60, conn_health_checks=True
    )
    # tests: the same database as default (the standby test points it at a real standby)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["cosei_ib.replica.PrimaryReplicaRouter"]
REPLICA_PRIMARY_AFTER_WRITE_SECONDS = int(env("DJANGO_REPLICA_PRIMARY_AFTER_WRITE_SECONDS", "30"))
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
    "cosei_ib.replica.LastWriteMiddleware",
)
# --- Scheduled transfers (transfers, issue 9) ---------------------------------------------
# XFER-5: a scheduled transfer's date may be at most this many days after today.
TRANSFERS_SCHEDULE_HORIZON_DAYS = 60
# --- Authentication backends (issue 14) ----------------------------------------------------
# ModelBackend first, as Django's default: it alone authenticates (staff in admin), and the
# sessions that name it keep working. CustomerSessionBackend only loads the user of a
# session that names it, with the customer in the same query (security/backends.py).
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "security.backends.CustomerSessionBackend",
]
