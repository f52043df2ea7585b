"""Greetings counted per language without touching the database on the hot path.

With CITY_REDIS_URL set, every replica increments one Redis hash (one round trip); if
Redis fails the greeting is still served and counting pauses briefly. Without it, each
process counts for itself, which is right for the one-process embedded deployment.
"""

import functools
import threading
import time
from collections import Counter

import redis
from django.conf import settings

from city.errors import Unavailable
from city.logging import get_logger

logger = get_logger(__name__)

REDIS_KEY = "city:greeter:greetings_by_language"
PAUSE_AFTER_FAILURE_SECONDS = 5.0


class ProcessCounter:
    scope = "process"

    def __init__(self):
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def increment(self, language: str) -> None:
        with self._lock:
            self._counts[language] += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class RedisCounter:
    scope = "shared"

    def __init__(self, url: str):
        self._client = redis.Redis.from_url(url, socket_connect_timeout=0.2, socket_timeout=0.2)
        self._paused_until = 0.0

    def increment(self, language: str) -> None:
        if time.monotonic() < self._paused_until:
            return
        try:
            self._client.hincrby(REDIS_KEY, language, 1)
        except redis.RedisError as error:
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS
            logger.warning("greeting_count_paused", error=str(error))

    def counts(self) -> dict[str, int]:
        try:
            raw = self._client.hgetall(REDIS_KEY)
        except redis.RedisError as error:
            raise Unavailable(
                f"Greeting counts are unavailable: their Redis does not answer ({error})."
            ) from error
        return {key.decode(): int(value) for key, value in raw.items()}


def greeting_counter() -> ProcessCounter | RedisCounter:
    return _counter_for(settings.CITY_REDIS_URL)


@functools.cache
def _counter_for(redis_url: str) -> ProcessCounter | RedisCounter:
    """One counter per process and URL, so connections are reused."""
    return RedisCounter(redis_url) if redis_url else ProcessCounter()
