"""The documents service's writes: upload, processing, reprocess, delete and the sweep."""

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.documents import pipeline, sandbox
from apps.documents.models import Document, DocumentGrant, ProcessingAttempt
from city.errors import IllegalStateChange, PayloadTooLarge, UnsupportedMediaType
from city.logging import get_logger
from city.tasks import send_task_on_commit

logger = get_logger(__name__)

PROCESS_TASK = "documents.process_document"
# Failures that pass by themselves: the same work is tried again later. Anything else
# (a file we cannot read, a bug) is final for this run and said so on the document.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
NAME_MAX_LENGTH = 200
TITLE_MAX_LENGTH = Document._meta.get_field("title").max_length
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


# What processing writes, as it is before processing or after it failed.
NO_RESULTS = {
    "page_count": None,
    "text": "",
    "meta_title": "",
    "meta_author": "",
    "meta_created": None,
    "kind": "",
    "thumbnail": "",
}


@dataclass(frozen=True)
class Upload:
    document: Document
    duplicate: bool


@dataclass(frozen=True)
class Sweep:
    requeued: list[int]
    failed: list[int]


@dataclass(frozen=True)
class Claim:
    document: Document
    run: ProcessingAttempt
    token: uuid.UUID


# --- upload -----------------------------------------------------------------------------


def document_upload(
    *, owner: AbstractBaseUser, file: File, title: str = "", allow_duplicate: bool = False
) -> Upload:
    """Store `file` for `owner` and queue its processing once the row is committed.

    The type is decided from the bytes. Bytes the owner already uploaded give back that
    document (`duplicate=True`), stored and processed once, unless `allow_duplicate`.
    A file that would take the owner's stored bytes past DOCUMENTS_QUOTA_BYTES is refused
    (413) and nothing is stored; every stored document counts, duplicates kept on purpose
    too.
    """
    if not file.size:
        raise ValidationError({"file": ["The file is empty."]})
    title = title.strip()
    if len(title) > TITLE_MAX_LENGTH:
        raise ValidationError(
            {"title": [f"The title has {len(title)} characters; at most {TITLE_MAX_LENGTH}."]}
        )
    limit = settings.DOCUMENTS_MAX_UPLOAD_BYTES
    if file.size > limit:
        raise PayloadTooLarge(
            f"The file is {file.size} bytes; at most {limit} are accepted.",
            details={"max_bytes": limit},
        )
    mime_type = pipeline.sniff(file)
    if mime_type not in pipeline.ACCEPTED_TYPES:
        raise UnsupportedMediaType(
            f"The file is {mime_type}; accepted: {pipeline.ACCEPTED_NAMES}.",
            details={"detected": mime_type, "accepted": list(pipeline.ACCEPTED_TYPES)},
        )
    sha256 = pipeline.checksum(file.chunks())
    if not allow_duplicate:
        existing = Document.objects.filter(owner=owner, sha256=sha256).order_by("id").first()
        if existing is not None:
            logger.info("document_duplicate", document_id=existing.pk)
            return Upload(document=existing, duplicate=True)
    _check_quota(owner_id=owner.pk, size=file.size)  # before storing anything
    name = display_name(file.name)
    stored = default_storage.save(f"documents/{uuid.uuid4().hex}", file)
    try:
        with transaction.atomic():
            # Again, with the owner's uploads taking turns: two at once cannot both pass.
            _lock_uploads_of(owner_id=owner.pk)
            _check_quota(owner_id=owner.pk, size=file.size)
            document = Document.objects.create(
                owner=owner,
                title=title or PurePath(name).stem or name,
                original_name=name,
                file=stored,
                size=file.size,
                sha256=sha256,
                mime_type=mime_type,
                queued_at=timezone.now(),
            )
            send_task_on_commit(PROCESS_TASK, args=(document.pk,))
    except BaseException:
        default_storage.delete(stored)
        raise
    logger.info("document_uploaded", document_id=document.pk, mime_type=mime_type)
    return Upload(document=document, duplicate=False)


def _lock_uploads_of(*, owner_id: int) -> None:
    """Until the transaction ends, the owner's other uploads wait at this point: their row
    in the user table is locked (SELECT ... FOR UPDATE on PostgreSQL). SQLite ignores the
    lock and needs none: City's SQLite transactions begin IMMEDIATE, so writers take turns
    from their first statement."""
    user_ids = get_user_model().objects.select_for_update().filter(pk=owner_id)
    list(user_ids.values_list("pk", flat=True))


def _check_quota(*, owner_id: int, size: int) -> None:
    """413 if `size` more bytes would take the owner past DOCUMENTS_QUOTA_BYTES (0: none)."""
    quota = settings.DOCUMENTS_QUOTA_BYTES
    if not quota:
        return
    used = Document.objects.filter(owner_id=owner_id).aggregate(used=Sum("size"))["used"] or 0
    if used + size > quota:
        logger.info("document_over_quota", used=used, size=size, quota=quota)
        raise PayloadTooLarge(
            f"Your documents take {used} of your {quota} bytes; this file of {size} bytes "
            "would go past them. Delete documents you no longer need to make room.",
            details={
                "limit": "storage_quota",
                "quota_bytes": quota,
                "used_bytes": used,
                "upload_bytes": size,
            },
        )


def display_name(raw: str | None) -> str:
    """The uploader's file name made safe to show and to offer on download: no directory
    part, no control or bidi characters, at most NAME_MAX_LENGTH characters."""
    name = re.split(r"[\\/]", unicodedata.normalize("NFC", raw or ""))[-1]
    name = "".join(char for char in name if unicodedata.category(char) not in _REFUSED_CATEGORIES)
    name = " ".join(name.split()).lstrip(". ")
    if len(name) > NAME_MAX_LENGTH:
        suffix = PurePath(name).suffix[:16]
        name = name[: NAME_MAX_LENGTH - len(suffix)] + suffix
    return name or "document"


# --- processing -------------------------------------------------------------------------


def document_process(*, document_id: int, worker: str = "") -> Document | None:
    """Run the pipeline on a document and record the outcome; None if there was no work.

    However often the message is delivered, one run does the work: a conditional update
    claims the document (pending, or processing by a run that has gone stale) and only
    the run holding the claim writes the outcome. The file is read in a child process
    held to DOCUMENTS_PROCESSING_MEMORY_MB and DOCUMENTS_PROCESSING_TIMEOUT_SECONDS
    (`sandbox`), so no file takes this process (a worker's, or the web process's where
    tasks run in-process) past them. A file that cannot be read, or not within them,
    fails the document with the step and the reason; a transient error gives the claim
    back and is raised again for the task to retry.
    """
    claim = _claim(document_id=document_id, worker=worker)
    if claim is None:
        return None
    document = claim.document
    try:
        with document.file.open("rb") as stored:
            data = stored.read()
        results = sandbox.run(
            data,
            name=document.original_name,
            title=document.title,
            memory_mb=settings.DOCUMENTS_PROCESSING_MEMORY_MB,
            timeout_seconds=settings.DOCUMENTS_PROCESSING_TIMEOUT_SECONDS,
        )
        if results.sha256 != document.sha256:
            raise pipeline.Unreadable(
                "checksum", "The stored file differs from the upload (SHA-256); upload it again."
            )
        return _finish_processed(claim, results)
    except pipeline.Unreadable as error:
        return _finish_failed(claim, step=error.step, reason=error.reason)
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
        reason = f"Processing took longer than {limit} seconds; the file is too complex."
        return _finish_failed(claim, step="processing", reason=reason)
    except FileNotFoundError:
        reason = "The stored file is missing; upload it again."
        return _finish_failed(claim, step="read", reason=reason)
    except TRANSIENT_ERRORS as error:
        _release(claim, error)
        raise
    except Exception:
        logger.exception("document_processing_error", document_id=document_id)
        reason = "An unexpected error stopped processing; it is logged. Reprocess to try again."
        return _finish_failed(claim, step="processing", reason=reason)


def _claim(*, document_id: int, worker: str) -> Claim | None:
    now = timezone.now()
    stale = now - timedelta(seconds=settings.DOCUMENTS_STALE_AFTER_SECONDS)
    token = uuid.uuid4()
    with transaction.atomic():
        claimed = Document.objects.filter(
            Q(status=Document.Status.PENDING)
            | Q(status=Document.Status.PROCESSING, processing_started_at__lt=stale),
            pk=document_id,
            attempts__lt=settings.DOCUMENTS_MAX_ATTEMPTS,
        ).update(
            status=Document.Status.PROCESSING,
            attempts=F("attempts") + 1,
            claim_token=token,
            processing_started_at=now,
        )
        if not claimed:
            logger.info("document_not_claimed", document_id=document_id)
            return None
        document = Document.objects.get(pk=document_id)
        # A run still marked running lost its worker: this claim took over from it.
        document.runs.filter(outcome=ProcessingAttempt.Outcome.RUNNING).update(
            outcome=ProcessingAttempt.Outcome.ABANDONED, finished_at=now
        )
        run = ProcessingAttempt.objects.create(
            document=document, number=document.attempts, worker=worker
        )
    logger.info("document_claimed", document_id=document_id, attempt=document.attempts)
    return Claim(document=document, run=run, token=token)


def _holding(claim: Claim):
    return Document.objects.filter(
        pk=claim.document.pk, status=Document.Status.PROCESSING, claim_token=claim.token
    )


def _end_run(claim: Claim, outcome: str, error: str = "") -> None:
    claim.run.outcome = outcome
    claim.run.error = error
    claim.run.finished_at = timezone.now()
    claim.run.save(update_fields=["outcome", "error", "finished_at"])


def _finish_processed(claim: Claim, results: pipeline.Results) -> Document | None:
    thumbnail = ""
    if results.thumbnail_png:
        thumbnail = default_storage.save(
            f"thumbnails/{uuid.uuid4().hex}.png", ContentFile(results.thumbnail_png)
        )
    extraction = results.extraction
    try:
        with transaction.atomic():
            written = _holding(claim).update(
                status=Document.Status.PROCESSED,
                processed_at=timezone.now(),
                mime_type=results.mime_type,
                page_count=extraction.page_count,
                text=extraction.text,
                meta_title=extraction.title[:500],
                meta_author=extraction.author[:500],
                meta_created=extraction.created,
                kind=results.kind,
                thumbnail=thumbnail,
                failure_step="",
                failure_reason="",
            )
            if written:
                _end_run(claim, ProcessingAttempt.Outcome.PROCESSED)
                _delete_files_on_commit([claim.document.thumbnail.name])  # a reprocess's old one
    except BaseException:
        # Nothing refers to the new thumbnail (a database error, the soft time limit):
        # the file goes with the rolled-back transaction.
        if thumbnail:
            default_storage.delete(thumbnail)
        raise
    if not written:  # deleted meanwhile, or taken over by another run
        _delete_files_on_commit([thumbnail])
        logger.info("document_claim_lost", document_id=claim.document.pk)
        return None
    logger.info("document_processed", document_id=claim.document.pk, kind=results.kind)
    return Document.objects.get(pk=claim.document.pk)


def _finish_failed(claim: Claim, *, step: str, reason: str) -> Document | None:
    # A failed reprocess keeps nothing from the run before: no stale kind, text or thumbnail.
    with transaction.atomic():
        written = _holding(claim).update(
            status=Document.Status.FAILED,
            processed_at=timezone.now(),
            failure_step=step,
            failure_reason=reason,
            **NO_RESULTS,
        )
        if written:
            _end_run(claim, ProcessingAttempt.Outcome.FAILED, reason)
            _delete_files_on_commit([claim.document.thumbnail.name])
    logger.info("document_failed", document_id=claim.document.pk, step=step, reason=reason)
    return Document.objects.filter(pk=claim.document.pk).first() if written else None


def _release(claim: Claim, error: Exception) -> None:
    """Give the claim back so the retry (or the sweep) can take it; best effort, since the
    database may be what failed."""
    try:
        with transaction.atomic():
            if _holding(claim).update(
                status=Document.Status.PENDING, claim_token=None, queued_at=timezone.now()
            ):
                _end_run(claim, ProcessingAttempt.Outcome.RELEASED, str(error)[:1000])
    except DatabaseError:
        logger.warning("document_release_failed", document_id=claim.document.pk)
    logger.warning("document_transient_error", document_id=claim.document.pk, error=str(error))


# --- what people ask for ----------------------------------------------------------------


def document_reprocess(*, document: Document) -> Document:
    """Queue a processed or failed document again (a failure fixed, a better pipeline)."""
    with transaction.atomic():
        queued = Document.objects.filter(
            pk=document.pk, status__in=[Document.Status.PROCESSED, Document.Status.FAILED]
        ).update(
            status=Document.Status.PENDING,
            attempts=0,
            claim_token=None,
            queued_at=timezone.now(),
            failure_step="",
            failure_reason="",
        )
        document.refresh_from_db()
        if not queued:
            raise IllegalStateChange(
                f"The document is {document.status}: it is already queued for processing.",
                details={"status": document.status},
            )
        send_task_on_commit(PROCESS_TASK, args=(document.pk,))
    logger.info("document_requeued", document_id=document.pk)
    return document


def document_delete(*, document: Document) -> None:
    """Remove the document and, once that is committed, its stored file and thumbnail."""
    document_id = document.pk  # delete() sets it to None
    with transaction.atomic():
        files = [document.file.name, document.thumbnail.name]
        document.delete()
        _delete_files_on_commit(files)
    logger.info("document_deleted", document_id=document_id)


def _delete_files_on_commit(names: list[str]) -> None:
    names = [name for name in names if name]

    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    if names:
        transaction.on_commit(delete, robust=True)


# --- grants -----------------------------------------------------------------------------

MAX_GRANTED_DOCUMENTS = 50


def document_grants_create(
    *, owner_id: int, document_ids: list[int], grantee_id: int, reference: str
) -> int:
    """Let `grantee_id` read these documents of `owner_id` for `reference`; giving the same
    grant again changes nothing. A document that is not the owner's is refused, and then
    nothing is granted. Returns how many documents the grant covers."""
    wanted = set(document_ids)
    owned = set(
        Document.objects.filter(owner_id=owner_id, pk__in=wanted).values_list("pk", flat=True)
    )
    if missing := sorted(wanted - owned):
        raise ValidationError({"document_ids": [f"Document {missing[0]} does not exist."]})
    if grantee_id == owner_id:
        return len(owned)  # the owner reads their own documents anyway
    DocumentGrant.objects.bulk_create(
        [
            DocumentGrant(document_id=pk, grantee_id=grantee_id, reference=reference)
            for pk in sorted(owned)
        ],
        ignore_conflicts=True,  # already granted
    )
    logger.info("documents_granted", reference=reference, documents=len(owned))
    return len(owned)


def document_grants_revoke(*, reference: str, by_user_id: int) -> int:
    """End the grants given for `reference` that `by_user_id` gave or holds. Returns how
    many ended; none is not an error (revoking twice is the same as once)."""
    given_or_held = Q(document__owner_id=by_user_id) | Q(grantee_id=by_user_id)
    ended, _ = DocumentGrant.objects.filter(given_or_held, reference=reference).delete()
    logger.info("documents_grants_revoked", reference=reference, grants=ended)
    return ended


# --- the sweep --------------------------------------------------------------------------


def documents_sweep(*, older_than: timedelta | None = None) -> Sweep:
    """Queue again what was queued or claimed `older_than` ago and is not done.

    This recovers a claim that expired (a worker killed mid-way) and a message the broker
    lost after taking it. A processing that was never handed to the broker (it was down
    when the upload committed) is not this sweep's: its event waits in the outbox, and
    the relay sends it. A document that used up its attempts is failed with the reason
    instead of being queued for ever.
    """
    if older_than is None:
        older_than = timedelta(seconds=settings.DOCUMENTS_STALE_AFTER_SECONDS)
    now = timezone.now()
    cutoff = now - older_than
    stale = Document.objects.filter(
        Q(status=Document.Status.PENDING, queued_at__lt=cutoff)
        | Q(status=Document.Status.PROCESSING, processing_started_at__lt=cutoff)
    )
    max_attempts = settings.DOCUMENTS_MAX_ATTEMPTS
    with transaction.atomic():
        out_of_attempts = stale.filter(attempts__gte=max_attempts).only("pk", "thumbnail")
        exhausted = [
            document.pk
            for document in out_of_attempts
            if _fail_exhausted(stale, document, max_attempts=max_attempts, now=now)
        ]
        requeued = list(stale.filter(attempts__lt=max_attempts).values_list("pk", flat=True))
        Document.objects.filter(pk__in=requeued, status=Document.Status.PENDING).update(
            queued_at=now
        )
        for document_id in requeued:
            send_task_on_commit(PROCESS_TASK, args=(document_id,))
    if requeued or exhausted:
        logger.info("documents_swept", requeued=requeued, failed=exhausted)
    return Sweep(requeued=requeued, failed=exhausted)


def _fail_exhausted(
    stale: QuerySet[Document], document: Document, *, max_attempts: int, now: datetime
) -> bool:
    """Fail a document whose every attempt stopped short, saying why the last one did
    (a transient error the retries did not outlast); False if it is no longer stale."""
    last_error = document.runs.order_by("-id").values_list("error", flat=True).first()
    if last_error:
        reason = (
            f"Processing did not finish in {max_attempts} attempts; the last one stopped "
            f"on: {last_error[:500]}. Reprocess to try again."
        )
    else:
        reason = (
            f"Processing did not finish in {max_attempts} attempts (the worker stopped "
            "or ran out of time each time). Reprocess to try again."
        )
    failed = stale.filter(pk=document.pk).update(
        status=Document.Status.FAILED,
        processed_at=now,
        claim_token=None,
        failure_step="processing",
        failure_reason=reason,
        **NO_RESULTS,
    )
    if not failed:
        return False
    document.runs.filter(outcome=ProcessingAttempt.Outcome.RUNNING).update(
        outcome=ProcessingAttempt.Outcome.ABANDONED, finished_at=now
    )
    _delete_files_on_commit([document.thumbnail.name])
    return True
