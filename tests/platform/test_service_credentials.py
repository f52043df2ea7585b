"""The service credential (city/service_credentials.py) at the endpoints, over HTTP: a
valid one acts as its user where the endpoint is open to the calling service; anything
else is refused in the error contract. The in-process path refuses what they refuse."""

import json
import subprocess
import time

import pytest
from django.conf import settings as django_settings
from django.core import signing
from django.core.files.base import ContentFile
from rest_framework.exceptions import ValidationError

from apps.documents.api import get_document_summary, grant_read, revoke_reads
from apps.documents.models import Document, DocumentGrant
from apps.documents.services import document_upload
from city import service_credentials
from city.checks import split_deployments_have_a_service_key
from tests import servers
from tests.contract import error_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REFERENCE = "leasing.application:7"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def document(owner) -> Document:
    return document_upload(owner=owner, file=ContentFile(b"Payslip", name="pay.txt")).document


def credential(
    user_id: int | None,
    *,
    services: tuple[str, ...] = ("leasing",),
    key: str | None = None,
    age_seconds: int = 0,
) -> str:
    """A credential as a deployment of `services` signs it, issued `age_seconds` ago."""

    class IssuedThen(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - age_seconds)

    signer = IssuedThen(key=key or django_settings.CITY_SERVICE_KEY, salt=service_credentials.SALT)
    token = signer.sign_object({"services": list(services), "user": user_id})
    return f"CityService {token}"


def for_another_user(authorization: str, user_id: int) -> str:
    """The credential with its user changed and its signature kept."""
    _, _, timestamp, signature = authorization.replace(" ", ":", 1).split(":")
    payload = json.dumps({"services": ["leasing"], "user": user_id}, separators=(",", ":"))
    return f"CityService {signing.b64_encode(payload.encode()).decode()}:{timestamp}:{signature}"


def calling(api, authorization: str):
    api.credentials(HTTP_AUTHORIZATION=authorization)
    return api


def refusal(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["code"] == code
    return error["message"]


# --- a valid credential acts as its user ---------------------------------------------------


def test_the_credential_peer_calls_carry_is_accepted(api, owner, document):
    authorization = service_credentials.authorization(acting_user_id=owner.pk)
    response = calling(api, authorization).get(f"/api/documents/{document.pk}/")
    assert (response.status_code, response.json()["owner"]) == (200, owner.pk)


def test_a_valid_credential_acts_as_its_user(api, owner, document):
    stranger = UserFactory()
    api = calling(api, credential(owner.pk))
    assert [d["id"] for d in api.get("/api/documents/").json()["results"]] == [document.pk]
    grant = {"document_ids": [document.pk], "grantee": stranger.pk, "reference": REFERENCE}
    assert api.post("/api/documents/grants/", grant, format="json").status_code == 201
    assert DocumentGrant.objects.get().document.owner_id == owner.pk
    # As the stranger: they read the document now, and may end the grant they hold.
    api = calling(api, credential(stranger.pk))
    assert api.get(f"/api/documents/{document.pk}/").status_code == 200
    revoked = api.post("/api/documents/grants/revoke/", {"reference": REFERENCE}, format="json")
    assert revoked.json()["revoked"] == 1


def test_the_request_knows_it_came_through_a_service(api, owner):
    """The counts are staff's, or a service's (request.auth): a resident's own token is
    refused, the same resident's credential from a service is not."""
    api.force_authenticate(owner)
    refusal(api.get("/api/documents/counts/"), 403, "permission_denied")
    api.force_authenticate(None)
    for user_id in (owner.pk, None):
        answer = calling(api, credential(user_id, services=("greeter",))).get(
            "/api/documents/counts/"
        )
        assert answer.status_code == 200
        assert set(answer.json()) == {"counts", "total"}


def test_an_inactive_user_is_still_the_one_it_acts_for(api, owner, document):
    owner.is_active = False
    owner.save()
    assert (
        calling(api, credential(owner.pk)).get(f"/api/documents/{document.pk}/").status_code == 200
    )


# --- anything else is refused -------------------------------------------------------------


def test_without_a_credential_it_is_401(api, document):
    refusal(api.get(f"/api/documents/{document.pk}/"), 401, "not_authenticated")
    response = calling(api, "CityService ").get(f"/api/documents/{document.pk}/")
    refusal(response, 401, "invalid_service_credential")


@pytest.mark.parametrize(
    "forge",
    [
        lambda user_id: credential(user_id, key="a-key-this-city-does-not-have"),
        lambda user_id: credential(user_id)[:-2] + "xx",  # its signature altered
        lambda user_id: for_another_user(credential(user_id), UserFactory().pk),
        lambda user_id: f"CityService {signing.dumps({'services': ['leasing'], 'user': user_id})}",
    ],
    ids=["another key", "altered", "another user", "signed for something else"],
)
def test_a_forged_credential_is_401(api, owner, document, forge):
    response = calling(api, forge(owner.pk)).get(f"/api/documents/{document.pk}/")
    assert "not valid" in refusal(response, 401, "invalid_service_credential")
    assert response["WWW-Authenticate"] == "Token"


def test_an_expired_credential_is_401(api, owner, document):
    fresh = calling(api, credential(owner.pk, age_seconds=50)).get(f"/api/documents/{document.pk}/")
    assert fresh.status_code == 200
    stale = credential(owner.pk, age_seconds=service_credentials.MAX_AGE_SECONDS + 5)
    response = calling(api, stale).get(f"/api/documents/{document.pk}/")
    assert "expired" in refusal(response, 401, "invalid_service_credential")


def test_a_former_key_is_accepted_while_it_is_listed_as_a_fallback(api, owner, document, settings):
    signed_with_the_former = credential(owner.pk, key="the-former-service-key")
    path = f"/api/documents/{document.pk}/"
    refusal(calling(api, signed_with_the_former).get(path), 401, "invalid_service_credential")
    settings.CITY_SERVICE_KEY_FALLBACKS = ["the-former-service-key"]
    assert calling(api, signed_with_the_former).get(path).status_code == 200
    issued_here = service_credentials.authorization(acting_user_id=owner.pk)
    settings.CITY_SERVICE_KEY_FALLBACKS = []
    assert calling(api, issued_here).get(path).status_code == 200  # signed with the new key


def test_a_credential_for_a_user_who_does_not_exist_is_401(api, document):
    response = calling(api, credential(987654)).get(f"/api/documents/{document.pk}/")
    refusal(response, 401, "invalid_service_credential")


def test_a_service_the_endpoint_is_not_open_to_is_403(api, owner, document):
    grant = {"document_ids": [document.pk], "grantee": UserFactory().pk, "reference": REFERENCE}
    response = calling(api, credential(owner.pk, services=("greeter",))).post(
        "/api/documents/grants/", grant, format="json"
    )
    assert "not open to calls from greeter" in refusal(response, 403, "service_not_allowed")
    assert not DocumentGrant.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/documents/{document}/"),  # its GET is open, its DELETE is not
        ("post", "/api/documents/{document}/reprocess/"),
        ("get", "/api/documents/{document}/download/"),
        ("post", "/api/documents/"),
        ("get", "/api/leasing/applications/"),
        ("get", "/api/greeter/newcomers/me/"),
        ("delete", "/api/auth/token/"),
    ],
)
def test_an_endpoint_not_open_to_services_refuses_them_403(api, owner, document, method, path):
    response = getattr(calling(api, credential(owner.pk)), method)(
        path.format(document=document.pk)
    )
    refusal(response, 403, "service_not_allowed")
    assert Document.objects.filter(pk=document.pk).exists()


def test_a_credential_for_no_user_is_refused_where_a_user_is_needed(api, document):
    refusal(calling(api, credential(None)).get("/api/documents/"), 403, "permission_denied")


def test_a_deployment_without_the_key_verifies_nothing(api, owner, document, settings):
    authorization = credential(owner.pk)
    settings.CITY_SERVICE_KEY = ""
    response = calling(api, authorization).get(f"/api/documents/{document.pk}/")
    assert "CITY_SERVICE_KEY is not set" in refusal(response, 401, "invalid_service_credential")


# --- the in-process path refuses what the endpoints refuse ----------------------------------


def test_a_grant_of_someone_elses_document_is_refused_alike(api, owner):
    theirs = document_upload(owner=UserFactory(), file=ContentFile(b"x", name="x.txt")).document
    grant = {"document_ids": [theirs.pk], "grantee": UserFactory().pk, "reference": REFERENCE}
    response = calling(api, credential(owner.pk)).post(
        "/api/documents/grants/", grant, format="json"
    )
    endpoint = refusal(response, 400, "invalid")
    with pytest.raises(ValidationError) as here:
        grant_read(
            document_ids=[theirs.pk],
            owner_id=owner.pk,
            grantee_id=grant["grantee"],
            reference=REFERENCE,
        )
    assert endpoint == f"document_ids: {here.value.detail['document_ids'][0]}"
    assert not DocumentGrant.objects.exists()


def test_only_the_owner_or_the_grantee_ends_a_grant_alike(api, owner, document):
    grantee, third = UserFactory(), UserFactory()
    grant_read(
        document_ids=[document.pk], owner_id=owner.pk, grantee_id=grantee.pk, reference=REFERENCE
    )
    response = calling(api, credential(third.pk)).post(
        "/api/documents/grants/revoke/", {"reference": REFERENCE}, format="json"
    )
    assert response.json()["revoked"] == 0
    revoke_reads(reference=REFERENCE, by_user_id=third.pk)
    assert DocumentGrant.objects.count() == 1


def test_someone_elses_document_is_not_shown_alike(api, owner, document):
    stranger = UserFactory()
    response = calling(api, credential(stranger.pk)).get(f"/api/documents/{document.pk}/")
    refusal(response, 404, "not_found")
    assert get_document_summary(document.pk, owner_id=stranger.pk) is None


# --- the key is required wherever a service is elsewhere -----------------------------------


def test_a_split_deployment_without_the_key_fails_its_checks(settings):
    settings.CITY_SERVICE_KEY = ""
    settings.CITY_SERVICES = ["greeter", "documents", "leasing"]
    assert split_deployments_have_a_service_key(None) == []  # nothing is elsewhere
    settings.CITY_SERVICES = ["leasing"]
    [error] = split_deployments_have_a_service_key(None)
    assert (error.id, error.is_serious()) == ("city.E001", True)
    assert "lacks documents, greeter" in error.msg
    settings.CITY_SERVICE_KEY = "a-key"
    assert split_deployments_have_a_service_key(None) == []


@pytest.mark.parametrize(
    ("deployment", "said"),
    [
        ({"DJANGO_SETTINGS_MODULE": "city.settings.leasing"}, "A service deployed alone"),
        (
            {"DJANGO_SETTINGS_MODULE": "city.settings.production", "CITY_SERVICES": "leasing"},
            "(city.E001) CITY_SERVICE_KEY is not set, and this deployment lacks documents, greeter",
        ),
    ],
    ids=["a service's settings: at start", "some services: manage.py check"],
)
def test_a_deployment_lacking_a_service_refuses_to_start_without_the_key(deployment, said):
    env = {**servers.production_env(**deployment), "CITY_SERVICE_KEY": ""}
    result = subprocess.run(
        [str(servers.BIN / "python"), "manage.py", "check"],
        env=env,
        cwd=servers.REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "CITY_SERVICE_KEY is not set" in result.stderr
    assert said in result.stderr
