"""A limit is a guard, not the service: while the Redis the throttles count in is stopped
or stalled, throttled requests are answered, uncounted, within the cache's timeout —
never a 500, never a hang."""

import os
import signal

import httpx
import pytest

from deploy import processes
from tests import servers

ENDPOINT = "/api/greeter/greetings/counts/"  # anonymous, throttled by the anonymous rate
RATE = 3


@pytest.fixture
def cache_redis(tmp_path):
    """A Redis of the test's own for the cache, and its process (to stop or stall it)."""
    port = processes.free_port()
    command = processes.redis_server_command(
        port, tmp_path, program=servers.require_program("redis-server")
    )
    with processes.running(
        command,
        env=dict(os.environ),
        log=tmp_path / "redis.log",
        ready=lambda: processes.redis_pings(port),
    ) as redis:
        yield f"redis://127.0.0.1:{port}/3", redis
        if redis.poll() is None:
            os.kill(redis.pid, signal.SIGCONT)  # a stalled one must still be stoppable


@pytest.fixture
def greeter(tmp_path, cache_redis):
    cache_url, _ = cache_redis
    env = servers.production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",  # the endpoint reads none
        CITY_REDIS_URL="",
        CACHE_URL=cache_url,
        THROTTLE_ANON=f"{RATE}/minute",
    )
    with servers.gunicorn("city.settings.greeter", env=env, log=tmp_path / "greeter.log") as url:
        yield url


def statuses(url: str, count: int) -> list[int]:
    with httpx.Client(timeout=10) as client:  # far above the cache's timeout; a hang fails
        return [client.get(f"{url}{ENDPOINT}").status_code for _ in range(count)]


def test_the_limit_holds_while_its_redis_answers(greeter):
    assert statuses(greeter, RATE + 2) == [200] * RATE + [429] * 2


def test_a_stopped_redis_lets_throttled_requests_through(greeter, cache_redis):
    _, redis = cache_redis
    processes.stop(redis)
    assert statuses(greeter, RATE + 2) == [200] * (RATE + 2)


def test_a_stalled_redis_lets_throttled_requests_through(greeter, cache_redis):
    _, redis = cache_redis
    os.kill(redis.pid, signal.SIGSTOP)
    assert statuses(greeter, RATE + 2) == [200] * (RATE + 2)
