"""Read grants: an owner lets another person read some documents, for a named reason."""

import pytest
from rest_framework.exceptions import ValidationError

from apps.documents.api import grant_read, revoke_reads
from apps.documents.models import DocumentGrant
from tests.contract import error_of
from tests.documents.conftest import documents_deployed_alone, upload

GRANTS = "/api/documents/grants/"
REVOKE = "/api/documents/grants/revoke/"
REFERENCE = "leasing.application:7"


def read_status(api, user, document_id: int) -> int:
    api.force_authenticate(user)
    return api.get(f"/api/documents/{document_id}/").status_code


@pytest.mark.django_db
def test_a_grant_lets_the_grantee_read_until_it_is_revoked(api, owner, stranger):
    document = upload(owner).document
    api.force_authenticate(owner)
    given = {"document_ids": [document.pk], "grantee": stranger.pk, "reference": REFERENCE}
    response = api.post(GRANTS, given, format="json")
    assert response.status_code == 201
    assert response.json() == given
    assert read_status(api, stranger, document.pk) == 200
    api.force_authenticate(stranger)  # the grantee may give it up
    response = api.post(REVOKE, {"reference": REFERENCE}, format="json")
    assert response.json() == {"reference": REFERENCE, "revoked": 1}
    assert read_status(api, stranger, document.pk) == 404


@pytest.mark.django_db
def test_granting_twice_is_one_grant(api, owner, stranger):
    document = upload(owner).document
    api.force_authenticate(owner)
    given = {"document_ids": [document.pk], "grantee": stranger.pk, "reference": REFERENCE}
    api.post(GRANTS, given, format="json")
    assert api.post(GRANTS, given, format="json").status_code == 201
    assert DocumentGrant.objects.count() == 1


@pytest.mark.django_db
def test_a_grant_of_someone_elses_document_is_400_and_grants_nothing(api, owner, stranger):
    mine, theirs = upload(owner).document, upload(stranger, b"other").document
    api.force_authenticate(owner)
    given = {"document_ids": [mine.pk, theirs.pk], "grantee": stranger.pk, "reference": REFERENCE}
    response = api.post(GRANTS, given, format="json")
    assert response.status_code == 400
    assert error_of(response)["message"] == f"document_ids: Document {theirs.pk} does not exist."
    assert not DocumentGrant.objects.exists()


@pytest.mark.django_db
def test_only_the_owner_or_the_grantee_revokes(api, owner, stranger):
    document = upload(owner).document
    grant_read(
        document_ids=[document.pk], owner_id=owner.pk, grantee_id=stranger.pk, reference=REFERENCE
    )
    third = type(owner).objects.create_user("third")
    api.force_authenticate(third)
    assert api.post(REVOKE, {"reference": REFERENCE}, format="json").json()["revoked"] == 0
    assert read_status(api, stranger, document.pk) == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"grantee": 2, "reference": REFERENCE}, "document_ids"),
        ({"document_ids": [], "grantee": 2, "reference": REFERENCE}, "document_ids"),
        ({"document_ids": ["x"], "grantee": 2, "reference": REFERENCE}, "document_ids"),
        ({"document_ids": [2**63], "grantee": 2, "reference": REFERENCE}, "document_ids"),
        (
            {"document_ids": list(range(1, 52)), "grantee": 2, "reference": REFERENCE},
            "document_ids",
        ),
        ({"document_ids": [1], "grantee": 0, "reference": REFERENCE}, "grantee"),
        ({"document_ids": [1], "grantee": 2, "reference": "anything goes"}, "reference"),
        ({"document_ids": [1], "grantee": 2, "reference": "a:" + "1" * 100}, "reference"),
        ({"document_ids": [1], "grantee": 2}, "reference"),
    ],
)
def test_a_bad_grant_is_400_naming_the_field_and_grants_nothing(api, owner, body, field):
    api.force_authenticate(owner)
    response = api.post(GRANTS, body, format="json")
    assert response.status_code == 400
    assert field in error_of(response)["details"]
    assert not DocumentGrant.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", [GRANTS, REVOKE])
def test_grants_need_authentication(api, url):
    assert api.post(url, {}, format="json").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_grant_and_revoke_through_the_api_over_http(request, settings, owner, stranger):
    """As leasing asks it from a deployment without documents: over HTTP, for the owner."""
    document = upload(owner).document
    with documents_deployed_alone(request, settings):
        grant_read(
            document_ids=[document.pk],
            owner_id=owner.pk,
            grantee_id=stranger.pk,
            reference=REFERENCE,
        )
        assert DocumentGrant.objects.filter(grantee=stranger).count() == 1
        theirs = upload(stranger, b"theirs").document
        with pytest.raises(ValidationError) as refused:  # the peer's 400, as it said it
            grant_read(
                document_ids=[theirs.pk],
                owner_id=owner.pk,
                grantee_id=stranger.pk,
                reference="leasing.application:8",
            )
        assert refused.value.detail == {"document_ids": [f"Document {theirs.pk} does not exist."]}
        revoke_reads(reference=REFERENCE, by_user_id=owner.pk)
        assert not DocumentGrant.objects.exists()
