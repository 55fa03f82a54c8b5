"""Development profile: safe defaults so that `python3 dev.py run` works out of the box."""

from .base import *  # noqa: F401,F403
from .base import env, env_bool, env_list

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env("DJANGO_SECRET_KEY", "dev-only-insecure-key-not-for-production")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# Development switch for LEDGER-6: DJANGO_SERVICE_HOURS_ENFORCED=0 lets you try the app
# at night. Documented in README.md.
SERVICE_HOURS_ENFORCED = env_bool("DJANGO_SERVICE_HOURS_ENFORCED", True)
# notifications: one signed .eml file per message under NOTIFICATIONS_EML_DIR; dev S/MIME pair
EMAIL_BACKEND = "notifications.backends.EmlFileBackend"
NOTIFICATIONS_SMIME_SELF_SIGNED = True
# `dev.py run` serves with runserver, one thread per request: a persistent connection per
# thread outlives its thread until garbage-collected, and a step-up page's 16 card images at
# once ran the embedded PostgreSQL out of connection slots (walk30 F5: two 500s). Django's
# advice for the development server: no persistent connections. (Production: gunicorn
# workers keep theirs, base.py.)
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
