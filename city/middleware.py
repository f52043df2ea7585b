"""City's middleware: the request log and id, errors under /api/ in the contract, and
messages made only when used."""

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty
from rest_framework.response import Response

from city.errors import error_for_status
from city.request_log import RequestLog


class RequestLogMiddleware:
    """The first middleware: names the request, and logs one line when it is answered."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.log = RequestLog()

    def __call__(self, request):
        request_id, started = self.log.begin(request.META)
        response = self.get_response(request)
        for name, value in self.log.headers(request_id):
            response[name] = value
        self.log.end(
            method=request.method,
            path=request.path,
            status=response.status_code,
            started=started,
            user_id=_authenticated_user_id(request),
        )
        return response


def _authenticated_user_id(request) -> int | None:
    """The id of the user this request authenticated, without authenticating anyone here.

    A user nobody asked for (the lazy object of AuthenticationMiddleware, never evaluated)
    is left alone: evaluating it would cost a session lookup on requests that need none.
    """
    user = getattr(request, "user", None)
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    return user.pk if user.is_authenticated else None


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


class ApiErrorMiddleware:
    """Under /api/, every error answers in the JSON contract, whatever DEBUG says.

    With DEBUG on (`make run`), Django answers an unknown path with its HTML technical 404
    page and an unhandled exception with its HTML debug page; a view outside DRF may answer
    an error of its own (Django's LoginView: an empty 405). An API client gets the contract
    instead; the traceback of a 500 is still logged (the `django.request` logger). Left as
    they are: DRF's responses (already the contract, or the browsable API's page of an
    error, which is meant for a person), JSON answers, and every page outside /api/ (the
    admin, the dashboard keep Django's HTML error pages).

    Placed inside SecurityMiddleware, so the answer it makes gets the security headers.
    """

    KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path_info.startswith("/api/")
            or isinstance(response, Response)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        answer = error_for_status(request, response.status_code)
        for header in self.KEPT_HEADERS:
            if header in response:
                answer[header] = response[header]
        return answer
