"""Test profile: fast hasher, in-memory mail, service hours off unless a test turns them on."""

import os

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

# Parallel test runs on one server (several developers or helpers) need their own test DB,
# and so does each pytest-xdist worker of one run (dev.py test runs two or more: gw0, gw1 …).
TEST_DATABASE_NAME = env("COSEI_TEST_DB_NAME", "test_cosei_ib") + (
    f"_{os.environ['PYTEST_XDIST_WORKER']}" if os.environ.get("PYTEST_XDIST_WORKER") else "")
DATABASES["default"]["TEST"] = {"NAME": TEST_DATABASE_NAME}  # noqa: F405
# Tests run as the app's role (LEDGER-7). The owner creates and migrates the test database
# (tests/conftest.py) and empties it between transactional tests (cosei_ib.testing's
# flush): TRUNCATE, which the ledger refuses unless this connection setting says it is a
# test database.
if "owner" in DATABASES:  # noqa: F405
    DATABASES["owner"]["TEST"] = {"NAME": TEST_DATABASE_NAME}  # noqa: F405
    DATABASES["owner"].setdefault("OPTIONS", {})["options"] = "-c cosei.ledger_allow_truncate=on"  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "cosei_ib.testing"]  # noqa: F405
