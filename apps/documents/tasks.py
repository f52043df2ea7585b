from celery import shared_task

from apps.documents.services import TRANSIENT_ERRORS, document_process, documents_sweep


@shared_task(
    bind=True,
    name="documents.process_document",
    autoretry_for=TRANSIENT_ERRORS,
    max_retries=5,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
)
def process_document(self, document_id: int) -> None:
    """Queued after an upload commits, on reprocess, and by the sweep; idempotent."""
    document_process(document_id=document_id, worker=self.request.hostname or "")


@shared_task(name="documents.sweep_stale")
def sweep_stale() -> None:
    """Run by Celery beat (CELERY_BEAT_SCHEDULE): queue again what was lost."""
    documents_sweep()
