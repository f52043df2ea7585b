"""City's own system checks (`manage.py check`), registered by city.apps.CityConfig."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from city.services import SERVICES

# Caches that every process of a deployment sees; any other is one per process.
SHARED_CACHE_BACKENDS = (
    "django.core.cache.backends.redis.RedisCache",
    "django.core.cache.backends.memcached.PyMemcacheCache",
    "django.core.cache.backends.memcached.PyLibMCCache",
    "django.core.cache.backends.db.DatabaseCache",
    "django_redis.cache.RedisCache",
)


@register(Tags.caches, deploy=True)
def throttles_share_a_cache(app_configs, **kwargs):
    """The API's throttles count in the default cache: a per-process one multiplies each
    limit by the number of processes serving (gunicorn workers times replicas)."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend in SHARED_CACHE_BACKENDS:
        return []
    anon = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get("anon")
    return [
        Warning(
            f"The default cache ({backend}) is per process, so the API's throttles count "
            f"separately in every gunicorn worker and replica: the anonymous limit ({anon}) "
            "holds in each of them, not across them.",
            hint="Set CACHE_URL to a cache every process shares, e.g. redis://redis:6379/3.",
            id="city.W001",
        )
    ]


@register(Tags.security)
def split_deployments_have_a_service_key(app_configs, **kwargs):
    """A deployment without every service calls the others with a service credential
    (city/service_credentials.py), which it cannot sign, nor its peers verify, without the
    key they share."""
    missing = sorted(set(SERVICES) - set(settings.CITY_SERVICES))
    if not missing or settings.CITY_SERVICE_KEY:
        return []
    return [
        Error(
            f"CITY_SERVICE_KEY is not set, and this deployment lacks {', '.join(missing)}: "
            "its calls to them would be refused, and so would theirs to it.",
            hint="Set CITY_SERVICE_KEY to the same secret in every deployment of this City, "
            "e.g. to the output of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`.",
            id="city.E001",
        )
    ]
