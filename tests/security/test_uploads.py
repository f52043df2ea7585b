"""One person cannot fill the disk: uploads a minute (429) and bytes stored (413), per user.

Each test sets the limit it tests, small, and checks what a refusal leaves behind: no
document, no stored file. The quota holds against concurrent uploads by one person (a
real gunicorn with threads and two workers, uploads started together).
"""

import threading
from pathlib import Path

import httpx
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token

from apps.documents.models import Document
from tests import servers
from tests.contract import error_of
from tests.factories import UserFactory

URL = "/api/documents/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture(autouse=True)
def no_counts_of_other_tests():
    # The throttle counts in the default cache, per user id; ids come back between tests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def resident(db):
    return UserFactory()


def post_file(client, data: bytes, name: str = "note.txt", **fields):
    return client.post(URL, {"file": SimpleUploadedFile(name, data), **fields}, format="multipart")


def as_user(api, user):
    api.force_authenticate(user)
    return api


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def note(number: int, size: int = 100) -> bytes:
    """A text file of `size` bytes, different for each number."""
    return f"Note {number}.\n".encode().ljust(size, b"-")


# --- uploads a minute -------------------------------------------------------------------


def test_an_upload_past_the_rate_is_429_with_retry_after_and_stores_nothing(
    api, resident, settings, media_root
):
    settings.DOCUMENTS_UPLOADS_PER_MINUTE = 3
    client = as_user(api, resident)
    for number in range(3):
        assert post_file(client, note(number)).status_code == 202

    refused = post_file(client, note(3))

    assert refused.status_code == 429
    error = error_of(refused)
    assert error["code"] == "throttled"
    assert "3 files a minute" in error["message"]
    details = error["details"]
    assert (details["limit"], details["uploads_per_minute"]) == ("uploads_per_minute", 3)
    assert 1 <= details["retry_after"] <= 60
    assert refused["Retry-After"] == str(details["retry_after"])
    assert Document.objects.filter(owner=resident).count() == 3
    assert len(stored_files(media_root)) == 3


def test_the_upload_rate_is_per_person_and_does_not_limit_reading(
    api, resident, settings, media_root
):
    settings.DOCUMENTS_UPLOADS_PER_MINUTE = 2
    client = as_user(api, resident)
    for number in range(2):
        assert post_file(client, note(number)).status_code == 202
    assert post_file(client, note(2)).status_code == 429

    assert client.get(URL).status_code == 200  # listing is no upload
    other = as_user(api, UserFactory())
    assert post_file(other, note(3)).status_code == 202
    assert Document.objects.count() == 3
    assert len(stored_files(media_root)) == 3


# --- bytes stored -----------------------------------------------------------------------


def test_an_upload_past_the_quota_is_413_naming_it_and_stores_nothing(
    api, resident, settings, media_root
):
    settings.DOCUMENTS_QUOTA_BYTES = 1000
    client = as_user(api, resident)
    assert post_file(client, note(1, size=600)).status_code == 202

    refused = post_file(client, note(2, size=500))

    assert refused.status_code == 413
    error = error_of(refused)
    assert error["code"] == "too_large"
    assert error["details"] == {
        "limit": "storage_quota",
        "quota_bytes": 1000,
        "used_bytes": 600,
        "upload_bytes": 500,
    }
    assert "600 of your 1000 bytes" in error["message"]
    assert Document.objects.filter(owner=resident).count() == 1
    assert len(stored_files(media_root)) == 1
    # What fits exactly is taken; another person's quota is their own.
    assert post_file(client, note(3, size=400)).status_code == 202
    assert post_file(as_user(api, UserFactory()), note(4, size=900)).status_code == 202


def test_duplicates_stored_on_purpose_count_toward_the_quota(api, resident, settings, media_root):
    settings.DOCUMENTS_QUOTA_BYTES = 1000
    client = as_user(api, resident)
    same = note(1, size=400)
    assert post_file(client, same).status_code == 202
    assert post_file(client, same, allow_duplicate="true").status_code == 202

    refused = post_file(client, same, allow_duplicate="true")

    assert refused.status_code == 413
    assert error_of(refused)["details"] == {
        "limit": "storage_quota",
        "quota_bytes": 1000,
        "used_bytes": 800,
        "upload_bytes": 400,
    }
    # Without allow_duplicate the earlier document is answered: nothing more is stored.
    again = post_file(client, same)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert Document.objects.filter(owner=resident).count() == 2
    assert len(stored_files(media_root)) == 2


def test_uploads_sent_together_by_one_person_cannot_pass_the_quota_together(
    live_database_url, collected_static, tmp_path
):
    size, fits, sent = 1000, 3, 8
    resident = UserFactory()
    token = Token.objects.create(user=resident)
    media = tmp_path / "media"
    env = servers.production_env(
        DATABASE_URL=live_database_url,
        STATIC_ROOT=collected_static,
        MEDIA_ROOT=str(media),
        DOCUMENTS_QUOTA_BYTES=str(size * fits),
        DOCUMENTS_UPLOADS_PER_MINUTE="1000",
        GUNICORN_CMD_ARGS="--threads 4",
    )
    with servers.gunicorn(
        "city.settings.production", env=env, log=tmp_path / "web.log", workers=2
    ) as url:
        start = threading.Barrier(sent)
        statuses: list[int | str] = []

        def upload(number: int) -> None:
            start.wait()
            try:
                response = httpx.post(
                    f"{url}{URL}",
                    headers={"Authorization": f"Token {token.key}"},
                    files={"file": (f"{number}.txt", note(number, size=size))},
                    timeout=60,
                )
                statuses.append(response.status_code)
                if response.status_code == 413:
                    assert error_of(response)["details"]["limit"] == "storage_quota"
            except Exception as error:  # reported by the assertion below
                statuses.append(repr(error))

        threads = [threading.Thread(target=upload, args=(n,)) for n in range(sent)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)

    assert sorted(statuses, key=str) == [202] * fits + [413] * (sent - fits)
    assert Document.objects.filter(owner=resident).count() == fits
    assert len(stored_files(media)) == fits
