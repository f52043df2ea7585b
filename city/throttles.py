"""DRF's throttles for anonymous clients, telling clients apart by the address that
`city.client_address.client_address` finds: X-Forwarded-For is read only past the proxies named in
CITY_TRUSTED_PROXIES. DRF's own identity takes the header from whoever sent it, so a
client could give itself a fresh count on every request by writing a new address there.
"""

from rest_framework import throttling

from city.client_address import client_address


class _ByClientAddress:
    def get_ident(self, request) -> str:
        return client_address(request) or super().get_ident(request)


class AnonRateThrottle(_ByClientAddress, throttling.AnonRateThrottle):
    pass


class ScopedRateThrottle(_ByClientAddress, throttling.ScopedRateThrottle):
    pass


class LoginRateThrottle(throttling.SimpleRateThrottle):
    """Token requests per client address, whoever the request claims to be, successes
    included: each one costs a password hash, so a flood of them is bounded here, while
    axes counts failures per username and per address across replicas."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}
