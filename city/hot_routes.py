"""Hot routes: anonymous, read-only JSON GETs answered in front of Django's handler.

A few endpoints (the greeting) are called far more than the rest and need nothing of
Django's request handling: no database, session, user, CSRF or URL resolution. Like
WhiteNoise for static files, a WSGI layer in front of Django answers them: it adds what
the middleware would add (request id, security headers, the request log line), and
hands anything else to Django — other methods, a browser asking for HTML, `?format=`,
a host not allowed, plain HTTP when HTTPS is required. Django serves the same endpoint
through DRF for those, and the tests compare both answers byte for byte.

An app registers a handler for one of its URL names in its AppConfig.ready(); the handler
takes the query parameters and the request's headers (the WSGI environ, as Django's
request.META) and returns the JSON body, or raises a DRF ValidationError. Set
CITY_HOT_ROUTES=false to serve everything in Django.
"""

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import NamedTuple
from urllib.parse import parse_qsl

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import resolve, reverse
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer

from city.errors import SERVER_ERROR_MESSAGE, error_body, error_body_for
from city.logging import get_logger
from city.negotiation import COMMON_ACCEPTS, FORMAT_PARAMETER
from city.request_log import RequestLog

Handler = Callable[[Mapping[str, str], Mapping[str, str]], dict]  # (query, META) -> body

logger = get_logger(__name__)
_handlers: dict[str, tuple[Handler, str]] = {}  # URL name -> handler, Vary header


def register(url_name: str, handler: Handler, *, vary: tuple[str, ...] = ()) -> None:
    """Answer GETs of `url_name` with `handler`; `vary` names the request headers its
    answer depends on (Accept is added, as DRF adds it)."""
    _handlers[url_name] = handler, ", ".join([*vary, "Accept"])


class _Route(NamedTuple):
    handler: Handler
    vary: str
    allow: str


class HotRoutes:
    """WSGI middleware: the registered routes here, everything else to `django`."""

    def __init__(self, django):
        self.django = django
        self.log = RequestLog()
        self.json = JSONRenderer()
        self._routes: dict[str, _Route] | None = None  # by path, once the URLs are loaded
        self._security_headers = _security_headers()

    def __call__(self, environ, start_response):
        route = self._route(environ)
        if route is None:
            return self.django(environ, start_response)
        (handler, vary, allow), params = route
        request_id, started = self.log.begin(environ)
        status, body = _answer(handler, params, environ)
        content = self.json.render(body)
        start_response(
            f"{status} {status.phrase}",
            [
                ("Content-Type", self.json.media_type),
                ("Vary", vary),
                *self._security_headers,
                *_hsts(environ),
                ("Allow", allow),
                ("Content-Length", str(len(content))),
                *self.log.headers(request_id),
            ],
        )
        self.log.end(
            method="GET", path=environ["PATH_INFO"], status=status, started=started, user_id=None
        )
        return [content]

    def _route(self, environ) -> tuple[_Route, dict[str, str]] | None:
        """The route and the query parameters when this layer may answer, else None."""
        if self._routes is None:
            self._routes = {
                reverse(name): _Route(handler, vary, _allow(name))
                for name, (handler, vary) in _handlers.items()
            }
        route = self._routes.get(environ.get("PATH_INFO"))
        if (
            route is None
            or environ["REQUEST_METHOD"] != "GET"
            or environ.get("HTTP_ACCEPT", "*/*") not in COMMON_ACCEPTS
            or (settings.SECURE_SSL_REDIRECT and not _is_secure(environ))
            or not _host_allowed(environ)
        ):
            return None
        # Decoded as Django decodes request.GET (WSGI strings are latin-1, the bytes UTF-8).
        query = environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8", "replace")
        params = dict(parse_qsl(query, keep_blank_values=True))
        return None if FORMAT_PARAMETER in params else (route, params)


def _allow(url_name: str) -> str:
    """The Allow header DRF sends for the view behind `url_name`."""
    view = resolve(reverse(url_name)).func.cls()
    view.setup(None)  # as for a request: HEAD is answered as GET
    return ", ".join(view.allowed_methods)


def _answer(handler: Handler, params: dict[str, str], environ) -> tuple[HTTPStatus, dict]:
    try:
        return HTTPStatus.OK, handler(params, environ)
    except ValidationError as error:
        return HTTPStatus.BAD_REQUEST, error_body_for(error)
    except Exception:
        logger.exception("hot_route_failed", path=environ.get("PATH_INFO"))
        return HTTPStatus.INTERNAL_SERVER_ERROR, error_body("server_error", SERVER_ERROR_MESSAGE)


def _is_secure(environ) -> bool:
    """As HttpRequest.is_secure(): the proxy's header when one is trusted, else the scheme."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        if header in environ:
            return environ[header].split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def _host_allowed(environ) -> bool:
    """As HttpRequest.get_host() (without X-Forwarded-Host): Django answers 400 otherwise."""
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _security_headers() -> list[tuple[str, str]]:
    """What SecurityMiddleware and XFrameOptionsMiddleware add to every response."""
    headers = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        values = policy.split(",") if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(value.strip() for value in values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS.upper()))
    return headers


def _hsts(environ) -> list[tuple[str, str]]:
    if not (settings.SECURE_HSTS_SECONDS and _is_secure(environ)):
        return []
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return [("Strict-Transport-Security", value)]
