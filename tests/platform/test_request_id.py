import uuid

import pytest
import structlog
from structlog.testing import capture_logs


@pytest.fixture
def request_lines():
    """The request lines logged during the test, with the context bound to them."""
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        yield lambda: [line for line in logs if line.get("logger") == "city.request"]


def test_a_well_formed_request_id_is_kept_echoed_and_logged(api, request_lines):
    request_id = str(uuid.uuid4())
    response = api.get("/api/greeter/greet", {"name": "Ada"}, HTTP_X_REQUEST_ID=request_id)
    assert response["X-Request-ID"] == request_id
    [line] = request_lines()
    assert line["request_id"] == request_id


def test_without_a_request_id_one_is_made(api):
    first = api.get("/healthz")["X-Request-ID"]
    second = api.get("/healthz")["X-Request-ID"]
    assert len(first) == 32
    assert first != second


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "<script>", "-leading-dash", "é"])
def test_a_malformed_request_id_is_replaced(api, bad):
    response = api.get("/healthz", HTTP_X_REQUEST_ID=bad)
    assert response["X-Request-ID"] != bad
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_one_log_line_per_request_with_what_operators_need(api, request_lines, django_user_model):
    user = django_user_model.objects.create_user("logged", password="a-long-test-password")
    api.force_authenticate(user)
    api.get("/api/greeter/newcomers/me/", HTTP_X_REQUEST_ID="req-42")
    [line] = request_lines()
    assert line["method"] == "GET"
    assert line["path"] == "/api/greeter/newcomers/me/"
    assert line["status"] == 404
    assert line["user_id"] == user.pk
    assert line["service"] == "greeter+documents+leasing"
    assert line["request_id"] == "req-42"
    assert isinstance(line["duration_ms"], float)
