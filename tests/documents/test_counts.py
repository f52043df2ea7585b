"""/api/documents/counts/ and get_processing_counts: numbers over every owner's documents,
open to anyone, the same in-process and across a split (over HTTP)."""

import pytest

from apps.documents import services
from apps.documents.api import get_processing_counts
from city.peers import remember_caller
from tests import servers
from tests.contract import error_of
from tests.documents import samples
from tests.documents.conftest import upload

COUNTS = "/api/documents/counts/"
NONE = {"pending": 0, "processing": 0, "processed": 0, "failed": 0}


@pytest.mark.django_db
def test_counts_are_open_to_anyone_and_name_every_status_even_at_zero(api, owner):
    """Anonymous, before and after a first upload."""
    assert api.get(COUNTS).json() == {"counts": NONE, "total": 0}
    upload(owner)  # pending: its processing is queued on a commit that never comes here
    response = api.get(COUNTS)
    assert response.status_code == 200
    assert response.json() == {"counts": {**NONE, "pending": 1}, "total": 1}


@pytest.mark.django_db
def test_counts_are_over_every_owners_documents_whoever_asks(api, owner, stranger):
    upload(owner, b"first note")
    upload(stranger, b"second note")
    theirs = upload(stranger, samples.pdf(), name="letter.pdf").document
    services.document_process(document_id=theirs.pk)
    expected = {"counts": {**NONE, "pending": 2, "processed": 1}, "total": 3}
    assert api.get(COUNTS).json() == expected
    api.force_authenticate(owner)  # who owns one of them: still every owner's
    assert api.get(COUNTS).json() == expected


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_writing_counts_is_405_in_the_error_contract(api, method):
    response = getattr(api, method)(COUNTS, {}, format="json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


@pytest.fixture(params=["here", "over HTTP"])
def documents_service(request, settings):
    """The documents service installed here, or deployed alone and reached as a peer."""
    remember_caller(None)  # asked by nobody in particular: no credentials of an earlier test
    if request.param == "here":
        yield
    else:
        env = servers.production_env(
            DATABASE_URL=request.getfixturevalue("live_database_url"),
            STATIC_ROOT=request.getfixturevalue("collected_static"),
        )
        log = request.getfixturevalue("tmp_path") / "documents.log"
        with servers.gunicorn("city.settings.documents", env=env, log=log) as url:
            settings.CITY_PEER_URL = url
            settings.CITY_SERVICES = ["leasing"]  # documents is elsewhere
            yield
            assert f'"path":"{COUNTS}"' in log.read_text(), "the counts were not asked over HTTP"
    remember_caller(None)


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
def test_processing_counts_do_not_depend_on_the_callers_credentials(documents_service):
    """Counts are nobody's own data (the dashboard asks for them whoever looks): a caller
    with a token that is no longer valid gets them as anyone does."""
    remember_caller({"HTTP_AUTHORIZATION": "Token no-longer-valid"})
    assert get_processing_counts() == NONE
