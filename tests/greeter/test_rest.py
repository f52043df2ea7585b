import re

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from apps.greeter.models import Newcomer, Welcome
from tests.contract import error_of
from tests.factories import PASSWORD, NewcomerFactory, UserFactory

GREET = "/api/greeter/greet"
REGISTER = "/api/greeter/newcomers/"
ME = "/api/greeter/newcomers/me/"


# --- greet ----------------------------------------------------------------------------


def test_greet_in_french(api):
    response = api.get(GREET, {"name": "Ada", "lang": "fr"})
    assert response.status_code == 200
    assert response.json() == {"message": "Bonjour, Ada ! Bienvenue dans la ville.", "lang": "fr"}


def test_greet_negotiates_from_accept_language(api):
    response = api.get(GREET, {"name": "Ada"}, HTTP_ACCEPT_LANGUAGE="de-AT, en;q=0.5")
    assert response.json()["lang"] == "de"
    assert "Accept-Language" in response["Vary"]


def test_greet_falls_back_to_english(api):
    response = api.get(GREET, {"name": "Ada"}, HTTP_ACCEPT_LANGUAGE="sw, zu;q=0.5")
    assert response.json() == {"message": "Hello, Ada! Welcome to the city.", "lang": "en"}


@pytest.mark.django_db
def test_greet_touches_no_database(api, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert api.get(GREET, {"name": "Ada", "lang": "ja"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({}, "name", "required"),
        ({"name": ""}, "name", "required"),
        ({"name": "  "}, "name", "required"),
        ({"name": "x" * 101}, "name", "at most 100"),
        ({"name": "Ada\x07"}, "name", "control"),
        ({"name": "Ada", "lang": "xx"}, "lang", "Unknown language 'xx'"),
        ({"name": "Ada", "lang": ""}, "lang", "Unknown language"),
    ],
)
def test_greet_bad_input_is_400_with_a_clear_message(api, params, field, words):
    response = api.get(GREET, params)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert words in error["message"]
    assert error["message"].startswith(f"{field}: ")
    assert list(error["details"]) == [field]


def test_greet_counts_greetings_per_language(api):
    before = api.get("/api/greeter/greetings/counts/").json()["greetings_by_language"]
    api.get(GREET, {"name": "Ada", "lang": "nl"})
    api.get(GREET, {"name": "Bob", "lang": "nl"})
    api.get(GREET, {"name": "", "lang": "nl"})  # refused: not counted
    after = api.get("/api/greeter/greetings/counts/").json()
    assert after["scope"] == "process"
    assert after["greetings_by_language"]["nl"] == before.get("nl", 0) + 2


def test_greet_serves_the_browsable_api_to_browsers(api):
    response = api.get(GREET, {"name": "Ada"}, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"Hello, Ada!" in response.content


def test_greet_refuses_writes_with_405(api):
    response = api.post(GREET, {"name": "Ada"})
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


# --- registration ---------------------------------------------------------------------

VALID = {
    "username": "grace",
    "email": "grace@city.example",
    "password": "navy-cobol-1906",
    "language": "es",
}


@pytest.mark.django_db
def test_register_returns_user_token_and_welcome_in_their_language(api):
    response = api.post(REGISTER, VALID, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["username"] == "grace"
    assert body["language"] == "es"
    assert body["message"] == "¡Hola, grace! Te damos la bienvenida a la ciudad."
    assert Token.objects.get(key=body["token"]).user.username == "grace"
    assert "password" not in str(body)


@pytest.mark.django_db
def test_registered_token_opens_the_profile_with_greetings_history(api):
    token = api.post(REGISTER, VALID, format="json").json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.get(ME)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == "grace@city.example"
    assert [g["occasion"] for g in body["greetings"]] == ["registration"]


@pytest.mark.django_db
def test_register_defaults_to_english(api):
    response = api.post(REGISTER, {**VALID, "language": None}, format="json")
    assert response.status_code == 400  # an explicit null is not a language
    del_language = {key: value for key, value in VALID.items() if key != "language"}
    response = api.post(REGISTER, del_language, format="json")
    assert response.json()["language"] == "en"


def nothing_was_created() -> bool:
    return not (
        get_user_model().objects.exists()
        or Newcomer.objects.exists()
        or Token.objects.exists()
        or Welcome.objects.exists()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"username": ""}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "x" * 151}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "12345678901"}, "password"),  # entirely numeric
        ({"password": "password123"}, "password"),  # too common
        ({"password": "grace-city-example"}, "password"),  # like the username/email
        ({"language": "xx"}, "language"),
    ],
)
def test_register_bad_input_is_400_naming_the_field_and_creates_nothing(api, changes, field):
    response = api.post(REGISTER, {**VALID, **changes}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["details"]
    assert error["message"].startswith(f"{field}: ")
    assert nothing_was_created()


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["username", "email", "password"])
def test_register_without_a_required_field_is_400(api, missing):
    given = {key: value for key, value in VALID.items() if key != missing}
    response = api.post(REGISTER, given, format="json")
    assert response.status_code == 400
    assert error_of(response)["details"][missing] == ["This field is required."]
    assert nothing_was_created()


@pytest.mark.django_db
def test_register_malformed_json_is_400(api):
    response = api.post(REGISTER, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"
    assert nothing_was_created()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"username": "GRACE", "email": "other@city.example"}, "username"),
        ({"username": "other", "email": "Grace@City.Example"}, "email"),
    ],
)
def test_register_taken_username_or_email_is_409_and_adds_nothing(api, changes, field):
    assert api.post(REGISTER, VALID, format="json").status_code == 201
    response = api.post(REGISTER, {**VALID, **changes}, format="json")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "conflict"
    assert error["details"] == {field: ["taken"]}
    assert get_user_model().objects.count() == 1
    assert Newcomer.objects.count() == 1


# --- profile --------------------------------------------------------------------------


@pytest.mark.django_db
def test_profile_needs_authentication(api):
    response = api.get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert error_of(response)["code"] == "not_authenticated"


@pytest.mark.django_db
def test_profile_with_a_bad_token_is_401(api):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = api.get(ME)
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


@pytest.mark.django_db
def test_profile_of_a_user_who_never_registered_is_404(api):
    api.force_authenticate(UserFactory())
    response = api.get(ME)
    assert response.status_code == 404
    assert "not registered" in error_of(response)["message"]


@pytest.mark.django_db
def test_profile_works_with_a_browser_session(api):
    newcomer = NewcomerFactory(language="it")
    assert api.login(username=newcomer.user.username, password=PASSWORD)
    response = api.get(ME)
    assert response.status_code == 200
    assert response.json()["language"] == "it"


@pytest.mark.django_db
def test_the_browsable_registration_form_takes_what_a_newcomer_gives(api):
    page = api.get(REGISTER, HTTP_ACCEPT="text/html").content.decode()
    for field in ("username", "email", "language"):
        assert f'name="{field}"' in page
    [password] = re.findall(r'<input name="password"[^>]*>', page)
    assert 'type="password"' in password
    form = {
        "username": "hedy",
        "email": "hedy@example.org",
        "password": "frequency-hopping-1942",
        "language": "de",
    }
    response = api.post(REGISTER, form, format="multipart")  # as the HTML form posts it
    assert response.status_code == 201
    assert response.json()["language"] == "de"
