"""Production: safe by default. SECRET_KEY and ALLOWED_HOSTS must be given, DEBUG must be off, no host is a
platform host unless named, and cookies and transport are secure."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403

if DEBUG:  # noqa: F405
    raise ImproperlyConfigured(
        "DEBUG is on with production settings: a debug page shows settings and code to anyone. "
        "Unset DEBUG (or set DEBUG=false)."
    )

# The Domain table still decides which tenant a host is; ALLOWED_HOSTS is the deployment's own statement of
# the host names it answers for (".example.gov.uk" for every subdomain, "*" to leave it to the Domain table).
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=None)  # noqa: F405
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "Set the ALLOWED_HOSTS environment variable: the host names this deployment answers for, "
        "comma-separated (e.g. bookings.example.gov.uk,.example.gov.uk)."
    )
# Calendar passwords must survive a change of SECRET_KEY, so their keys are the deployment's own.
CALENDAR_SECRET_KEYS = env.list("CALENDAR_SECRET_KEYS", default=[])  # noqa: F405
if not CALENDAR_SECRET_KEYS:
    raise ImproperlyConfigured(
        "Set CALENDAR_SECRET_KEYS: one or more Fernet keys, newest first, comma-separated (make one with "
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
    )
# The platform admin (tenants and domains) answers on no host unless the operator names one.
PLATFORM_HOSTS = env.list("PLATFORM_HOSTS", default=[])  # noqa: F405

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)  # noqa: F405
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)  # noqa: F405
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)  # noqa: F405
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Preloading HSTS is a one-way commitment for a host name and its subdomains: an operator's choice per
# deployment (SECURE_HSTS_PRELOAD=true), not a default, so its reminder is silenced.
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, *([] if SECURE_HSTS_PRELOAD else ["security.W021"])]  # noqa: F405
