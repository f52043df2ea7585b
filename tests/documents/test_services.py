import re
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from structlog.testing import capture_logs

from apps.documents import pipeline, services, tasks
from apps.documents.api import get_document_summary
from apps.documents.models import Document, ProcessingAttempt
from city.celery import app as celery_app
from city.errors import IllegalStateChange, PayloadTooLarge, UnsupportedMediaType
from tests.documents import samples
from tests.documents.conftest import stored_files, upload

Outcome = ProcessingAttempt.Outcome

# --- upload -----------------------------------------------------------------------------


def test_upload_stores_under_a_generated_name_and_queues_after_commit(
    owner, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        result = upload(owner, b"A note", name="../../etc/passwd")
    document = result.document
    assert len(queued) == 1  # sent once the row is committed, not before
    assert not result.duplicate
    assert re.fullmatch(r"documents/[0-9a-f]{32}", document.file.name)
    assert stored_files(media_root) == [document.file.name]
    assert (media_root / document.file.name).read_bytes() == b"A note"
    assert document.original_name == "passwd"
    assert document.title == "passwd"
    assert (document.status, document.mime_type, document.size) == ("pending", "text/plain", 6)
    assert document.sha256 == pipeline.checksum([b"A note"])


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("C:\\Users\\ada\\lease.pdf", "lease.pdf"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # no right-to-left override
        ("pay\nslip\x00.pdf", "payslip.pdf"),
        ("  ...hidden.txt ", "hidden.txt"),
        ("", "document"),
        ("/", "document"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_display_name_is_safe_to_show_and_offer(raw, shown):
    assert services.display_name(raw) == shown


def test_upload_keeps_a_given_title(owner):
    assert upload(owner, title="  March rent  ").document.title == "March rent"


def test_upload_with_a_title_over_255_characters_is_400_and_stores_nothing(owner, media_root):
    with pytest.raises(ValidationError) as refused:
        upload(owner, title="t" * 256)
    assert "title" in refused.value.detail
    assert not Document.objects.exists()
    assert stored_files(media_root) == []
    assert upload(owner, title=f"  {'t' * 255}  ").document.title == "t" * 255


def test_upload_of_unknown_type_is_415_and_stores_nothing(owner, media_root):
    with pytest.raises(UnsupportedMediaType) as refused:
        upload(owner, samples.GIF, name="lease.pdf")
    assert refused.value.details["detected"] == "image/gif"
    assert "application/pdf" in refused.value.details["accepted"]
    assert not Document.objects.exists()
    assert stored_files(media_root) == []


def test_empty_upload_is_400(owner):
    with pytest.raises(ValidationError, match="empty"):
        upload(owner, b"")


def test_upload_over_the_limit_is_413(owner, settings):
    settings.DOCUMENTS_MAX_UPLOAD_BYTES = 5
    with pytest.raises(PayloadTooLarge):
        upload(owner, b"123456")
    assert not Document.objects.exists()


def test_same_bytes_again_give_the_same_document_stored_once(owner, stranger, media_root):
    first = upload(owner, b"same bytes", name="a.txt").document
    again = upload(owner, b"same bytes", name="b.txt")
    assert again.duplicate
    assert again.document.pk == first.pk
    assert len(stored_files(media_root)) == 1
    # another owner's copy is theirs: nobody learns what others uploaded
    theirs = upload(stranger, b"same bytes")
    assert not theirs.duplicate
    assert theirs.document.owner == stranger


def test_allow_duplicate_stores_a_second_copy(owner, media_root):
    first = upload(owner, b"same bytes").document
    second = upload(owner, b"same bytes", allow_duplicate=True)
    assert not second.duplicate
    assert second.document.pk != first.pk
    assert len(stored_files(media_root)) == 2


# --- processing -------------------------------------------------------------------------


def test_processing_records_every_result_and_a_thumbnail(owner, media_root):
    data = samples.pdf(
        [["PAYSLIP", "Gross pay 3000", "Net pay 2100"]],
        info={"Title": "March", "Author": "ACME", "CreationDate": "D:20260102030405Z"},
    )
    document = upload(owner, data, name="march.pdf").document
    processed = services.document_process(document_id=document.pk, worker="w1")
    assert processed.status == "processed"
    assert processed.attempts == 1
    assert processed.page_count == 1
    assert "Net pay 2100" in processed.text
    assert (processed.meta_title, processed.meta_author) == ("March", "ACME")
    assert processed.kind == "payslip"
    assert processed.processed_at is not None
    assert (media_root / processed.thumbnail.name).read_bytes().startswith(b"\x89PNG")
    [run] = processed.runs.all()
    assert (run.outcome, run.number, run.worker) == (Outcome.PROCESSED, 1, "w1")


def test_a_second_delivery_does_not_process_again(owner):
    document = upload(owner).document
    assert services.document_process(document_id=document.pk) is not None
    assert services.document_process(document_id=document.pk) is None
    assert ProcessingAttempt.objects.filter(document=document).count() == 1


def test_a_message_for_a_deleted_document_does_nothing(owner):
    document = upload(owner).document
    Document.objects.filter(pk=document.pk).delete()
    assert services.document_process(document_id=document.pk) is None


@pytest.mark.parametrize(
    ("data", "name", "step", "words"),
    [
        (b"%PDF-1.4\n\x00\x01 not really", "broken.pdf", "extract", "The PDF could not be read"),
        (samples.encrypted_pdf(), "locked.pdf", "extract", "password-protected"),
        (samples.pdf([]), "empty.pdf", "extract", "no pages"),
        (samples.LATIN1_TEXT, "paie.txt", "extract", "not UTF-8"),
        (samples.png_claiming(50_000, 50_000), "bomb.png", "extract", "too large"),
        (
            samples.zip_file({"[Content_Types].xml": b"<x/>", "word/document.xml": b"junk"}),
            "broken.docx",
            "extract",
            "The DOCX could not be read",
        ),
    ],
)
def test_a_bad_file_fails_with_the_step_and_a_reason_and_the_next_is_processed(
    owner, data, name, step, words
):
    bad = upload(owner, data, name=name).document
    good = upload(owner, samples.pdf(), name="good.pdf").document
    failed = services.document_process(document_id=bad.pk)
    assert failed.status == "failed"
    assert failed.failure_step == step
    assert words in failed.failure_reason
    assert failed.runs.get().outcome == Outcome.FAILED
    assert services.document_process(document_id=good.pk).status == "processed"


def test_a_stored_file_that_changed_fails_the_checksum(owner, media_root):
    document = upload(owner, b"original text").document
    (media_root / document.file.name).write_bytes(b"tampered text")
    failed = services.document_process(document_id=document.pk)
    assert (failed.status, failed.failure_step) == ("failed", "checksum")


def test_a_missing_stored_file_fails_clearly(owner, media_root):
    document = upload(owner).document
    (media_root / document.file.name).unlink()
    failed = services.document_process(document_id=document.pk)
    assert (failed.failure_step, failed.failure_reason) == (
        "read",
        "The stored file is missing; upload it again.",
    )


def test_a_transient_error_gives_the_claim_back_for_the_retry(owner, monkeypatch):
    document = upload(owner).document

    def database_hiccup(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "run", database_hiccup)
        with pytest.raises(OperationalError):
            services.document_process(document_id=document.pk)
    document.refresh_from_db()
    assert (document.status, document.attempts) == ("pending", 1)
    assert document.runs.get().outcome == Outcome.RELEASED
    assert services.document_process(document_id=document.pk).status == "processed"
    assert [run.outcome for run in document.runs.all()] == [Outcome.RELEASED, Outcome.PROCESSED]


def test_a_thumbnail_is_not_left_behind_when_recording_the_outcome_fails(
    owner, media_root, monkeypatch
):
    document = upload(owner, samples.image(), name="scan.png").document
    end_run = services._end_run

    def database_gone(claim, outcome, error=""):
        if outcome == Outcome.PROCESSED:
            raise OperationalError("server closed the connection unexpectedly")
        end_run(claim, outcome, error)

    monkeypatch.setattr(services, "_end_run", database_gone)
    with pytest.raises(OperationalError):
        services.document_process(document_id=document.pk)
    assert stored_files(media_root) == [document.file.name]
    document.refresh_from_db()
    assert (document.status, document.thumbnail.name) == ("pending", "")


def test_a_thumbnail_is_not_left_behind_when_the_time_limit_stops_recording_the_outcome(
    owner, media_root, monkeypatch
):
    document = upload(owner, samples.image(), name="scan.png").document
    end_run = services._end_run

    def time_is_up(claim, outcome, error=""):
        if outcome == Outcome.PROCESSED:
            raise SoftTimeLimitExceeded
        end_run(claim, outcome, error)

    monkeypatch.setattr(services, "_end_run", time_is_up)
    failed = services.document_process(document_id=document.pk)
    assert (failed.status, failed.thumbnail.name) == ("failed", "")
    assert stored_files(media_root) == [document.file.name]


def _claimed_long_ago(document: Document, *, attempts: int = 1) -> None:
    long_ago = timezone.now() - timedelta(hours=1)
    Document.objects.filter(pk=document.pk).update(
        status="processing", attempts=attempts, processing_started_at=long_ago
    )
    ProcessingAttempt.objects.create(document=document, number=attempts)


def test_a_run_whose_worker_died_is_taken_over_once_stale(owner):
    document = upload(owner).document
    _claimed_long_ago(document)
    processed = services.document_process(document_id=document.pk)
    assert (processed.status, processed.attempts) == ("processed", 2)
    assert [run.outcome for run in processed.runs.all()] == [Outcome.ABANDONED, Outcome.PROCESSED]


def test_a_run_in_progress_is_not_taken_over(owner):
    document = upload(owner).document
    Document.objects.filter(pk=document.pk).update(
        status="processing", attempts=1, processing_started_at=timezone.now()
    )
    assert services.document_process(document_id=document.pk) is None


# --- the sweep --------------------------------------------------------------------------


def test_sweep_queues_again_what_is_stale_and_leaves_fresh_work(
    owner, django_capture_on_commit_callbacks
):
    lost = upload(owner, b"lost message").document
    Document.objects.filter(pk=lost.pk).update(queued_at=timezone.now() - timedelta(hours=1))
    crashed = upload(owner, b"crashed worker").document
    _claimed_long_ago(crashed)
    upload(owner, b"just queued")
    with django_capture_on_commit_callbacks(execute=True) as sent:
        sweep = services.documents_sweep()
    assert sorted(sweep.requeued) == sorted([lost.pk, crashed.pk])
    assert len(sent) == 2
    assert Document.objects.get(pk=lost.pk).status == "processed"  # in-process (eager)
    assert Document.objects.get(pk=crashed.pk).status == "processed"
    assert Document.objects.filter(status="pending").count() == 1


def test_sweep_fails_a_document_out_of_attempts_with_the_reason(owner, settings):
    document = upload(owner).document
    _claimed_long_ago(document, attempts=settings.DOCUMENTS_MAX_ATTEMPTS)
    assert services.document_process(document_id=document.pk) is None  # no claim left
    sweep = services.documents_sweep()
    assert sweep.failed == [document.pk]
    document.refresh_from_db()
    assert document.status == "failed"
    assert "did not finish in 3 attempts" in document.failure_reason
    assert document.runs.get().outcome == Outcome.ABANDONED


def test_sweep_fails_a_document_whose_retries_ran_out_with_the_last_error(owner, settings):
    document = upload(owner).document
    long_ago = timezone.now() - timedelta(hours=1)
    Document.objects.filter(pk=document.pk).update(
        attempts=settings.DOCUMENTS_MAX_ATTEMPTS, queued_at=long_ago
    )
    for number in range(1, settings.DOCUMENTS_MAX_ATTEMPTS + 1):
        ProcessingAttempt.objects.create(
            document=document, number=number, outcome=Outcome.RELEASED, error=f"timeout {number}"
        )
    assert services.documents_sweep().failed == [document.pk]
    document.refresh_from_db()
    assert document.status == "failed"
    assert "the last one stopped on: timeout 3." in document.failure_reason
    assert "worker stopped" not in document.failure_reason


def test_retries_of_a_transient_error_stop_when_the_attempts_do(owner, monkeypatch, settings):
    document = upload(owner).document

    def database_hiccup(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(pipeline, "run", database_hiccup)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)  # retries run inline
    result = tasks.process_document.apply(args=(document.pk,))
    # Every delivery claimed the document: none was a retry with nothing left to do.
    assert result.failed()
    assert isinstance(result.result, OperationalError)
    document.refresh_from_db()
    assert document.attempts == settings.DOCUMENTS_MAX_ATTEMPTS
    assert [run.outcome for run in document.runs.all()] == [
        Outcome.RELEASED
    ] * settings.DOCUMENTS_MAX_ATTEMPTS


def test_sweep_command_takes_a_timeout(owner, capsys):
    upload(owner)
    call_command("documents_sweep", "--older-than", "0")
    assert "requeued 1, failed 0" in capsys.readouterr().out


# --- reprocess, delete ------------------------------------------------------------------


def test_reprocess_queues_a_failed_document_again(owner, django_capture_on_commit_callbacks):
    document = upload(owner, samples.pdf([]), name="empty.pdf").document
    services.document_process(document_id=document.pk)
    with django_capture_on_commit_callbacks() as sent:
        queued = services.document_reprocess(document=document)
    assert len(sent) == 1
    assert (queued.status, queued.attempts, queued.failure_reason) == ("pending", 0, "")


def test_reprocess_replaces_the_thumbnail(owner, media_root, django_capture_on_commit_callbacks):
    document = upload(owner, samples.image(), name="scan.png").document
    first = services.document_process(document_id=document.pk).thumbnail.name
    services.document_reprocess(document=document)
    with django_capture_on_commit_callbacks(execute=True):
        second = services.document_process(document_id=document.pk).thumbnail.name
    assert first != second
    assert stored_files(media_root) == sorted([document.file.name, second])


def test_a_reprocess_that_fails_keeps_nothing_of_the_earlier_results(
    owner, media_root, django_capture_on_commit_callbacks
):
    document = upload(owner, samples.jpeg_with_exif(), name="passport.jpg").document
    before = services.document_process(document_id=document.pk)
    assert before.kind == "identity"
    assert (before.page_count, before.meta_author, bool(before.thumbnail)) == (
        1,
        "Ada Lovelace",
        True,
    )
    services.document_reprocess(document=document)
    (media_root / document.file.name).write_bytes(b"changed since upload")
    with django_capture_on_commit_callbacks(execute=True):
        failed = services.document_process(document_id=document.pk)
    assert (failed.status, failed.failure_step) == ("failed", "checksum")
    assert (failed.kind, failed.text, failed.page_count) == ("", "", None)
    assert (failed.meta_title, failed.meta_author, failed.meta_created) == ("", "", None)
    assert failed.thumbnail.name == ""
    assert stored_files(media_root) == [document.file.name]
    summary = get_document_summary(document.pk, owner_id=owner.pk)
    assert (summary.status, summary.kind) == ("failed", "")


def test_sweep_failing_a_reprocess_keeps_nothing_of_the_earlier_results(
    owner, media_root, settings, django_capture_on_commit_callbacks
):
    document = upload(owner, samples.image(), name="scan.png").document
    services.document_process(document_id=document.pk)
    services.document_reprocess(document=document)
    _claimed_long_ago(document, attempts=settings.DOCUMENTS_MAX_ATTEMPTS)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.documents_sweep().failed == [document.pk]
    failed = Document.objects.get(pk=document.pk)
    assert (failed.status, failed.kind, failed.page_count, failed.thumbnail.name) == (
        "failed",
        "",
        None,
        "",
    )
    assert stored_files(media_root) == [document.file.name]


def test_reprocess_of_queued_work_is_an_illegal_state_change(owner):
    document = upload(owner).document
    with pytest.raises(IllegalStateChange, match="pending"):
        services.document_reprocess(document=document)


def test_delete_removes_the_row_and_the_files(
    owner, media_root, django_capture_on_commit_callbacks
):
    document = upload(owner, samples.image(), name="scan.png").document
    services.document_process(document_id=document.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.document_delete(document=Document.objects.get(pk=document.pk))
    assert not Document.objects.exists()
    assert not ProcessingAttempt.objects.exists()
    assert stored_files(media_root) == []


def test_delete_logs_the_id_of_the_deleted_document(owner):
    document = upload(owner).document
    document_id = document.pk
    with capture_logs() as logs:
        services.document_delete(document=document)
    [line] = [line for line in logs if line["event"] == "document_deleted"]
    assert line["document_id"] == document_id
    assert line["logger"] == "apps.documents.services"
