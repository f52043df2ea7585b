import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import PASSWORD, UserFactory


def test_unknown_path_is_404_in_the_error_contract(api):
    response = api.get("/no/such/page")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Nothing is at /no/such/page.", "details": {}}
    }


def test_method_not_allowed_is_405_in_the_error_contract(api):
    response = api.delete("/healthz")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.urls("tests.platform.failing_urls")
def test_unexpected_failure_is_500_in_the_error_contract_without_internals():
    client = APIClient(raise_request_exception=False)
    response = client.get("/fail")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "server_error"
    assert "a bug" not in response.content.decode()


@pytest.mark.urls("tests.platform.failing_urls")
@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("missing", 404, "not_found"), ("forbidden", 403, "permission_denied")],
)
def test_djangos_own_exceptions_in_api_views_answer_in_the_error_contract(kind, status, code):
    response = APIClient().get(f"/raises/{kind}")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.mark.django_db
def test_csrf_failure_on_a_session_form_is_403_in_the_error_contract():
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "csrf_failed"
    assert "CSRF" in error["message"]


@pytest.mark.django_db
def test_session_api_write_without_csrf_token_is_refused():
    user = UserFactory()
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username=user.username, password=PASSWORD)
    response = client.post("/api/greeter/newcomers/", {}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_anonymous_clients_are_throttled_with_retry_after(api, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "registration", "2/minute")
    cache.clear()  # forget earlier tests' requests
    statuses = [
        api.post("/api/greeter/newcomers/", {}, format="json").status_code for _ in range(3)
    ]
    assert statuses == [400, 400, 429]
    response = api.post("/api/greeter/newcomers/", {}, format="json")
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert int(response["Retry-After"]) == error["details"]["retry_after"] > 0
