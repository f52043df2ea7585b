"""City's middleware: the request log and id, and messages made only when used."""

import time

import structlog
from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty

from city.logging import get_logger
from city.request_id import HEADER, META_KEY, request_id_from

logger = get_logger("city.request")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.service = "+".join(settings.CITY_SERVICES)
        self.instance = settings.CITY_INSTANCE

    def __call__(self, request):
        started = time.perf_counter()
        request_id = request_id_from(request.META.get(META_KEY))
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


class LazyMessageMiddleware(MessageMiddleware):
    """Django's messages middleware, with the storage made only when something uses it.

    The admin uses messages; API requests never do, yet the stock middleware builds a
    cookie-and-session storage for each of them.
    """

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response  # never used: nothing to store
        return super().process_response(request, response)
