"""The documents service with a real Redis and real Celery worker processes.

Uploads go through the API of this process, which publishes to Redis once the row is
committed; a worker process (with beat, so the sweep runs on its real schedule) shares
the test database and the media directory.
"""

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.documents.models import Document, ProcessingAttempt
from tests import servers
from tests.documents import samples
from tests.factories import UserFactory

URL = "/api/documents/"
DONE = ("processed", "failed")
WAIT_SECONDS = 90  # a bound so a broken run fails instead of hanging; never a measure
STALE_AFTER_SECONDS = 2


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def client(api, transactional_db):
    api.force_authenticate(UserFactory())
    return api


@contextmanager
def documents_worker(
    *,
    database_url: str,
    broker_url: str,
    media_root: Path,
    log: Path,
    stale_after: int = STALE_AFTER_SECONDS,
) -> Iterator:
    """A worker on the documents queue, with beat sweeping every second for documents
    pending or processing for more than `stale_after` seconds."""
    env = servers.subprocess_env(
        DJANGO_SETTINGS_MODULE="city.settings.test",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        MEDIA_ROOT=str(media_root),
        DOCUMENTS_STALE_AFTER_SECONDS=str(stale_after),
        DOCUMENTS_SWEEP_INTERVAL_SECONDS="1",
    )
    with servers.celery_worker(
        queues=["documents"], env=env, log=log, beat_schedule=log.with_suffix(".beat")
    ) as worker:
        yield worker


def upload(client, data: bytes, name: str) -> int:
    response = client.post(URL, {"file": SimpleUploadedFile(name, data)}, format="multipart")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    return response.json()["id"]


def wait_until_done(ids: list[int], *, worker=None) -> dict[int, Document]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        documents = Document.objects.in_bulk(ids)
        if all(document.status in DONE for document in documents.values()):
            return documents
        if worker is not None:
            assert worker.poll() is None, "the worker died"
        time.sleep(0.2)
    pending = Document.objects.filter(pk__in=ids).exclude(status__in=DONE)
    pytest.fail(f"not done after {WAIT_SECONDS}s: {list(pending.values('pk', 'status'))}")


def good_batch(count: int) -> list[tuple[bytes, str]]:
    makers = [
        lambda n: (samples.pdf([[f"Lease agreement number {n}", "Landlord: City"]]), "lease.pdf"),
        lambda n: (samples.docx_file([f"Payslip {n}", "Net pay 2000"]), "payslip.docx"),
        lambda n: (f"Invoice {n}: amount due 100 EUR".encode(), "invoice.txt"),
        lambda n: (samples.image("PNG", size=(40 + n, 30)), "scan.png"),
        lambda n: (samples.image("JPEG", size=(40 + n, 30)), "photo.jpg"),
    ]
    return [makers[n % len(makers)](n) for n in range(count)]


def processed_runs(document_id: int) -> int:
    return ProcessingAttempt.objects.filter(
        document_id=document_id, outcome=ProcessingAttempt.Outcome.PROCESSED
    ).count()


def test_a_mixed_batch_is_processed_and_bad_files_fail_without_harming_the_worker(
    client, live_database_url, redis_url, media_root, tmp_path
):
    bad = [
        (b"%PDF-1.4\n\x00\x01 corrupt", "corrupt.pdf"),
        (samples.encrypted_pdf(), "locked.pdf"),
        (samples.pdf([]), "zero-pages.pdf"),
        (samples.png_claiming(50_000, 50_000), "bomb.png"),
        (samples.zip_file({"[Content_Types].xml": b"<x/>", "word/document.xml": b"?"}), "x.docx"),
        (samples.LATIN1_TEXT, "latin1.txt"),
    ]
    with (
        servers.publishing_to(redis_url),
        documents_worker(
            database_url=live_database_url,
            broker_url=redis_url,
            media_root=media_root,
            log=tmp_path / "worker.log",
            stale_after=3600,  # no sweep: every document arrives by its own message
        ) as worker,
    ):
        bad_ids = [upload(client, data, name) for data, name in bad]
        good_ids = [upload(client, data, name) for data, name in good_batch(30)]
        documents = wait_until_done(bad_ids + good_ids, worker=worker)
        assert worker.poll() is None
    assert [documents[pk].status for pk in good_ids] == ["processed"] * 30
    assert {documents[pk].kind for pk in good_ids} == {"lease", "payslip", "invoice", "other"}
    for pk in bad_ids:
        assert documents[pk].status == "failed"
        assert documents[pk].failure_step == "extract"
        assert documents[pk].failure_reason
    assert all(processed_runs(pk) == 1 for pk in good_ids)


def test_a_worker_killed_mid_batch_loses_nothing_and_processes_each_document_once(
    client, live_database_url, redis_url, media_root, tmp_path
):
    # Pages enough that processing, not bookkeeping, takes most of the worker's time
    # (about a tenth of a second a document), so a kill sent as soon as a document is
    # seen claimed lands in the middle of it.
    pages = [[f"Line {line} of page {page}" for line in range(30)] for page in range(60)]
    worker_options = {
        "database_url": live_database_url,
        "broker_url": redis_url,
        "media_root": media_root,
    }
    in_progress = Document.objects.filter(status="processing")
    with servers.publishing_to(redis_url):
        ids = [
            upload(client, samples.pdf([[f"Document {n}"], *pages]), f"{n}.pdf") for n in range(30)
        ]
        assert redis.Redis.from_url(redis_url).llen("documents") == 30  # sent on commit
        with documents_worker(**worker_options, log=tmp_path / "first.log") as first:
            deadline = time.monotonic() + WAIT_SECONDS
            while not in_progress.exists():
                assert time.monotonic() < deadline, "the first worker claimed nothing"
                time.sleep(0.002)
            servers.stop(first, signal.SIGKILL)
        # The kill landed mid-document: one stays claimed by a run that will never end.
        [cut_short] = in_progress.values_list("pk", flat=True)
        assert Document.objects.filter(status="processed").count() < 30
        with documents_worker(**worker_options, log=tmp_path / "second.log") as second:
            documents = wait_until_done(ids, worker=second)
    assert {document.status for document in documents.values()} == {"processed"}
    assert [processed_runs(pk) for pk in ids] == [1] * 30
    # The run cut short by the kill is recorded as abandoned, and a later run took over.
    abandoned = ProcessingAttempt.objects.filter(outcome=ProcessingAttempt.Outcome.ABANDONED)
    assert [run.document_id for run in abandoned] == [cut_short]
    assert documents[cut_short].attempts == 2


def test_an_upload_while_redis_is_down_is_processed_once_it_is_back(
    client, live_database_url, media_root, tmp_path
):
    port = servers.free_port()
    with servers.redis_server(tmp_path, port=port) as broker_url:
        pass  # Redis was there, and is now stopped
    with servers.publishing_to(broker_url):
        document_id = upload(client, b"Uploaded while the broker was down", "note.txt")
        assert Document.objects.get(pk=document_id).status == "pending"
        with (
            servers.redis_server(tmp_path, port=port),
            documents_worker(
                database_url=live_database_url,
                broker_url=broker_url,
                media_root=media_root,
                log=tmp_path / "worker.log",
            ) as worker,
        ):
            assert redis.Redis.from_url(broker_url).llen("documents") == 0  # nothing was sent
            documents = wait_until_done([document_id], worker=worker)
            log = (tmp_path / "worker.log").read_text()
    assert documents[document_id].status == "processed"
    assert processed_runs(document_id) == 1
    assert "documents_swept" in log
