"""Anonymous throttles count per client address, which a client cannot choose by writing
X-Forwarded-For: the header is read only past the proxies in CITY_TRUSTED_PROXIES."""

import pytest
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from tests.contract import error_of

COUNTS = "/api/greeter/greetings/counts/"  # anonymous, throttled by the default throttle


@pytest.fixture(autouse=True)
def two_a_minute(monkeypatch):
    # DRF's throttles read their rates once, into this dict, when they are imported.
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/minute")
    cache.clear()
    yield
    cache.clear()


def statuses(api, forwarded_for: list[str]) -> list[int]:
    return [api.get(COUNTS, HTTP_X_FORWARDED_FOR=hop).status_code for hop in forwarded_for]


def test_a_client_cannot_take_a_fresh_count_by_naming_another_address(api, settings):
    settings.CITY_TRUSTED_PROXIES = []
    assert statuses(api, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) == [200, 200, 429]
    response = api.get(COUNTS, HTTP_X_FORWARDED_FOR="10.0.0.4")
    assert error_of(response)["code"] == "throttled"
    assert "Retry-After" in response


def test_behind_a_trusted_proxy_each_client_has_a_count_of_its_own(api, settings):
    settings.CITY_TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's address: the proxy
    assert statuses(api, ["10.0.0.1", "10.0.0.1", "10.0.0.1"]) == [200, 200, 429]
    assert statuses(api, ["10.0.0.2"]) == [200]
    # What the client wrote before the proxy's own entry is not who it is.
    assert statuses(api, ["203.0.113.9, 10.0.0.1"]) == [429]
