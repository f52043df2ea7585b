"""The documents service's public interface to the other services.

The leasing service checks here that a document attached to an application exists,
belongs to the applicant and was processed. Where the documents service is not installed
in the deployment, the same question goes to it over HTTP, asked as the user being served
(city.peers): it answers only about that user's own documents, as it does here.
"""

from dataclasses import dataclass

from city.peers import PeerClient, PeerUnavailable, local_or_remote

__all__ = ["PROCESSED", "DocumentSummary", "get_document_summary", "get_processing_counts"]

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


def get_document_summary(document_id: int, *, owner_id: int) -> DocumentSummary | None:
    """The document, if it exists and is `owner_id`'s; None otherwise."""
    summary = local_or_remote("documents", local=_summary_here, remote=_summary_from_peer)
    return summary(document_id=document_id, owner_id=owner_id)


def _summary_here(*, document_id: int, owner_id: int) -> DocumentSummary | None:
    from apps.documents.selectors import document_for_owner  # models load with the app

    document = document_for_owner(owner_id=owner_id, document_id=document_id)
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


def _summary_from_peer(*, document_id: int, owner_id: int) -> DocumentSummary | None:
    document = PeerClient("documents").get(f"/api/documents/{document_id}/")
    if document is None or document["owner"] != owner_id:
        return None
    return DocumentSummary(
        id=document["id"],
        owner_id=document["owner"],
        status=document["status"],
        kind=document["kind"] or "",
        mime_type=document["mime_type"],
        title=document["title"],
    )


def get_processing_counts() -> dict[str, int]:
    """How many documents are in each processing status (pending, processing, processed,
    failed), over every owner's documents. Over HTTP the documents service answers only
    to staff, as the user being served."""
    counts = local_or_remote("documents", local=_counts_here, remote=_counts_from_peer)
    return counts()


def _counts_here() -> dict[str, int]:
    from apps.documents.selectors import processing_counts

    return processing_counts()


def _counts_from_peer() -> dict[str, int]:
    answer = PeerClient("documents").get("/api/documents/counts/")
    counts = answer.get("counts") if isinstance(answer, dict) else None
    if not isinstance(counts, dict):  # a 404, or something that is not the documents service
        raise PeerUnavailable("The documents service is not what answers at CITY_PEER_URL.")
    return counts
