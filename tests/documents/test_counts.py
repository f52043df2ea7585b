"""/api/documents/counts/ and get_processing_counts: numbers over every owner's documents,
for the staff, the same in-process and across a split (over HTTP)."""

import pytest

from apps.documents import services
from apps.documents.api import get_processing_counts
from city.peers import PeerUnavailable
from tests.contract import error_of
from tests.documents import samples
from tests.documents.conftest import documents_deployed_alone, upload
from tests.factories import StaffFactory

COUNTS = "/api/documents/counts/"
NONE = {"pending": 0, "processing": 0, "processed": 0, "failed": 0}


@pytest.fixture
def staff_api(api, db):
    api.force_authenticate(StaffFactory())
    return api


def test_counts_name_every_status_even_at_zero(staff_api, owner):
    """Before and after a first upload."""
    api = staff_api
    assert api.get(COUNTS).json() == {"counts": NONE, "total": 0}
    upload(owner)  # pending: its processing is queued on a commit that never comes here
    response = api.get(COUNTS)
    assert response.status_code == 200
    assert response.json() == {"counts": {**NONE, "pending": 1}, "total": 1}


def test_counts_are_over_every_owners_documents(staff_api, owner, stranger):
    upload(owner, b"first note")
    upload(stranger, b"second note")
    theirs = upload(stranger, samples.pdf(), name="letter.pdf").document
    services.document_process(document_id=theirs.pk)
    expected = {"counts": {**NONE, "pending": 2, "processed": 1}, "total": 3}
    assert staff_api.get(COUNTS).json() == expected


@pytest.mark.django_db
def test_counts_are_for_the_staff_only(api, owner):
    anonymous = api.get(COUNTS)
    assert (anonymous.status_code, error_of(anonymous)["code"]) == (401, "not_authenticated")
    api.force_authenticate(owner)  # a resident, even one with documents
    resident = api.get(COUNTS)
    assert (resident.status_code, error_of(resident)["code"]) == (403, "permission_denied")


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_writing_counts_is_405_in_the_error_contract(staff_api, method):
    response = getattr(staff_api, method)(COUNTS, {}, format="json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


@pytest.fixture(params=["here", "over HTTP"])
def documents_service(request, settings):
    """The documents service installed here, or deployed alone and reached as a peer, asked
    for the deployment's dashboard (with a service credential, for no user)."""
    if request.param == "here":
        yield
    else:
        with documents_deployed_alone(request, settings) as log:
            yield
            assert f'"path":"{COUNTS}"' in log.read_text(), "the counts were not asked over HTTP"


@pytest.mark.django_db(transaction=True)
def test_processing_counts_are_the_same_here_and_over_http(documents_service, owner, broker_url):
    """Queued on a broker no worker listens to, each stays pending until processed here."""
    upload(owner, b"waiting")
    processed = upload(owner, samples.pdf(), name="letter.pdf").document
    failed = upload(owner, b"%PDF-1.4\n\x00\x01 not really", name="broken.pdf").document
    services.document_process(document_id=processed.pk)
    services.document_process(document_id=failed.pk)
    assert get_processing_counts() == {**NONE, "pending": 1, "processed": 1, "failed": 1}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("documents_service", ["over HTTP"], indirect=True)
def test_over_http_the_counts_need_this_citys_service_key(documents_service, settings):
    """Signed with another key, the credential is refused there (401): a clear 503 here."""
    settings.CITY_SERVICE_KEY = "not-the-key-the-documents-service-has"
    with pytest.raises(PeerUnavailable, match="401"):
        get_processing_counts()
