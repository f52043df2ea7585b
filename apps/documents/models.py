from django.conf import settings
from django.db import models


class Document(models.Model):
    """A file a resident uploaded, and what processing read from it."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        PROCESSED = "processed"
        FAILED = "failed"

    class Kind(models.TextChoices):
        LEASE = "lease"
        IDENTITY = "identity"
        PAYSLIP = "payslip"
        INVOICE = "invoice"
        OTHER = "other"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents"
    )
    title = models.CharField(max_length=255, blank=True)
    # The uploader's file name, sanitised: shown and offered on download, never a path.
    original_name = models.CharField(max_length=255)
    # A generated storage name (documents/<uuid>), whatever the uploader called the file.
    file = models.FileField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    mime_type = models.CharField(max_length=100)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Claims since the document was last queued by a person (upload or reprocess).
    attempts = models.PositiveIntegerField(default=0)
    # Names the current claim: only the run holding it may write the outcome.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    failure_step = models.CharField(max_length=32, blank=True)
    failure_reason = models.TextField(blank=True)
    queued_at = models.DateTimeField()
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    page_count = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    meta_title = models.CharField(max_length=500, blank=True)
    meta_author = models.CharField(max_length=500, blank=True)
    meta_created = models.DateTimeField(null=True, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, blank=True)
    thumbnail = models.FileField(max_length=255, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "sha256"], name="documents_owner_sha256"),
            models.Index(fields=["owner", "-created_at"], name="documents_owner_created"),
            models.Index(fields=["status", "queued_at"], name="documents_status_queued"),
        ]

    def __str__(self) -> str:
        return self.title or self.original_name


class ProcessingAttempt(models.Model):
    """One claim of a document by a worker: written in the same transaction as the claim,
    so it counts real processing runs, not messages delivered."""

    class Outcome(models.TextChoices):
        RUNNING = "running"
        PROCESSED = "processed"
        FAILED = "failed"
        RELEASED = "released"  # a transient error; the document was queued again
        ABANDONED = "abandoned"  # the worker stopped mid-way; a later run took over

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField()
    worker = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["document", "id"]

    def __str__(self) -> str:
        return f"document {self.document_id} run {self.number}: {self.outcome}"


class DocumentGrant(models.Model):
    """Leave for one person to read another's document (metadata, text, thumbnail, file),
    given by the owner for a reason another service names, such as an application for a
    unit ("leasing.application:12"). Ending the reason deletes the grant."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="grants")
    grantee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="document_grants"
    )
    reference = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "grantee", "reference"], name="documents_grant_once"
            ),
        ]
        indexes = [models.Index(fields=["reference"], name="documents_grant_reference")]

    def __str__(self) -> str:
        return f"document {self.document_id} readable by user {self.grantee_id} ({self.reference})"
