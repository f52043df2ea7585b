"""The hot routes answer exactly as Django would, and leave everything else to Django."""

import io
from urllib.parse import quote
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.handlers.wsgi import WSGIHandler

from city.hot_routes import HotRoutes

GREET = "/api/greeter/greet"


class Served:
    def __init__(self, app, environ):
        self.status, self.headers = None, None
        self.body = b"".join(app(environ, self._start_response))

    def _start_response(self, status, headers, exc_info=None):
        self.status, self.headers = status, dict(headers)


def hot_in_front_of_django():
    """The hot routes in front of a Django handler that counts what reaches it.

    Both read the settings when they are made, as at a server's start.
    """
    django = WSGIHandler()
    reached = []

    def counting_django(environ, start_response):
        reached.append(environ["PATH_INFO"])
        return django(environ, start_response)

    return HotRoutes(counting_django), django, reached


@pytest.fixture
def apps():
    return hot_in_front_of_django()


def environ(query: str = "", **headers) -> dict:
    env = {
        "PATH_INFO": GREET,
        "QUERY_STRING": query,
        "HTTP_HOST": "localhost",
        "HTTP_X_REQUEST_ID": "req-hot",
        "wsgi.input": io.BytesIO(),
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    setup_testing_defaults(env)
    return env


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("name=Ada&lang=fr", {}),
        ("name=Ada", {"ACCEPT_LANGUAGE": "ja, en;q=0.5"}),
        ("name=Ada", {"ACCEPT": "application/json"}),
        (f"name={quote('Zoë こんにちは')}&lang=de", {"ACCEPT": "*/*"}),
        ("name=Ad%FFa&lang=en", {}),  # not UTF-8: replaced, as Django does
        ("name=", {}),
        ("name=" + "x" * 101, {}),
        ("name=Ada&lang=xx", {}),
        (f"name=Ada&lang={quote(chr(0x2028))}", {}),
        ("name=Ada&name=Bob&lang=it", {}),  # the last value wins, as in request.GET
    ],
)
def test_hot_route_answers_with_the_bytes_and_headers_django_sends(apps, query, headers):
    hot, django, reached = apps
    fast = Served(hot, environ(query, **headers))
    slow = Served(django, environ(query, **headers))
    assert reached == []  # answered in front of Django
    assert (fast.status, fast.headers, fast.body) == (slow.status, slow.headers, slow.body)


def test_hot_route_over_https_adds_hsts_like_the_security_middleware(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_PRELOAD = True
    hot, django, reached = hot_in_front_of_django()
    request = {"X_FORWARDED_PROTO": "https"}
    fast = Served(hot, environ("name=Ada", **request))
    slow = Served(django, environ("name=Ada", **request))
    assert reached == []
    assert fast.headers["Strict-Transport-Security"] == "max-age=3600; preload"
    assert (fast.status, fast.headers, fast.body) == (slow.status, slow.headers, slow.body)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"HTTP_ACCEPT": "text/html"}, "a browser gets the browsable API"),
        ({"QUERY_STRING": "name=Ada&format=api"}, "?format= is DRF's"),
        ({"REQUEST_METHOD": "HEAD"}, "only GET is hot"),
        ({"REQUEST_METHOD": "POST"}, "405 comes from DRF"),
        ({"HTTP_HOST": "evil.example"}, "Django refuses the host with 400"),
        ({"PATH_INFO": "/api/greeter/greetings/counts/"}, "not a hot route"),
    ],
)
def test_everything_else_goes_to_django(apps, change, why):
    hot, _django, reached = apps
    request = {**environ("name=Ada"), **change}
    Served(hot, request)
    assert reached == [request["PATH_INFO"]], why


def test_plain_http_goes_to_django_when_https_is_required(settings):
    settings.SECURE_SSL_REDIRECT = True
    hot, _django, reached = hot_in_front_of_django()
    assert Served(hot, environ("name=Ada")).status.startswith("301")
    assert reached == [GREET]
