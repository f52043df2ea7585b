"""Hostile request bodies: nested deep, too large, sent without a length, a password of
spaces. Each is refused in the error contract, and changes nothing."""

import io
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from rest_framework.authtoken.models import Token

from apps.documents.models import Document
from apps.greeter.models import Newcomer
from apps.leasing.models import Application, Lease, Property, Unit
from city.errors import PayloadTooLarge
from city.parsers import JSONParser, json_depth, too_deep
from tests import servers
from tests.contract import error_of
from tests.factories import UserFactory

User = get_user_model()
MB = 1024 * 1024
DEPTH = 1000


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def everything_counted() -> dict[str, int]:
    models = [User, Token, Newcomer, Property, Unit, Application, Lease, Document]
    return {model.__name__: model.objects.count() for model in models}


def registration(**overrides) -> dict:
    return {
        "username": "grace",
        "email": "grace@example.org",
        "password": "navy-cobol-1906",
        "language": "es",
        **overrides,
    }


# --- the nesting measure ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"1", 0),
        (b'"[[[["', 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": "]]]{"}], "c": []}', 3),
        (b'["\\"[[[", [[]]]', 3),
        (b"[" * 5000 + b"]" * 5000, 5000),
    ],
)
def test_json_depth_counts_only_brackets_outside_strings(text, depth):
    assert json_depth(text) == depth


@pytest.mark.parametrize("depth", [2, 3, 4, 5, 31, 32, 33, 34, 40])
def test_too_deep_agrees_with_the_depth_whatever_the_shape(depth):
    shapes = [
        "[" * depth + "]" * depth,
        "[" * (depth - 2) + "[1,[],{}],{}" + "]" * (depth - 2),
        '{"a":' * (depth - 2) + '{"b": [], "c": "]]]"}' + "}" * (depth - 2),
        "[" + ("[" * (depth - 1) + "]" * (depth - 1) + ",") * 50 + "[]]",
    ]
    for shape in shapes:
        assert json_depth(shape.encode()) == depth, shape
        assert too_deep(shape.encode(), 32) == (depth > 32), shape


def test_a_body_with_no_more_brackets_than_the_limit_is_never_too_deep():
    assert not too_deep(b'{"a": "' + b"[" * 10_000 + b'"}', 10_001)
    assert too_deep(b'{"a": "' + b"[" * 10_000 + b'", "b": [[[1]]]}', 3)


# --- nesting ----------------------------------------------------------------------------

JSON_ENDPOINTS = [
    "/api/greeter/newcomers/",
    "/api/auth/token/",
    "/api/leasing/properties/",
    "/api/leasing/units/",
    "/api/leasing/applications/",
    "/api/leasing/leases/",
    "/api/documents/grants/",
    "/api/documents/grants/revoke/",
]


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@city.example", "a-long-test-password")


@pytest.mark.parametrize("body", [nested(DEPTH), nested_objects(DEPTH)], ids=["arrays", "objects"])
@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_json_nested_a_thousand_deep_is_400_invalid_and_changes_nothing(api, superuser, path, body):
    api.force_authenticate(superuser)
    before = everything_counted()
    assert len(body) < 8 * 1024

    response = api.post(path, body, content_type="application/json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["message"] == "body: The JSON is nested more than 32 deep, the most accepted."
    assert everything_counted() == before


def test_json_nested_in_a_field_is_refused_the_same(api, db):
    body = json.dumps(registration()).replace('"grace"', nested(DEPTH, '"grace"'), 1)
    response = api.post("/api/greeter/newcomers/", body, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert not User.objects.exists()


def test_json_nested_to_the_limit_is_parsed_and_validated_as_usual(api, db, settings):
    settings.API_MAX_JSON_DEPTH = 32
    body = json.dumps(registration()).replace('"grace"', nested(31, '"grace"'), 1)
    response = api.post("/api/greeter/newcomers/", body, content_type="application/json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert list(error["details"]) == ["username"]  # the field's own problem, not the nesting


def test_brackets_inside_strings_are_not_nesting(api, db):
    password = "[{" * 600 + "-a-long-one"
    body = json.dumps(registration(password=password))
    response = api.post("/api/greeter/newcomers/", body, content_type="application/json")
    assert response.status_code == 201
    assert User.objects.get(username="grace").check_password(password)


def test_the_depth_limit_is_a_setting(api, db, settings):
    settings.API_MAX_JSON_DEPTH = 2
    body = json.dumps({"username": "grace", "extra": [[1]]})
    response = api.post("/api/greeter/newcomers/", body, content_type="application/json")
    assert error_of(response)["message"].startswith("body: The JSON is nested more than 2 deep")


# --- size -------------------------------------------------------------------------------


def test_a_5_mb_json_body_is_413_too_large_and_changes_nothing(api, db):
    body = json.dumps(registration(password="p" * (5 * MB)))
    response = api.post("/api/greeter/newcomers/", body, content_type="application/json")
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large"
    assert error["details"] == {"max_bytes": MB}
    assert not User.objects.exists()


def test_a_json_body_just_over_the_limit_is_413_and_one_at_it_is_read(api, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    empty = len(json.dumps(registration(password="")))

    def body(size: int) -> str:
        return json.dumps(registration(password="navy-cobol-".ljust(size - empty, "x")))

    at_limit, over = body(4096), body(4097)
    assert (len(at_limit), len(over)) == (4096, 4097)
    response = api.post("/api/greeter/newcomers/", over, content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["details"] == {"max_bytes": 4096}
    response = api.post("/api/greeter/newcomers/", at_limit, content_type="application/json")
    assert response.status_code == 201, response.json()


def test_the_json_parser_reads_no_further_than_the_limit(settings):
    """Whatever the body's length says (or if it says nothing), one byte past the limit is
    the most read."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    reads = []

    class Endless(io.RawIOBase):
        def read(self, size=-1):
            reads.append(size)
            return b"[1," * (size // 3 + 1) if size >= 0 else pytest.fail("read it all")

    with pytest.raises(PayloadTooLarge):
        JSONParser().parse(Endless(), "application/json", {})
    assert reads == [4097]


def test_a_json_body_announcing_more_than_the_limit_is_refused_before_reading_it(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    request = RequestFactory().post("/", b"[1]", "application/json", CONTENT_LENGTH="4097")
    stream = io.BytesIO(b"[1]")
    with pytest.raises(PayloadTooLarge):
        JSONParser().parse(stream, "application/json", {"request": request})
    assert stream.tell() == 0


@pytest.mark.parametrize(
    ("path", "authenticated"),
    [("/api/greeter/newcomers/", False), ("/api/leasing/properties/", True)],
)
def test_a_5_mb_form_body_is_413_too_large_and_changes_nothing(api, superuser, path, authenticated):
    if authenticated:
        api.force_authenticate(superuser)
    before = everything_counted()
    body = "username=grace&email=grace%40example.org&password=" + "p" * (5 * MB)
    response = api.post(path, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large"
    assert error["details"] == {"max_bytes": MB}
    assert everything_counted() == before


def test_a_5_mb_session_login_form_is_413_too_large(client, db):
    body = "username=ada&password=" + "p" * (5 * MB)
    response = client.post(
        "/api/auth/login/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert "_auth_user_id" not in client.session


# --- a password of spaces ---------------------------------------------------------------


@pytest.mark.parametrize("password", [" " * 10, "\t" * 12, " \n " * 5, "\u3000" * 10])
def test_a_whitespace_only_password_is_refused_at_registration(api, db, password):
    response = api.post("/api/greeter/newcomers/", registration(password=password), format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "This password is only whitespace." in error["details"]["password"]
    assert not User.objects.exists()
    assert not Newcomer.objects.exists()


def test_a_password_with_spaces_in_it_is_accepted(api, db):
    response = api.post(
        "/api/greeter/newcomers/", registration(password="  navy cobol 1906  "), format="json"
    )
    assert response.status_code == 201


# --- uploads without Content-Length, on a replica reached directly (gunicorn) -------------

BOUNDARY = "city-test-boundary"


def multipart_head(name: str = "note.txt") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()


def multipart_tail() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


def chunked_upload(size: int, piece: int = 256 * 1024) -> Iterator[bytes]:
    """A multipart body holding a text file of `size` bytes, made as it is sent."""
    yield multipart_head()
    line = b"A line of a long note.\n"
    block = line * (piece // len(line))
    sent = 0
    while sent < size:
        part = block[: size - sent]
        sent += len(part)
        yield part
    yield multipart_tail()


@pytest.fixture
def documents_replica(request, live_database_url, collected_static, tmp_path):
    """The documents service under gunicorn, production settings, the test's database; yields
    its URL and the headers of a resident's token."""
    resident = UserFactory()
    token = Token.objects.create(user=resident)
    env = servers.production_env(
        DATABASE_URL=live_database_url,
        STATIC_ROOT=collected_static,
        MEDIA_ROOT=str(tmp_path / "media"),
        DOCUMENTS_MAX_UPLOAD_BYTES=str(25 * MB),
    )
    with servers.gunicorn("city.settings.documents", env=env, log=tmp_path / "web.log") as url:
        headers = {
            "Authorization": f"Token {token.key}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        }
        yield url, headers


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_a_26_mb_chunked_upload_is_413_too_large_and_stores_nothing(documents_replica, tmp_path):
    url, headers = documents_replica
    response = httpx.post(
        f"{url}/api/documents/", content=chunked_upload(26 * MB), headers=headers, timeout=60
    )
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large"
    assert error["details"] == {"max_bytes": 25 * MB}
    assert not Document.objects.exists()
    assert stored_files(tmp_path / "media") == []


def test_a_chunked_upload_under_the_limit_is_accepted(documents_replica, tmp_path):
    url, headers = documents_replica
    response = httpx.post(
        f"{url}/api/documents/", content=chunked_upload(3 * MB), headers=headers, timeout=60
    )
    assert response.status_code == 202, response.text
    document = Document.objects.get()
    assert document.size == 3 * MB
    assert document.original_name == "note.txt"


def test_an_endless_chunked_upload_is_answered_413_once_past_the_limit(documents_replica):
    """The body never ends: the replica answers once it has read past the limit, so it
    cannot have read further than that."""
    url, headers = documents_replica
    address = urlsplit(url)
    head = (
        "POST /api/documents/ HTTP/1.1\r\n"
        f"Host: {address.hostname}\r\n"
        f"Authorization: {headers['Authorization']}\r\n"
        f"Content-Type: {headers['Content-Type']}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    piece = b"x" * (64 * 1024)
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(head)
        first = multipart_head()
        connection.sendall(f"{len(first):x}\r\n".encode() + first + b"\r\n")
        sent = 0
        connection.settimeout(2)  # the replica stops reading: sending then blocks
        try:
            while sent < 200 * MB:
                connection.sendall(chunk)
                sent += len(piece)
        except (TimeoutError, ConnectionError):
            pass
        connection.settimeout(30)
        answer = b""
        while b"\r\n\r\n" not in answer:
            received = connection.recv(65536)
            assert received, f"closed without an answer after {sent} bytes sent"
            answer += received
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert sent < 200 * MB
    assert not Document.objects.exists()
