"""Signing in: the session of the browsable API, and API tokens over the API."""

import re

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests import servers
from tests.contract import error_of
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/login/"
LOGOUT = "/api/auth/logout/"
TOKEN = "/api/auth/token/"
ME = "/api/greeter/newcomers/me/"


# --- the session ---------------------------------------------------------------------------


def test_the_login_page_is_the_browsable_apis_under_citys_name(api):
    page = api.get(LOGIN)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<title>Sign in – City API</title>" in html
    assert 'name="username"' in html
    assert "Django REST framework" not in html


def test_login_without_next_lands_on_the_api_root(api):
    user = UserFactory()
    response = api.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/api/"


def test_login_with_next_lands_there(api):
    user = UserFactory()
    response = api.post(f"{LOGIN}?next={ME}", {"username": user.username, "password": PASSWORD})
    assert response["Location"] == ME


def test_logout_is_a_post_answered_in_json_and_ends_the_session():
    user = UserFactory()
    client = APIClient()
    assert client.login(username=user.username, password=PASSWORD)
    response = client.post(LOGOUT)
    assert response.status_code == 200
    assert response.json() == {
        "message": "You are logged out.",
        "login": "http://testserver/api/auth/login/",
    }
    assert client.get(ME).status_code == 401


def test_logout_by_get_is_405_in_the_error_contract_and_logs_nobody_out():
    user = UserFactory()
    client = APIClient()
    assert client.login(username=user.username, password=PASSWORD)
    response = client.get(LOGOUT)
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert client.get("/api/greeter/greetings/counts/").status_code == 200
    assert "_auth_user_id" in client.session


def test_logout_of_a_session_without_its_csrf_token_is_refused():
    user = UserFactory()
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username=user.username, password=PASSWORD)
    response = client.post(LOGOUT)
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]
    assert "_auth_user_id" in client.session


def test_the_browsable_apis_log_out_menu_posts_its_form_and_shows_the_answer():
    user = UserFactory()
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username=user.username, password=PASSWORD)
    page = client.get("/api/", HTTP_ACCEPT="text/html").content.decode()
    form = re.search(
        r'<form id="logoutForm" method="post" action="([^"]+)">(.*?)</form>', page, re.S
    )
    action, fields = form[1].replace("&amp;", "&"), form[2]
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', fields)[1]
    assert action.startswith(LOGOUT)
    answer = client.post(action, {"csrfmiddlewaretoken": csrf}, HTTP_ACCEPT="text/html")
    assert answer.status_code == 200
    shown = answer.content.decode()
    assert "You are logged out." in shown
    assert user.username not in shown  # the menu shows "Log in" again, not the user
    assert "_auth_user_id" not in client.session


# --- API tokens ----------------------------------------------------------------------------


def test_a_user_obtains_their_existing_token_with_username_and_password_in_json(api):
    user = UserFactory()
    existing = Token.objects.create(user=user)
    response = api.post(TOKEN, {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.json() == {"token": existing.key}


def test_a_user_without_a_token_gets_a_new_one_from_a_form_and_it_works(api):
    user = UserFactory()
    response = api.post(TOKEN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    key = response.json()["token"]
    assert Token.objects.get(user=user).key == key
    again = api.post(TOKEN, {"username": user.username, "password": PASSWORD}).json()["token"]
    assert again == key
    counts = APIClient().get("/api/greeter/greetings/counts/", HTTP_AUTHORIZATION=f"Token {key}")
    assert counts.status_code == 200
    assert counts.wsgi_request.user == user


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "EXISTING", "password": "not-the-password"},
        {"username": "nobody-at-all", "password": PASSWORD},
    ],
    ids=["wrong password", "unknown user"],
)
def test_wrong_credentials_are_401_in_the_contract_saying_nothing_of_the_user(api, credentials):
    user = UserFactory()
    given = {**credentials, "username": credentials["username"].replace("EXISTING", user.username)}
    response = api.post(TOKEN, given, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert error_of(response) == {
        "code": "invalid_credentials",
        "message": "Those credentials are not valid: check the username and the password.",
        "details": {},
    }
    assert not Token.objects.exists()


def test_an_inactive_user_gets_no_token(api):
    user = UserFactory(is_active=False)
    response = api.post(TOKEN, {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_credentials"
    assert not Token.objects.exists()


def test_missing_fields_are_400_naming_each(api):
    response = api.post(TOKEN, {}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert set(error["details"]) == {"username", "password"}


def test_a_revoked_token_sent_along_does_not_stop_the_client_getting_a_new_one(api):
    user = UserFactory()
    api.credentials(HTTP_AUTHORIZATION="Token revoked-long-ago")
    response = api.post(TOKEN, {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_deleting_the_token_revokes_it(api):
    user = UserFactory()
    key = Token.objects.create(user=user).key
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.delete(TOKEN)
    assert response.status_code == 204
    assert not Token.objects.filter(user=user).exists()
    after = api.get("/api/greeter/greetings/counts/")
    assert after.status_code == 401
    assert error_of(after)["code"] == "authentication_failed"


def test_deleting_a_token_needs_someone_signed_in(api):
    other = Token.objects.create(user=UserFactory())
    response = api.delete(TOKEN)
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert Token.objects.filter(pk=other.pk).exists()


def test_token_requests_are_throttled_per_client_with_retry_after(api, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "3/minute")
    cache.clear()  # forget earlier tests' requests
    user = UserFactory()
    wrong = {"username": user.username, "password": "guess"}
    statuses = [api.post(TOKEN, wrong, format="json").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    # The right password too, and under another name: the client is throttled, not a user.
    response = api.post(TOKEN, {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 429
    error = error_of(response)
    assert error["code"] == "throttled"
    assert int(response["Retry-After"]) == error["details"]["retry_after"] > 0
    assert api.post(TOKEN, {**wrong, "username": "other"}, format="json").status_code == 429
    elsewhere = APIClient(REMOTE_ADDR="192.0.2.7")
    assert elsewhere.post(TOKEN, wrong, format="json").status_code == 401


def test_a_forwarded_for_header_does_not_reset_the_token_throttle(api, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "2/minute")
    cache.clear()
    wrong = {"username": UserFactory().username, "password": "guess"}
    statuses = [
        api.post(TOKEN, wrong, format="json", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
        for n in range(3)
    ]
    # No proxy is trusted (CITY_TRUSTED_PROXIES): the connection's address is the client.
    assert statuses == [401, 401, 429]


def test_the_login_throttle_rate_comes_from_the_environment():
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['login'])"
    )
    command = [str(servers.BIN / "python"), "-c", script]
    env = {"DJANGO_SETTINGS_MODULE": "city.settings.production"}
    default = servers.run_checked(command, env=servers.production_env(THROTTLE_LOGIN=None, **env))
    given = servers.run_checked(command, env=servers.production_env(THROTTLE_LOGIN="4/hour", **env))
    assert default.stdout.strip() == "10/minute"
    assert given.stdout.strip() == "4/hour"


def test_the_schema_describes_the_token_endpoints(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    token = schema["paths"]["/api/auth/token/"]
    assert token["post"]["summary"] == "Obtain your API token"
    assert set(token["post"]["responses"]) >= {"200", "400", "401", "429"}
    assert token["delete"]["summary"] == "Revoke your API token"
    assert "204" in token["delete"]["responses"]
    assert schema["paths"]["/api/auth/logout/"]["post"]["summary"]
