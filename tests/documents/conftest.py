import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.documents import services
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
