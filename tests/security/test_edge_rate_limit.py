"""The edge's rate limit: HAProxy (City's rendered configuration) counts a client's
anonymous requests and refuses those past CITY_EDGE_RATE_PER_10S with 429 in City's error
format, before they reach a service; another client is not affected."""

import httpx
import pytest

from deploy.haproxy.render import Replica
from tests import servers
from tests.contract import error_of

RATE = 5  # per 10 s: the test's own, low enough to reach in a few requests
GREET = "/api/greeter/greet?name=Ada&lang=fr"
COUNTS = "/api/greeter/greetings/counts/"


@pytest.fixture
def edge(tmp_path, monkeypatch):
    """One greeter replica (gunicorn, production settings) behind HAProxy on 127.0.0.1,
    whose environment sets the rate."""
    env = servers.production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",  # the greeting reads none
        CITY_REDIS_URL="",  # the greeting counter in the process: one worker, exact counts
    )
    with servers.gunicorn("city.settings.greeter", env=env, log=tmp_path / "greeter.log") as url:
        replica = Replica("greeter-1", url.removeprefix("http://"))
        monkeypatch.setenv("CITY_EDGE_RATE_PER_10S", str(RATE))  # HAProxy's environment
        with servers.haproxy(tmp_path, greeter=[replica]) as front:
            yield front


def client_at(address: str, base_url: str) -> httpx.Client:
    """A client whose connections come from `address` (any of 127.0.0.0/8 on Linux)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base_url, transport=transport, timeout=10)


def greetings_served(client: httpx.Client) -> int:
    return sum(client.get(COUNTS).json()["greetings_by_language"].values())


def test_greetings_past_the_edge_rate_are_429_in_the_contract_and_never_reach_the_service(edge):
    with client_at("127.0.0.2", edge.url) as hostile, client_at("127.0.0.3", edge.url) as other:
        answers = [hostile.get(GREET) for _ in range(RATE)]
        assert [a.status_code for a in answers] == [200] * RATE

        refused = hostile.get(GREET)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/json"
        assert refused.headers["retry-after"] == "10"
        error = error_of(refused)
        assert error["code"] == "throttled"
        assert error["details"] == {"retry_after": 10, "limit": RATE, "period_seconds": 10}
        # Credentials do not open the greeting, which ignores them.
        with_token = hostile.get(GREET, headers={"Authorization": "Token made-up"})
        assert with_token.status_code == 429
        # Other anonymous endpoints are limited too.
        assert hostile.get(COUNTS).status_code == 429

        # Another client is served, and sees that only the first RATE greetings were.
        assert other.get(GREET).status_code == 200
        assert greetings_served(other) == RATE + 1


def test_requests_with_credentials_are_not_counted_at_the_edge(edge):
    """A signed-in client's requests are the services' to limit, per user (and calls between
    services come through the edge from one address, with their caller's credentials)."""
    with client_at("127.0.0.4", edge.url) as client:
        me = "/api/greeter/newcomers/me/"
        answers = [
            client.get(me, headers={"Authorization": "Bearer not-city-s-scheme"})
            for _ in range(RATE * 2)
        ]
        # Each reached the service, which refused them itself.
        assert [a.status_code for a in answers] == [401] * (RATE * 2)
        assert error_of(answers[-1])["code"] == "not_authenticated"
