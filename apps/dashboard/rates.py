"""Requests per second and error rate over the last minute, from running totals.

HAProxy and this process count requests since they started. Each time the dashboard
asks, the totals are kept as a reading; a rate is the difference between now and the
oldest reading of the last minute. Readings are kept in the "dashboard" cache: with a
shared one (DASHBOARD_CACHE_URL), every replica serving the dashboard shares HAProxy's.
Where that cache is down, rates wait for it: the readings are a convenience, not a source.
"""

from dataclasses import dataclass

from django.core.cache import caches

from city.logging import get_logger
from city.request_counts import Totals

logger = get_logger(__name__)

WINDOW_SECONDS = 60
READING_EVERY_SECONDS = 1  # a reading a second at most, however many people are looking

Reading = tuple[float, dict[str, Totals]]  # (when, totals per service)


@dataclass(frozen=True)
class Rate:
    requests_per_second: float
    error_rate: float | None  # the share of requests answered 5xx; None without requests


@dataclass(frozen=True)
class Rates:
    window_seconds: float | None  # what the rates are over; None before a second reading
    per_service: dict[str, Rate]


def rates_over_last_minute(
    key: str, totals: dict[str, Totals], *, now: float, counted_since: Reading | None = None
) -> Rates:
    """Rates from the readings kept under `key` to `totals`, read at `now`.

    `counted_since` is a reading known without asking (zeros when this process started),
    the base until there is a reading of its own: the first answer is over the process's
    life, the next ones over the last minute (the seconds since the first, up to 60)."""
    readings = _within_window(
        [
            reading
            for reading in _stored(key)
            if not _counted_backwards(reading[1], totals)  # HAProxy or the process restarted
        ],
        now,
    )
    if not readings or now - readings[-1][0] >= READING_EVERY_SECONDS:
        _store(key, [*readings, (now, totals)])
    if not readings and counted_since:
        readings = [counted_since]
    if not readings or now <= readings[0][0]:
        return Rates(window_seconds=None, per_service={})
    then, before = readings[0]
    elapsed = now - then
    return Rates(
        window_seconds=round(elapsed, 1),
        per_service={
            name: _rate(before.get(name, Totals()), current, elapsed)
            for name, current in totals.items()
        },
    )


def _stored(key: str) -> list[Reading]:
    try:
        return caches["dashboard"].get(key, [])
    except Exception as error:  # any cache backend's failure: rates wait for it
        logger.warning("dashboard_readings_unavailable", error=str(error))
        return []


def _store(key: str, readings: list[Reading]) -> None:
    try:
        caches["dashboard"].set(key, readings, timeout=2 * WINDOW_SECONDS)
    except Exception as error:
        logger.warning("dashboard_readings_unavailable", error=str(error))


def _within_window(readings: list[Reading], now: float) -> list[Reading]:
    """The newest reading at least a minute old (the base of the rates) and every later one."""
    readings = sorted(readings, key=lambda reading: reading[0])
    old = [index for index, (when, _) in enumerate(readings) if when <= now - WINDOW_SECONDS]
    return readings[old[-1] :] if old else readings


def _counted_backwards(before: dict[str, Totals], now: dict[str, Totals]) -> bool:
    return any(
        now.get(name, Totals()).requests < totals.requests for name, totals in before.items()
    )


def _rate(before: Totals, now: Totals, elapsed: float) -> Rate:
    requests = now.requests - before.requests
    errors = now.errors - before.errors
    return Rate(
        requests_per_second=round(requests / elapsed, 2),
        error_rate=round(errors / requests, 4) if requests else None,
    )
