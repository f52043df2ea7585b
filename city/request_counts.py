"""Requests this process has answered, per service, counted since it started.

The dashboard's source for a deployment with no load balancer in front (the combined
one): HAProxy counts requests per service at the edge, a lone process counts its own.
"""

import os
import threading
import time
from dataclasses import dataclass

from city.services import SERVICES

PLATFORM = "platform"  # pages every deployment serves: the dashboard, admin, docs, probes
STARTED_AT = time.time()


@dataclass(frozen=True)
class Totals:
    requests: int = 0
    errors: int = 0  # answered 5xx: the server failed, not the client

    def __add__(self, other: "Totals") -> "Totals":
        return Totals(self.requests + other.requests, self.errors + other.errors)


_lock = threading.Lock()  # gthread workers answer from several threads
_counts: dict[str, list[int]] = {}  # service: [requests, errors]; updated in place, cheaply


def service_of(path: str) -> str:
    """The service that answers `path`: /api/<service>/..., else the platform."""
    parts = path.split("/", 3)  # "", "api", "<service>", the rest
    if len(parts) > 3 and parts[1] == "api" and parts[2] in SERVICES:
        return parts[2]
    return PLATFORM


def count(path: str, status: int) -> None:
    service = service_of(path)
    if service == PLATFORM:  # probes, the dashboard's own polls: nobody reads these counts
        return
    with _lock:
        counts = _counts.setdefault(service, [0, 0])
        counts[0] += 1
        counts[1] += status >= 500


def snapshot() -> dict[str, Totals]:
    with _lock:
        return {service: Totals(*counts) for service, counts in _counts.items()}


def _start_counting() -> None:
    """In a process of its own, counts start from zero: gunicorn loads Django in its master
    and forks each worker (a worker replaced later too) with the master's memory."""
    global STARTED_AT, _lock
    STARTED_AT = time.time()
    _lock = threading.Lock()
    _counts.clear()


os.register_at_fork(after_in_child=_start_counting)
