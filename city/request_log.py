"""Naming each request (the request id) and logging one JSON line when it is answered.

Shared by the middleware (requests Django handles) and the hot routes (answered before
Django), so both log the same fields and send the same headers.
"""

import time

import structlog
from django.conf import settings

from city import request_counts
from city.logging import get_logger
from city.request_id import HEADER, META_KEY, request_id_from

logger = get_logger("city.request")
INSTANCE_HEADER = "X-City-Instance"


class RequestLog:
    def __init__(self):
        self.service = "+".join(settings.CITY_SERVICES)
        self.instance = settings.CITY_INSTANCE or None
        # Behind HAProxy the dashboard reads its counts: this process need not count.
        self.counting = not settings.CITY_HAPROXY_STATS_URL

    def begin(self, meta: dict) -> tuple[str, float]:
        """Bind the request id (from `meta`, the WSGI environ) to the logging context."""
        request_id = request_id_from(meta.get(META_KEY))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        return request_id, time.perf_counter()

    def headers(self, request_id: str) -> list[tuple[str, str]]:
        named = [(HEADER, request_id)]
        return [*named, (INSTANCE_HEADER, self.instance)] if self.instance else named

    def end(self, *, method: str, path: str, status: int, started: float, user_id: int | None):
        if self.counting:
            request_counts.count(path, status)
        logger.info(
            "request",
            method=method,
            path=path,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            user_id=user_id,
            service=self.service,
            instance=self.instance,
        )
