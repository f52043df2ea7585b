from celery import shared_task
from django.conf import settings

from apps.documents.services import TRANSIENT_ERRORS, document_process, documents_sweep

# Every run claims the document once, and a claim is refused after DOCUMENTS_MAX_ATTEMPTS:
# a retry past that would do nothing while the document waits for the sweep.
MAX_RETRIES = settings.DOCUMENTS_MAX_ATTEMPTS - 1


@shared_task(
    bind=True,
    name="documents.process_document",
    autoretry_for=TRANSIENT_ERRORS,
    max_retries=MAX_RETRIES,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
)
def process_document(self, document_id: int) -> None:
    """Queued after an upload commits, on reprocess, and by the sweep; idempotent."""
    document_process(document_id=document_id, worker=self.request.hostname or "")


@shared_task(name="documents.sweep_stale")
def sweep_stale() -> None:
    """Run by Celery beat (CELERY_BEAT_SCHEDULE): queue again what a dead worker held or
    the broker lost (what never reached the broker is the outbox relay's)."""
    documents_sweep()
