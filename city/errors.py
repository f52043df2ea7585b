"""The error contract: every error is `{"error": {"code", "message", "details"}}`.

DRF's exceptions, Django's 400/403/404/500 handlers and the CSRF failure view all answer
in this shape. Services raise the `CityError` subclasses below for domain failures.
"""

from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler


class CityError(exceptions.APIException):
    """A domain failure with a status, a stable code, a message for people and details."""

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        super().__init__(detail=message)
        self.details = details or {}


class Conflict(CityError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class IllegalStateChange(CityError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "illegal_state_change"
    default_detail = "That change is not allowed in the current state."


class PayloadTooLarge(CityError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is too large."


class Unavailable(CityError):
    """Something the answer needs (a store, a broker) does not answer; worth a retry later."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"
    default_detail = "A resource this request needs is unavailable; try again shortly."


class UnsupportedMediaType(CityError):
    """Content of a type the service does not take (decided from the bytes, not the name)."""

    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "unsupported_media_type"
    default_detail = "That type of content is not accepted."


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: e.g. invalid, not_found.")
    message = serializers.CharField(help_text="For people: what went wrong and what to do.")
    details = serializers.DictField(help_text="Per field problems, or facts about the error.")


class ErrorSerializer(serializers.Serializer):
    """The body of every error response (for the API schema)."""

    error = ErrorDetailSerializer()


def error_body(code: str, message: str, details: Any = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def api_exception_handler(exc, context):
    """DRF's handler (statuses, headers such as Retry-After) with our body."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):  # a form body over DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = body_too_large()
    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's handler500 answers
    response.data = error_body_for(exc)
    return response


def error_body_for(exc: exceptions.APIException) -> dict:
    return error_body(*_code_message_details(exc))


def _code_message_details(exc: exceptions.APIException) -> tuple[str, str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid", _first_problem(exc.detail), exc.detail
    if isinstance(exc, CityError):
        return exc.default_code, str(exc.detail), exc.details
    if isinstance(exc, exceptions.Throttled):
        return "throttled", str(exc.detail), {"retry_after": exc.wait}
    code = getattr(exc.detail, "code", None) or exc.default_code
    return code, str(exc.detail), {}


def _first_problem(detail, path: str = "") -> str:
    """The first validation message, prefixed with where it is: 'email: Enter a valid…'."""
    if isinstance(detail, dict) and detail:
        field, inner = next(iter(detail.items()))
        prefix = "" if field == "non_field_errors" else f"{path}{field}"
        return _first_problem(inner, f"{prefix}." if prefix else "")
    if isinstance(detail, list) and detail:
        return _first_problem(detail[0], path)
    where = path.rstrip(".")
    return f"{where}: {detail}" if where else str(detail)


def _json_error(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


def body_too_large() -> PayloadTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return PayloadTooLarge(
        f"The request body is larger than {limit} bytes, the most accepted.",
        details={"max_bytes": limit},
    )


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):  # Django's SuspiciousOperation: a 413 here
        return JsonResponse(error_body_for(body_too_large()), status=413)
    return _json_error(400, "bad_request", "The request could not be understood.")


def permission_denied(request, exception=None):
    return _json_error(403, "permission_denied", "You may not do that.")


def not_found(request, exception=None):
    return _json_error(404, "not_found", f"Nothing is at {request.path}.")


SERVER_ERROR_MESSAGE = "Something went wrong on our side; it is logged."


def server_error(request):
    return _json_error(500, "server_error", SERVER_ERROR_MESSAGE)


def csrf_failure(request, reason=""):
    return _json_error(403, "csrf_failed", f"CSRF verification failed: {reason}")


def error_for_status(request, status_code: int) -> JsonResponse:
    """The contract's answer in place of another error answer of `status_code` (an HTML
    page of Django's, an empty 405): see city.middleware.ApiErrorMiddleware."""
    if handler := _HANDLERS.get(status_code):
        return handler(request)
    if status_code == 405:
        return _json_error(405, "method_not_allowed", f'Method "{request.method}" not allowed.')
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "Error"
    return _json_error(status_code, phrase.lower().replace(" ", "_"), f"{phrase}.")


_HANDLERS = {400: bad_request, 403: permission_denied, 404: not_found, 500: server_error}
