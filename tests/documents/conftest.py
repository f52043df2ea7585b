from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.documents import services
from tests import servers
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Stored files go to this test's own directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def owner(db):
    return UserFactory()


@pytest.fixture
def stranger(db):
    return UserFactory()


def upload(owner, data: bytes = b"A plain note.\n", name: str = "note.txt", **options):
    """A document as the service stores it (processing is queued on commit)."""
    return services.document_upload(owner=owner, file=SimpleUploadedFile(name, data), **options)


def stored_files(root) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@contextmanager
def documents_deployed_alone(request, settings) -> Iterator[Path]:
    """The documents service in a deployment of its own (gunicorn, production settings, the
    test's database), which this process, without it, reaches as a peer; yields its log."""
    env = servers.production_env(
        DATABASE_URL=request.getfixturevalue("live_database_url"),
        STATIC_ROOT=request.getfixturevalue("collected_static"),
    )
    log = request.getfixturevalue("tmp_path") / "documents.log"
    with servers.gunicorn("city.settings.documents", env=env, log=log) as url:
        settings.CITY_PEER_URL = url
        settings.CITY_SERVICES = ["leasing"]  # documents is elsewhere
        yield log
