"""Production: everything from the environment; no secret has a default."""

from django.core.exceptions import ImproperlyConfigured

from .base import *

DEBUG = False
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Production settings have no default secret: set SECRET_KEY "
        "in the environment, e.g. to the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )


def require_service_key() -> None:
    """For a service deployed alone (city.settings.<service>): it calls the others, and
    they call it, with credentials signed with CITY_SERVICE_KEY (city/service_credentials.py).
    A deployment of some services given by CITY_SERVICES is caught by `manage.py check`."""
    if not CITY_SERVICE_KEY:
        raise ImproperlyConfigured(
            "CITY_SERVICE_KEY is not set. A service deployed alone calls the other services, "
            "and is called by them, with credentials signed with it: set it to the same "
            "secret in every deployment of this City, e.g. to the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )


# Static files are collected at build time (collectstatic), compressed and hashed.
STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"
STATIC_ROOT = STATIC_ROOT or str(BASE_DIR / "staticfiles")
WHITENOISE_USE_FINDERS = False

# TLS ends in front of the services (at the load balancer), which says so in this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes speak plain HTTP
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
