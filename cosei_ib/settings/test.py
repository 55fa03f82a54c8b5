"""Test profile: fast hasher, in-memory mail, service hours off unless a test turns them on."""

from .base import *  # noqa: F401,F403
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", "test-only-key")
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SERVICE_HOURS_ENFORCED = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
NOTIFICATIONS_SMIME_SELF_SIGNED = True  # notifications: a throw-away signing pair
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Parallel test runs on one server (several developers or helpers) need their own test DB.
DATABASES["default"]["TEST"] = {"NAME": env("COSEI_TEST_DB_NAME", "test_cosei_ib")}  # noqa: F405
# Django empties tables between transactional tests with TRUNCATE, which the ledger
# refuses (append-only) unless this connection setting says it is a test database.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c cosei.ledger_allow_truncate=on"  # noqa: F405
