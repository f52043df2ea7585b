"""The running city at a glance: what the dashboard page and /api/city/status/ show.

Each panel is read from its own source. A source that is down turns its panel into
{"available": false, "reason": ...}; the other panels, and the page, are unaffected.
"""

import os
import time
from collections.abc import Callable
from dataclasses import asdict

from django.conf import settings
from django.utils import timezone

from apps.dashboard import sources
from apps.dashboard.rates import rates_over_last_minute
from city.logging import get_logger
from city.services import SERVICES
from city.tasks import outbox_backlog

logger = get_logger("apps.dashboard")


def city_status() -> dict:
    return {
        "generated_at": timezone.now(),
        "deployment": {
            "services": settings.CITY_SERVICES,
            "instance": sources.this_process(),
            "load_balancer": bool(settings.CITY_HAPROXY_STATS_URL),
        },
        "services": _panel("services", _services_panel),
        "queues": _panel("queues", lambda: asdict(sources.queues())),
        "documents": _panel("documents", _documents_panel),
        "outbox": _panel("outbox", _outbox_panel),
        "processes": _panel("processes", _processes_panel),
    }


def _panel(name: str, read: Callable[[], dict]) -> dict:
    try:
        return {"available": True, **read()}
    except sources.SourceUnavailable as error:
        reason = str(error)
    except Exception as error:  # whatever fails, the panel says so: the page never fails
        logger.exception("dashboard_panel_failed", panel=name)
        reason = f"Unexpected error: {type(error).__name__}: {error}"
    return {"available": False, "reason": reason}


def _services_panel() -> dict:
    traffic = sources.traffic()
    rates = rates_over_last_minute(
        _rates_key(traffic),
        traffic.totals,
        now=time.time(),
        counted_since=(traffic.counted_since, {}) if traffic.counted_since else None,
    )
    return {
        "source": traffic.source,
        "window_seconds": rates.window_seconds,
        "services": [
            {
                "name": name,
                "installed": name in settings.CITY_SERVICES,
                "replicas": [asdict(replica) for replica in traffic.replicas.get(name, [])],
                **_rate_fields(rates.per_service.get(name)),
            }
            for name in SERVICES
        ],
    }


def _rates_key(traffic: sources.TrafficReadings) -> str:
    """HAProxy's readings are shared by every process; a process's own are its own."""
    if traffic.source == "haproxy":
        return f"dashboard:rates:{settings.CITY_HAPROXY_STATS_URL}"
    return f"dashboard:rates:{sources.this_process()}:{os.getpid()}:{traffic.counted_since}"


def _rate_fields(rate) -> dict:
    if rate is None:
        return {"requests_per_second": None, "error_rate": None}
    return asdict(rate)


def _documents_panel() -> dict:
    counts = sources.document_counts()
    return {"counts": counts, "total": sum(counts.values())}


def _processes_panel() -> dict:
    """Where the split topology supervises the processes; elsewhere an orchestrator does."""
    if not settings.CITY_SUPERVISOR_STATUS:
        return {"supervised": False, "processes": []}
    found = sources.supervised_processes(settings.CITY_SUPERVISOR_STATUS)
    return {"supervised": True, "processes": [asdict(process) for process in found]}


def _outbox_panel() -> dict:
    """Events between services not yet handed to the broker (the relay sends them), sent
    and not yet run by a worker, and given up on (dead-lettered)."""
    backlog = outbox_backlog()
    age = backlog.oldest_pending_age_seconds
    return {
        "pending": backlog.pending,
        "oldest_seconds": None if age is None else int(age),
        "undelivered": backlog.undelivered,
        "dead_lettered": backlog.dead_lettered,
    }
