import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.documents.models import Document
from tests.contract import error_of
from tests.documents import samples
from tests.documents.conftest import stored_files

URL = "/api/documents/"


@pytest.fixture
def client(api, owner):
    api.force_authenticate(owner)
    return api


def post_file(client, data: bytes, name: str = "note.txt", **fields):
    # The client's content type is a claim we ignore: the bytes decide.
    file = SimpleUploadedFile(name, data, content_type="application/pdf")
    return client.post(URL, {"file": file, **fields}, format="multipart")


@pytest.fixture
def processed(client, django_capture_on_commit_callbacks):
    """Upload through the API and process in-process (the embedded default)."""

    def make(data: bytes, name: str, **fields) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_file(client, data, name, **fields)
        assert response.status_code == 202, response.content
        return client.get(response.json()["links"]["detail"]).json()

    return make


# --- upload -----------------------------------------------------------------------------


def test_upload_answers_202_before_processing_with_links(
    client, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = post_file(client, samples.pdf(), name="Lease March.pdf", title="My lease")
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["title"], body["original_name"]) == (
        "pending",
        "My lease",
        "Lease March.pdf",
    )
    assert body["duplicate"] is False
    assert body["mime_type"] == "application/pdf"
    assert body["failure"] is None
    assert body["text_excerpt"] is None
    detail = f"http://testserver{URL}{body['id']}/"
    assert response["Location"] == detail
    assert body["links"] == {
        "detail": detail,
        "download": f"{detail}download/",
        "reprocess": f"{detail}reprocess/",
    }
    assert len(queued) == 1
    assert len(stored_files(media_root)) == 1


def test_upload_needs_authentication(api):
    response = post_file(api, b"note")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("data", "name", "detected"),
    [
        (samples.GIF, "lease.pdf", "image/gif"),
        (samples.ELF, "payslip.pdf", "application/x-executable"),
        (samples.zip_file({"evil.txt": b"x"}), "lease.docx", "application/zip"),
        (samples.UTF16_TEXT, "note.txt", "text/plain; charset=utf-16"),
        (bytes(range(256)) * 4, "scan.jpg", "application/octet-stream"),
    ],
)
def test_upload_of_unknown_type_is_415_naming_what_was_detected_and_stores_nothing(
    client, media_root, data, name, detected
):
    response = post_file(client, data, name)
    assert response.status_code == 415
    error = error_of(response)
    assert error["code"] == "unsupported_media_type"
    assert error["details"]["detected"] == detected
    assert error["details"]["accepted"] == [
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/plain",
        "image/png",
        "image/jpeg",
        "image/tiff",
    ]
    assert detected in error["message"]
    assert "PDF, DOCX, plain text (UTF-8), PNG, JPEG, TIFF" in error["message"]
    assert not Document.objects.exists()
    assert stored_files(media_root) == []


def test_empty_upload_is_400(client):
    response = post_file(client, b"", "empty.txt")
    assert response.status_code == 400
    assert error_of(response)["message"] == "file: The file is empty."


def test_upload_without_a_file_is_400(client):
    response = client.post(URL, {"title": "no file"}, format="multipart")
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["file"]


def test_upload_with_a_title_over_255_characters_is_400_and_stores_nothing(client, media_root):
    response = post_file(client, b"A note", title="t" * 256)
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["title"]
    assert not Document.objects.exists()
    assert stored_files(media_root) == []


def test_upload_as_json_is_415(client):
    response = client.post(URL, {"file": "not a file"}, format="json")
    assert response.status_code == 415


def test_upload_one_byte_over_the_limit_is_413_while_streaming(client, settings, media_root):
    settings.DOCUMENTS_MAX_UPLOAD_BYTES = 1000
    assert post_file(client, b"x" * 1000).status_code == 202
    response = post_file(client, b"y" * 1001)
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large"
    assert error["details"] == {"max_bytes": 1000}
    assert Document.objects.count() == 1


def test_upload_announcing_a_body_over_the_limit_is_413_before_reading_it(client):
    # The body is not there: answering at all proves it was not read.
    response = client.generic(
        "POST",
        URL,
        b"--b\r\n",
        content_type="multipart/form-data; boundary=b",
        CONTENT_LENGTH=str(10**12),
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert not Document.objects.exists()


def test_upload_of_bytes_already_there_is_200_with_the_same_document(client, media_root):
    first = post_file(client, b"same", "a.txt").json()
    again = post_file(client, b"same", "b.txt")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["duplicate"] is True
    assert len(stored_files(media_root)) == 1
    copy = post_file(client, b"same", "b.txt", allow_duplicate="true")
    assert copy.status_code == 202
    assert copy.json()["id"] != first["id"]


def test_allow_duplicate_must_be_a_boolean(client):
    response = post_file(client, b"same", allow_duplicate="perhaps")
    assert response.status_code == 400
    assert "allow_duplicate" in error_of(response)["details"]


# --- results ----------------------------------------------------------------------------


def test_a_processed_pdf_shows_its_results(processed):
    data = samples.pdf(
        [["INVOICE 42", "Amount due: 120 EUR"], ["page two"]],
        info={"Title": "Invoice", "Author": "ACME", "CreationDate": "D:20260102030405Z"},
    )
    body = processed(data, "invoice.pdf")
    assert body["status"] == "processed"
    assert body["failure"] is None
    assert body["attempts"] == 1
    assert body["size"] == len(data)
    assert len(body["sha256"]) == 64
    assert body["page_count"] == 2
    assert body["kind"] == "invoice"
    assert "Amount due: 120 EUR" in body["text_excerpt"]
    assert body["metadata"] == {
        "title": "Invoice",
        "author": "ACME",
        "created": "2026-01-02T03:04:05Z",
    }
    assert set(body["links"]) == {"detail", "download", "reprocess", "text", "thumbnail"}


def test_a_failed_document_says_where_and_why(processed):
    body = processed(samples.encrypted_pdf(), "locked.pdf")
    assert body["status"] == "failed"
    assert body["failure"] == {
        "step": "extract",
        "reason": "The PDF is password-protected; upload a copy without a password.",
    }
    assert "text" not in body["links"]


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"%PDF-1.7\ncorrupt \x00\x01\x02", "corrupt.pdf", "The PDF could not be read"),
        (samples.pdf([]), "zero.pdf", "no pages"),
        (samples.png_claiming(50_000, 50_000), "bomb.png", "too large"),
        (
            samples.zip_file({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<?"}),
            "fake.docx",
            "The DOCX could not be read",
        ),
        (samples.LATIN1_TEXT, "latin1.txt", "not UTF-8"),
    ],
)
def test_every_bad_file_ends_failed_with_a_reason(processed, data, name, words):
    body = processed(data, name)
    assert body["status"] == "failed"
    assert words in body["failure"]["reason"]


def test_text_is_served_whole_as_plain_text(client, processed):
    long_text = "Lease. " + "word " * 400 + "THE END"
    body = processed(long_text.encode(), "long.txt")
    assert len(body["text_excerpt"]) == 500
    response = client.get(body["links"]["text"])
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content.decode() == long_text


def test_download_gives_the_original_bytes_as_an_attachment(client, processed):
    data = samples.image("PNG")
    body = processed(data, "Scan of passport (1).png")
    response = client.get(body["links"]["download"], HTTP_ACCEPT="image/png")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == ('attachment; filename="Scan of passport (1).png"')
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_download_of_a_non_ascii_name_is_encoded(client, processed):
    body = processed(b"Bonjour", "re\u0301sume\u0301 été.txt")  # decomposed accents
    response = client.get(body["links"]["download"])
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20%C3%A9t%C3%A9.txt"
    )


def test_thumbnail_of_an_image_is_a_png(client, processed):
    body = processed(samples.image("JPEG", size=(800, 600)), "photo.jpg")
    response = client.get(body["links"]["thumbnail"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_no_thumbnail_for_text_is_404(client, processed):
    body = processed(b"plain", "a.txt")
    assert "thumbnail" not in body["links"]
    response = client.get(f"{body['links']['detail']}thumbnail/")
    assert response.status_code == 404


# --- list, filters, search --------------------------------------------------------------


def test_list_shows_only_your_documents(api, owner, stranger):
    api.force_authenticate(stranger)
    post_file(api, b"theirs")
    api.force_authenticate(owner)
    post_file(api, b"mine")
    body = api.get(URL).json()
    assert body["count"] == 1
    assert body["results"][0]["original_name"] == "note.txt"
    assert Document.objects.get(pk=body["results"][0]["id"]).owner == owner


@pytest.fixture
def library(processed):
    return {
        "lease": processed(samples.pdf([["Tenancy agreement", "Landlord: City"]]), "a.pdf"),
        "payslip": processed(b"Payslip. Net pay 2100. Employer: Harbour Bakery", "pay.txt"),
        "failed": processed(samples.pdf([]), "empty.pdf"),
    }


def test_list_is_paginated_newest_first(client, library):
    body = client.get(URL).json()
    assert body["count"] == 3
    assert [doc["original_name"] for doc in body["results"]] == ["empty.pdf", "pay.txt", "a.pdf"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "failed"}, ["failed"]),
        ({"status": "processed"}, ["payslip", "lease"]),
        ({"kind": "lease"}, ["lease"]),
        ({"q": "harbour"}, ["payslip"]),
        ({"q": "landlord city"}, ["lease"]),
        ({"q": "harbour landlord"}, []),
        ({"q": "nothing-like-it"}, []),
    ],
)
def test_list_filters_and_search(client, library, query, expected):
    ids = [doc["id"] for doc in client.get(URL, query).json()["results"]]
    assert ids == [library[name]["id"] for name in expected]


def test_list_filters_by_creation_date(client, library):
    Document.objects.filter(pk=library["lease"]["id"]).update(
        created_at=timezone.now() - datetime.timedelta(days=40)
    )
    today = timezone.now().date()
    recent = client.get(URL, {"created_after": today.isoformat()}).json()
    assert library["lease"]["id"] not in [doc["id"] for doc in recent["results"]]
    old = client.get(URL, {"created_before": (today - datetime.timedelta(days=30)).isoformat()})
    assert [doc["id"] for doc in old.json()["results"]] == [library["lease"]["id"]]


def test_list_with_a_bad_filter_is_400(client):
    response = client.get(URL, {"status": "lost", "created_after": "yesterday"})
    assert response.status_code == 400
    assert set(error_of(response)["details"]) == {"status", "created"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"kind": "bogus"}, "kind"),
        ({"kind": "LEASE"}, "kind"),
        ({"status": "bogus"}, "status"),
        ({"created_after": "2026-02-30"}, "created"),
        ({"created_before": "bogus"}, "created"),
    ],
)
def test_list_with_one_bad_filter_value_is_400_and_changes_nothing(client, library, query, field):
    before = list(Document.objects.order_by("pk").values())
    response = client.get(URL, query)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert list(error_of(response)["details"]) == [field]
    assert list(Document.objects.order_by("pk").values()) == before


# --- reprocess, delete ------------------------------------------------------------------


def test_reprocess_a_failed_document(client, processed, django_capture_on_commit_callbacks):
    body = processed(samples.pdf([]), "empty.pdf")
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(body["links"]["reprocess"])
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["failure"]) == ("pending", None)
    assert len(queued) == 1


def test_reprocess_of_a_pending_document_is_422(client):
    body = post_file(client, b"queued").json()
    response = client.post(body["links"]["reprocess"])
    assert response.status_code == 422
    assert error_of(response)["code"] == "illegal_state_change"


def test_delete_removes_the_document_and_its_files(
    client, processed, media_root, django_capture_on_commit_callbacks
):
    body = processed(samples.image(), "scan.png")
    assert len(stored_files(media_root)) == 2  # the file and its thumbnail
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(body["links"]["detail"])
    assert response.status_code == 204
    assert client.get(body["links"]["detail"]).status_code == 404
    assert stored_files(media_root) == []


# --- nobody sees another's documents ----------------------------------------------------

OBJECT_ROUTES = [
    ("get", ""),
    ("delete", ""),
    ("get", "download/"),
    ("get", "text/"),
    ("get", "thumbnail/"),
    ("post", "reprocess/"),
]


@pytest.mark.parametrize(("method", "suffix"), OBJECT_ROUTES)
def test_another_users_document_is_404_like_one_that_does_not_exist(
    api, owner, stranger, processed, method, suffix
):
    theirs = processed(samples.image(), "their-passport.png")
    api.force_authenticate(stranger)
    response = getattr(api, method)(f"{URL}{theirs['id']}/{suffix}")
    missing = getattr(api, method)(f"{URL}999999/{suffix}")
    assert response.status_code == missing.status_code == 404
    assert error_of(response)["message"] == error_of(missing)["message"] == "No such document."
    assert Document.objects.get(pk=theirs["id"]).status == "processed"  # untouched


def test_list_in_a_browser_shows_the_filters(client):
    response = client.get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"created_after" in response.content
