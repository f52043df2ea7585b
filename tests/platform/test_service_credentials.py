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
from structlog.testing import capture_logs

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
    method: str,
    path: str,
    *,
    user_id: int | None,
    body: bytes = b"",
    services: tuple[str, ...] = ("leasing",),
    key: str | None = None,
    age_seconds: int = 0,
) -> str:
    """A credential as a deployment of `services` signs it for that request, issued
    `age_seconds` ago (ahead of this clock when negative)."""
    call = service_credentials.ServiceCall.of(
        services=services, acting_user_id=user_id, method=method, path=path, body=body
    )
    return signed(call.payload(), key=key, age_seconds=age_seconds)


def signed(payload: dict, *, key: str | None = None, age_seconds: int = 0) -> str:
    class IssuedThen(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - age_seconds)

    signer = IssuedThen(key=key or django_settings.CITY_SERVICE_KEY, salt=service_credentials.SALT)
    return f"CityService {signer.sign_object(payload)}"


def for_another_user(authorization: str, user_id: int) -> str:
    """The credential with its user changed and its signature kept."""
    payload, timestamp, signature = authorization.removeprefix("CityService ").split(":")
    changed = {**json.loads(signing.b64_decode(payload.encode())), "user": user_id}
    payload = signing.b64_encode(json.dumps(changed, separators=(",", ":")).encode()).decode()
    return f"CityService {payload}:{timestamp}:{signature}"


def as_json(data: dict | None) -> bytes:
    return b"" if data is None else json.dumps(data).encode()


def sent(api, method: str, path: str, authorization: str, data: dict | None = None):
    """`method` to `path` with that Authorization header, and `data` as a JSON body."""
    api.credentials(HTTP_AUTHORIZATION=authorization)
    return api.generic(method.upper(), path, as_json(data), content_type="application/json")


def as_service(api, method: str, path: str, *, user_id: int | None, data=None, **signing_as):
    """The request, with a credential made for it (signed as `signing_as` says)."""
    method = method.upper()
    authorization = credential(method, path, user_id=user_id, body=as_json(data), **signing_as)
    return sent(api, method, path, authorization, data)


def refusal(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["code"] == code
    return error["message"]


# --- a valid credential acts as its user ---------------------------------------------------


def test_the_credential_peer_calls_carry_is_accepted(api, owner, document):
    path = f"/api/documents/{document.pk}/"
    authorization = service_credentials.authorization(
        acting_user_id=owner.pk, method="GET", path=path, body=b""
    )
    response = sent(api, "GET", path, authorization)
    assert (response.status_code, response.json()["owner"]) == (200, owner.pk)


def test_a_valid_credential_acts_as_its_user(api, owner, document):
    stranger = UserFactory()
    listed = as_service(api, "GET", "/api/documents/?page=1", user_id=owner.pk)
    assert [d["id"] for d in listed.json()["results"]] == [document.pk]
    grant = {"document_ids": [document.pk], "grantee": stranger.pk, "reference": REFERENCE}
    granted = as_service(api, "POST", "/api/documents/grants/", user_id=owner.pk, data=grant)
    assert granted.status_code == 201
    assert DocumentGrant.objects.get().document.owner_id == owner.pk
    # As the stranger: they read the document now, and may end the grant they hold.
    read = as_service(api, "GET", f"/api/documents/{document.pk}/", user_id=stranger.pk)
    assert read.status_code == 200
    revoked = as_service(
        api,
        "POST",
        "/api/documents/grants/revoke/",
        user_id=stranger.pk,
        data={"reference": REFERENCE},
    )
    assert revoked.json()["revoked"] == 1


def test_the_request_knows_it_came_through_a_service(api, owner):
    """The counts are staff's, or a service's (request.auth): a resident's own token is
    refused, the same resident's credential from a service is not."""
    api.force_authenticate(owner)
    refusal(api.get("/api/documents/counts/"), 403, "permission_denied")
    api.force_authenticate(None)
    for user_id in (owner.pk, None):
        answer = as_service(
            api, "GET", "/api/documents/counts/", user_id=user_id, services=("greeter",)
        )
        assert answer.status_code == 200
        assert set(answer.json()) == {"counts", "total"}


def test_an_inactive_user_is_still_the_one_it_acts_for(api, owner, document):
    owner.is_active = False
    owner.save()
    path = f"/api/documents/{document.pk}/"
    assert as_service(api, "GET", path, user_id=owner.pk).status_code == 200


# --- anything else is refused -------------------------------------------------------------


def test_without_a_credential_it_is_401(api, document):
    refusal(api.get(f"/api/documents/{document.pk}/"), 401, "not_authenticated")
    response = sent(api, "GET", f"/api/documents/{document.pk}/", "CityService ")
    refusal(response, 401, "invalid_service_credential")


def signed_for(user_id: int, path: str) -> str:
    return credential("GET", path, user_id=user_id)


@pytest.mark.parametrize(
    "forge",
    [
        lambda user_id, path: credential("GET", path, user_id=user_id, key="not-this-citys-key"),
        lambda user_id, path: signed_for(user_id, path)[:-2] + "xx",  # its signature altered
        lambda user_id, path: for_another_user(signed_for(user_id, path), UserFactory().pk),
        lambda user_id, path: f"CityService {signing.dumps({'services': ['leasing']})}",
        # The former shape, signed with the key: not made for any request.
        lambda user_id, path: signed({"services": ["leasing"], "user": user_id}),
    ],
    ids=["another key", "altered", "another user", "signed for something else", "no request"],
)
def test_a_forged_credential_is_401(api, owner, document, forge):
    path = f"/api/documents/{document.pk}/"
    response = sent(api, "GET", path, forge(owner.pk, path))
    assert "not valid" in refusal(response, 401, "invalid_service_credential")
    assert response["WWW-Authenticate"] == "Token"


def test_an_expired_credential_is_401(api, owner, document):
    path = f"/api/documents/{document.pk}/"
    near_its_end = service_credentials.MAX_AGE_SECONDS - 2
    fresh = as_service(api, "GET", path, user_id=owner.pk, age_seconds=near_its_end)
    assert fresh.status_code == 200
    stale = as_service(
        api, "GET", path, user_id=owner.pk, age_seconds=service_credentials.MAX_AGE_SECONDS + 2
    )
    assert "expired" in refusal(stale, 401, "invalid_service_credential")


def test_a_credential_issued_in_the_future_is_401_past_the_clock_skew(api, owner, document):
    path = f"/api/documents/{document.pk}/"
    skew = service_credentials.CLOCK_SKEW_SECONDS
    within = as_service(api, "GET", path, user_id=owner.pk, age_seconds=-(skew - 2))
    assert within.status_code == 200  # the caller's clock a little ahead
    ahead = as_service(api, "GET", path, user_id=owner.pk, age_seconds=-(skew + 3))
    assert "in the future" in refusal(ahead, 401, "invalid_service_credential")


# --- a credential is good for the one request it was made for ------------------------------


def test_a_credential_replayed_to_another_path_is_401(api, owner, document):
    """Seen on a read of a document, it grants nothing, though granting is open to leasing."""
    seen = signed_for(owner.pk, f"/api/documents/{document.pk}/")
    grant = {"document_ids": [document.pk], "grantee": UserFactory().pk, "reference": REFERENCE}
    response = sent(api, "POST", "/api/documents/grants/", seen, grant)
    message = refusal(response, 401, "invalid_service_credential")
    assert message == (
        f"The service credential was made for GET /api/documents/{document.pk}/, "
        "not POST /api/documents/grants/."
    )
    assert not DocumentGrant.objects.exists()


def test_a_credential_replayed_with_another_query_is_401(api, owner, document):
    seen = signed_for(owner.pk, "/api/documents/?status=failed")
    response = sent(api, "GET", "/api/documents/?status=processed", seen)
    refusal(response, 401, "invalid_service_credential")


def test_a_credential_replayed_with_another_method_is_401(api, owner, document):
    seen = signed_for(owner.pk, f"/api/documents/{document.pk}/")
    response = sent(api, "DELETE", f"/api/documents/{document.pk}/", seen)
    assert "not DELETE" in refusal(response, 401, "invalid_service_credential")
    assert Document.objects.filter(pk=document.pk).exists()


def test_a_credential_replayed_with_another_body_is_401(api, owner, document):
    """The grant to the manager, replayed with someone else as the grantee."""
    manager, someone_else = UserFactory(), UserFactory()
    grant = {"document_ids": [document.pk], "grantee": manager.pk, "reference": REFERENCE}
    seen = credential("POST", "/api/documents/grants/", user_id=owner.pk, body=as_json(grant))
    to_someone_else = {**grant, "grantee": someone_else.pk}
    replayed = sent(api, "POST", "/api/documents/grants/", seen, to_someone_else)
    assert "with another body" in refusal(replayed, 401, "invalid_service_credential")
    assert not DocumentGrant.objects.exists()
    assert sent(api, "POST", "/api/documents/grants/", seen, grant).status_code == 201


def test_a_former_key_is_accepted_while_it_is_listed_as_a_fallback(api, owner, document, settings):
    path = f"/api/documents/{document.pk}/"
    signed_with_the_former = credential("GET", path, user_id=owner.pk, key="the-former-key")
    refusal(sent(api, "GET", path, signed_with_the_former), 401, "invalid_service_credential")
    settings.CITY_SERVICE_KEY_FALLBACKS = ["the-former-key"]
    assert sent(api, "GET", path, signed_with_the_former).status_code == 200
    issued_here = service_credentials.authorization(
        acting_user_id=owner.pk, method="GET", path=path, body=b""
    )
    settings.CITY_SERVICE_KEY_FALLBACKS = []
    assert sent(api, "GET", path, issued_here).status_code == 200  # signed with the new key


def test_a_credential_for_a_user_who_does_not_exist_is_401(api, document):
    response = as_service(api, "GET", f"/api/documents/{document.pk}/", user_id=987654)
    refusal(response, 401, "invalid_service_credential")


def test_a_service_the_endpoint_is_not_open_to_is_403(api, owner, document):
    grant = {"document_ids": [document.pk], "grantee": UserFactory().pk, "reference": REFERENCE}
    response = as_service(
        api, "POST", "/api/documents/grants/", user_id=owner.pk, data=grant, services=("greeter",)
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
    response = as_service(api, method, path.format(document=document.pk), user_id=owner.pk)
    refusal(response, 403, "service_not_allowed")
    assert Document.objects.filter(pk=document.pk).exists()


def test_a_credential_for_no_user_is_refused_where_a_user_is_needed(api, document):
    refusal(as_service(api, "GET", "/api/documents/", user_id=None), 403, "permission_denied")


def test_a_deployment_without_the_key_verifies_nothing_and_tells_only_its_log(
    api, owner, document, settings
):
    path = f"/api/documents/{document.pk}/"
    authorization = signed_for(owner.pk, path)
    settings.CITY_SERVICE_KEY = ""
    with capture_logs() as logs:
        response = sent(api, "GET", path, authorization)
    message = refusal(response, 401, "invalid_service_credential")
    assert message == "The service credential is not valid."  # nothing of the deployment
    [missing] = [line for line in logs if line["event"] == "service_key_missing"]
    assert missing["log_level"] == "error"
    assert "CITY_SERVICE_KEY is not set" in missing["error"]


# --- the in-process path refuses what the endpoints refuse ----------------------------------


def test_a_grant_of_someone_elses_document_is_refused_alike(api, owner):
    theirs = document_upload(owner=UserFactory(), file=ContentFile(b"x", name="x.txt")).document
    grant = {"document_ids": [theirs.pk], "grantee": UserFactory().pk, "reference": REFERENCE}
    response = as_service(api, "POST", "/api/documents/grants/", user_id=owner.pk, data=grant)
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
    path, revoke = "/api/documents/grants/revoke/", {"reference": REFERENCE}
    response = as_service(api, "POST", path, user_id=third.pk, data=revoke)
    assert response.json()["revoked"] == 0
    revoke_reads(reference=REFERENCE, by_user_id=third.pk)
    assert DocumentGrant.objects.count() == 1


def test_someone_elses_document_is_not_shown_alike(api, owner, document):
    stranger = UserFactory()
    response = as_service(api, "GET", f"/api/documents/{document.pk}/", user_id=stranger.pk)
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
