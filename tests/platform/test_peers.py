"""Calls to a peer service over HTTP, against a real gunicorn serving that service alone."""

import json

import pytest
import structlog

from apps.documents.api import document_path
from city.peers import PeerClient, PeerUnavailable, local_or_remote
from tests import servers
from tests.documents.conftest import documents_deployed_alone, upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def documents_peer(request, settings, tmp_path):
    """The documents service deployed alone; this process reaches it as its peer."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    with documents_deployed_alone(request, settings) as log:
        yield log
    structlog.contextvars.clear_contextvars()


def test_a_peer_call_acts_for_its_user_with_the_request_id(documents_peer):
    owner = UserFactory()
    document = upload(owner).document
    structlog.contextvars.bind_contextvars(request_id="peer-req-1")
    answer = PeerClient("documents", acting_user_id=owner.pk).get(document_path(document.pk))
    assert (answer["id"], answer["owner"]) == (document.pk, owner.pk)
    logged = [
        json.loads(line) for line in documents_peer.read_text().splitlines() if line.startswith("{")
    ]
    assert any(
        line.get("request_id") == "peer-req-1"
        and (line["status"], line["user_id"]) == (200, owner.pk)
        for line in logged
    )


def test_what_the_peer_does_not_show_the_user_is_none(documents_peer):
    owner, stranger = UserFactory(), UserFactory()
    theirs = upload(stranger).document
    assert PeerClient("documents", acting_user_id=owner.pk).get(document_path(theirs.pk)) is None


def test_a_peer_refusing_the_call_is_a_clear_503(documents_peer):
    # Asked for no user, a person's list is refused: the peer answers 403.
    with pytest.raises(PeerUnavailable, match=r"documents service is unavailable .*403") as refused:
        PeerClient("documents", acting_user_id=None).get("/api/documents/")
    assert refused.value.status_code == 503
    assert refused.value.details == {"service": "documents"}


def test_a_peer_that_is_down_is_a_clear_503(settings):
    settings.CITY_PEER_URL = f"http://127.0.0.1:{servers.free_port()}"
    with pytest.raises(PeerUnavailable, match=r"greeter service is unavailable .*ConnectError"):
        PeerClient("greeter", acting_user_id=None).get("/api/greeter/newcomers/me/")


def test_without_a_service_key_no_call_leaves_and_it_says_why(settings):
    settings.CITY_SERVICE_KEY = ""
    settings.CITY_PEER_URL = f"http://127.0.0.1:{servers.free_port()}"
    with pytest.raises(PeerUnavailable, match="CITY_SERVICE_KEY is not set"):
        PeerClient("documents", acting_user_id=1).get("/api/documents/")


@pytest.mark.parametrize(
    ("installed", "expected"), [(["documents"], "local"), (["leasing"], "remote")]
)
def test_the_implementation_follows_the_services_installed_here(settings, installed, expected):
    settings.CITY_SERVICES = installed
    assert local_or_remote("documents", local="local", remote="remote") == expected
