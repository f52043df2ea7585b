"""The documents service's public interface to the other services.

The leasing service checks here that a document attached to an application exists,
belongs to the applicant and was processed.
"""

from dataclasses import dataclass

__all__ = ["PROCESSED", "DocumentSummary", "get_document_summary"]

PROCESSED = "processed"


@dataclass(frozen=True)
class DocumentSummary:
    id: int
    owner_id: int
    status: str  # pending, processing, processed or failed
    kind: str  # lease, identity, payslip, invoice or other; "" until processed
    mime_type: str
    title: str

    @property
    def is_processed(self) -> bool:
        return self.status == PROCESSED


def get_document_summary(document_id: int) -> DocumentSummary | None:
    from apps.documents.selectors import document_by_id  # models load with the app

    document = document_by_id(document_id=document_id)
    if document is None:
        return None
    return DocumentSummary(
        id=document.pk,
        owner_id=document.owner_id,
        status=document.status,
        kind=document.kind,
        mime_type=document.mime_type,
        title=document.title,
    )
