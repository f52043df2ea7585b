"""City's middleware: the request log and id, and messages made only when used."""

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty

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
