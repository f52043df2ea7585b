"""The first middleware: names the request, and logs one JSON line when it is answered."""

import time

import structlog
from django.conf import settings

from city.request_id import HEADER, request_id_from

logger = structlog.get_logger("city.request")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.service = "+".join(settings.CITY_SERVICES)
        self.instance = settings.CITY_INSTANCE

    def __call__(self, request):
        started = time.perf_counter()
        request_id = request_id_from(request.headers.get(HEADER))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        if self.instance:
            response["X-City-Instance"] = self.instance
        logger.info(
            "request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            user_id=_user_id(request),
            service=self.service,
            instance=self.instance or None,
        )
        return response


def _user_id(request) -> int | None:
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None
