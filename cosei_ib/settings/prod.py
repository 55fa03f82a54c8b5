"""Production profile: no secret default, HTTPS only, service hours always enforced."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import env, env_list

SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production.")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set in production.")

DEBUG = False
SERVICE_HOURS_ENFORCED = True
PAYEASY_SIMULATOR_PAGES = False  # the biller simulator's demo pages are for demos only

SECURE_SSL_REDIRECT = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# SEC-13: the one reverse proxy (TLS termination) appends the client address to
# X-Forwarded-For; the audit log takes that entry (security.audit.client_ip).
SECURITY_TRUSTED_PROXY_COUNT = int(env("DJANGO_SECURITY_TRUSTED_PROXY_COUNT", "1"))
SECURE_HSTS_SECONDS = 63072000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")

# SEC-16: the passkeys' relying party is the public host, over HTTPS only.
WEBAUTHN_RP_ID = env("DJANGO_WEBAUTHN_RP_ID", ALLOWED_HOSTS[0])
WEBAUTHN_ORIGINS = env_list("DJANGO_WEBAUTHN_ORIGINS", [f"https://{WEBAUTHN_RP_ID}"])
# The mail server: DJANGO_EMAIL_HOST/PORT/USE_TLS (base.py; TLS by default — the bank's
# relay). docker-compose.yml points them at Mailpit without TLS.
# Rotating the secret key (docs/operations.md): the new key in DJANGO_SECRET_KEY, the old
# one here until every session signed with it has expired (SESSION_ABSOLUTE_SECONDS).
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])
