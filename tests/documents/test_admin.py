import pytest
from django.urls import reverse

from apps.documents import services
from apps.documents.models import Document
from tests.documents import samples
from tests.documents.conftest import stored_files, upload


@pytest.fixture
def processed(owner):
    """Two processed images: each has a stored file and a thumbnail."""
    documents = [
        upload(owner, samples.image(size=(40 + n, 30)), name=f"scan{n}.png").document
        for n in range(2)
    ]
    for document in documents:
        services.document_process(document_id=document.pk)
    return documents


def test_deleting_a_document_in_the_admin_removes_its_files(
    admin_client, processed, media_root, django_capture_on_commit_callbacks
):
    document, other = processed
    url = reverse("admin:documents_document_delete", args=[document.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert list(Document.objects.all()) == [other]
    other.refresh_from_db()
    assert stored_files(media_root) == sorted([other.file.name, other.thumbnail.name])


def test_delete_selected_in_the_admin_removes_the_files(
    admin_client, processed, media_root, django_capture_on_commit_callbacks
):
    url = reverse("admin:documents_document_changelist")
    selected = {
        "action": "delete_selected",
        "_selected_action": [document.pk for document in processed],
        "post": "yes",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, selected)
    assert response.status_code == 302
    assert not Document.objects.exists()
    assert stored_files(media_root) == []
