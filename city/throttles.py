"""DRF's throttles for anonymous clients, telling clients apart by the address that
`city.client_address.client_address` finds: X-Forwarded-For is read only past the proxies named in
CITY_TRUSTED_PROXIES. DRF's own identity takes the header from whoever sent it, so a
client could give itself a fresh count on every request by writing a new address there.

The counts live in the default cache, Redis wherever several processes serve. A limit
is a guard, not the service: when that Redis does not answer (stopped, stalled: each call
gives up after the cache's socket timeout, CACHES in city/settings/base.py), a request is
let through uncounted rather than failed, and the cache is left alone for a few seconds so
requests meanwhile do not each wait the timeout.
"""

import time

import redis
from rest_framework import throttling

from city.client_address import client_address
from city.logging import get_logger

logger = get_logger(__name__)

PAUSE_AFTER_CACHE_FAILURE_SECONDS = 5.0


class FailOpen:
    """A throttle that lets requests through, uncounted, while its cache is down."""

    _paused_until = 0.0  # per process: every throttle shares the one cache

    def allow_request(self, request, view) -> bool:
        if time.monotonic() < FailOpen._paused_until:
            return True
        try:
            return super().allow_request(request, view)
        except redis.RedisError as error:
            FailOpen._paused_until = time.monotonic() + PAUSE_AFTER_CACHE_FAILURE_SECONDS
            logger.warning("throttle_cache_unavailable", error=str(error))
            return True


class _ByClientAddress:
    def get_ident(self, request) -> str:
        return client_address(request) or super().get_ident(request)


class AnonRateThrottle(FailOpen, _ByClientAddress, throttling.AnonRateThrottle):
    pass


class ScopedRateThrottle(FailOpen, _ByClientAddress, throttling.ScopedRateThrottle):
    pass


class LoginRateThrottle(FailOpen, throttling.SimpleRateThrottle):
    """Token requests per client address, whoever the request claims to be, successes
    included: each one costs a password hash, so a flood of them is bounded here, while
    axes counts failures per username and per address across replicas."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}
