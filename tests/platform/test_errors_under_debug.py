"""Under /api/ every error is the JSON contract with DEBUG on too (`make run`); pages for
people (the admin, the dashboard) keep Django's HTML error pages."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.contract import error_of

debug = override_settings(DEBUG=True)


@debug
def test_an_unknown_api_path_is_404_in_the_contract_not_the_technical_page(api):
    response = api.get("/api/no/such/thing/", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert error_of(response) == {
        "code": "not_found",
        "message": "Nothing is at /api/no/such/thing/.",
        "details": {},
    }


@debug
def test_an_unknown_page_outside_the_api_keeps_djangos_technical_404(api):
    response = api.get("/admin-typo/", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Page not found" in response.content.decode()


@debug
@pytest.mark.urls("tests.platform.failing_urls")
def test_an_unhandled_exception_under_the_api_is_500_in_the_contract_without_internals():
    response = APIClient(raise_request_exception=False).get("/api/fail")
    assert response.status_code == 500
    assert error_of(response)["code"] == "server_error"
    assert "a bug" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


@debug
@pytest.mark.urls("tests.platform.failing_urls")
def test_an_unhandled_exception_outside_the_api_keeps_the_debug_page():
    response = APIClient(raise_request_exception=False).get("/fail", HTTP_ACCEPT="text/html")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "a bug" in response.content.decode()


@debug
def test_a_host_django_refuses_is_400_in_the_contract(api):
    response = api.get("/api/greeter/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


@pytest.mark.parametrize("debug_on", [True, False])
def test_a_method_a_plain_django_view_refuses_is_405_in_the_contract(api, debug_on):
    with override_settings(DEBUG=debug_on):
        response = api.delete("/api/auth/login/")  # Django's LoginView: an empty 405
    assert response.status_code == 405
    assert error_of(response) == {
        "code": "method_not_allowed",
        "message": 'Method "DELETE" not allowed.',
        "details": {},
    }
    allowed = set(response["Allow"].split(", "))
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed
    assert response["X-Content-Type-Options"] == "nosniff"  # security headers as usual


@debug
@pytest.mark.django_db
def test_the_browsable_apis_own_error_pages_stay_pages_for_people(api):
    response = api.get("/api/greeter/newcomers/me/", HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("text/html")
    assert "Authentication credentials were not provided." in response.content.decode()
