"""The documents service's public interface to the other services.

The leasing service checks here that a document attached to an application exists,
belongs to the applicant and was processed, and has the applicant's documents shown to
the unit's manager while the application is under review (a read grant, recorded and
checked by this service). Each call names the user it acts for (owner_id, by_user_id).
Where the documents service is not installed in the deployment, the same calls go to it
over HTTP with a service credential for that user (city.peers, city.service_credentials),
whether a request, a task or a command makes them: its endpoints answer the user as they
answer the user asking themselves, with the same service functions and selectors as here,
so a call is allowed and refused alike in either deployment.
"""

from dataclasses import dataclass

from city.peers import PeerClient, PeerUnavailable, local_or_remote

__all__ = [
    "PROCESSED",
    "DocumentSummary",
    "document_path",
    "get_document_summary",
    "get_processing_counts",
    "grant_read",
    "list_documents",
    "revoke_reads",
]

PROCESSED = "processed"
LIST_PAGE = 50  # the documents service's page size


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
    return None if document is None else _summary_of(document)


def _summary_of(document) -> DocumentSummary:
    return DocumentSummary(
        id=document.pk,
        owner_id=document.owner_id,
        status=document.status,
        kind=document.kind,
        mime_type=document.mime_type,
        title=document.title,
    )


def _summary_from_peer(*, document_id: int, owner_id: int) -> DocumentSummary | None:
    document = _documents_for(owner_id).get(document_path(document_id))
    if document is None or document["owner"] != owner_id:
        return None
    return _summary_of_answer(document)


def _documents_for(user_id: int | None) -> PeerClient:
    return PeerClient("documents", acting_user_id=user_id)


def _summary_of_answer(document: dict) -> DocumentSummary:
    return DocumentSummary(
        id=document["id"],
        owner_id=document["owner"],
        status=document["status"],
        kind=document["kind"] or "",
        mime_type=document["mime_type"],
        title=document["title"],
    )


def document_path(document_id: int) -> str:
    """Where the document is read over HTTP, by its owner or someone it is granted to."""
    return f"/api/documents/{document_id}/"


def list_documents(*, owner_id: int, processed_only: bool = False) -> list[DocumentSummary]:
    """The owner's newest documents (one page of the documents service's list, 50)."""
    documents = local_or_remote("documents", local=_list_here, remote=_list_from_peer)
    return documents(owner_id=owner_id, processed_only=processed_only)


def _list_here(*, owner_id: int, processed_only: bool) -> list[DocumentSummary]:
    from apps.documents.selectors import documents_for_owner

    documents = documents_for_owner(owner_id=owner_id)
    if processed_only:
        documents = documents.filter(status=PROCESSED)
    return [_summary_of(document) for document in documents[:LIST_PAGE]]


def _list_from_peer(*, owner_id: int, processed_only: bool) -> list[DocumentSummary]:
    query = "?status=processed" if processed_only else ""
    answer = _documents_for(owner_id).get(f"/api/documents/{query}") or {}
    return [
        _summary_of_answer(document)
        for document in answer.get("results", [])
        if document["owner"] == owner_id
    ]


def grant_read(*, document_ids: list[int], owner_id: int, grantee_id: int, reference: str) -> None:
    """Let `grantee_id` read these documents of `owner_id` (metadata, text, thumbnail and
    file) until the grants for `reference` are revoked, asked as the owner. A document
    that is not the owner's is a ValidationError on `document_ids`, and nothing is granted."""
    grant = local_or_remote("documents", local=_grant_here, remote=_grant_from_peer)
    grant(document_ids=document_ids, owner_id=owner_id, grantee_id=grantee_id, reference=reference)


def _grant_here(*, document_ids: list[int], owner_id: int, grantee_id: int, reference: str):
    from apps.documents.services import document_grants_create

    document_grants_create(
        owner_id=owner_id, document_ids=document_ids, grantee_id=grantee_id, reference=reference
    )


def _grant_from_peer(*, document_ids: list[int], owner_id: int, grantee_id: int, reference: str):
    grant = {"document_ids": document_ids, "grantee": grantee_id, "reference": reference}
    _documents_for(owner_id).post("/api/documents/grants/", grant, expect=201)


def revoke_reads(*, reference: str, by_user_id: int) -> None:
    """End the grants for `reference` that `by_user_id` gave or holds (the owner or the
    grantee may end them). Ending grants that do not exist changes nothing."""
    revoke = local_or_remote("documents", local=_revoke_here, remote=_revoke_from_peer)
    revoke(reference=reference, by_user_id=by_user_id)


def _revoke_here(*, reference: str, by_user_id: int) -> None:
    from apps.documents.services import document_grants_revoke

    document_grants_revoke(reference=reference, by_user_id=by_user_id)


def _revoke_from_peer(*, reference: str, by_user_id: int) -> None:
    _documents_for(by_user_id).post("/api/documents/grants/revoke/", {"reference": reference})


def get_processing_counts() -> dict[str, int]:
    """How many documents are in each processing status (pending, processing, processed,
    failed), over every owner's documents: figures for the deployment itself (the city
    dashboard, which shows them to staff only), so asked for no user; over HTTP the
    documents service answers them to a service credential, and to staff."""
    counts = local_or_remote("documents", local=_counts_here, remote=_counts_from_peer)
    return counts()


def _counts_here() -> dict[str, int]:
    from apps.documents.selectors import processing_counts

    return processing_counts()


def _counts_from_peer() -> dict[str, int]:
    answer = _documents_for(None).get("/api/documents/counts/")
    counts = answer.get("counts") if isinstance(answer, dict) else None
    if not isinstance(counts, dict):  # a 404, or something that is not the documents service
        raise PeerUnavailable("The documents service is not what answers at CITY_PEER_URL.")
    return counts
