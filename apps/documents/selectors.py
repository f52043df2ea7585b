"""The documents service's reads. A person reads their own documents, and those another
person granted them leave to read (apps.documents.models.DocumentGrant)."""

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Substr

from apps.documents.models import Document, DocumentGrant

EXCERPT_CHARS = 500
# No stemming: residents write in many languages, and names and numbers match as typed.
SEARCH_CONFIG = "simple"


def documents_for_owner(*, owner_id: int) -> QuerySet[Document]:
    return _with_excerpt(Document.objects.filter(owner_id=owner_id))


def _with_excerpt(documents: QuerySet[Document]) -> QuerySet[Document]:
    """With an excerpt of the text (the whole text is loaded only on demand)."""
    return documents.defer("text").annotate(excerpt=Substr("text", 1, EXCERPT_CHARS))


def processing_counts() -> dict[str, int]:
    """How many documents are in each processing status, every status named (0 if none)."""
    counted = dict(Document.objects.order_by().values_list("status").annotate(count=Count("pk")))
    return {status: counted.get(status, 0) for status in Document.Status.values}


def document_for_owner(*, owner_id: int, document_id: int) -> Document | None:
    return documents_for_owner(owner_id=owner_id).filter(pk=document_id).first()


def document_readable_by(*, user_id: int, document_id: int) -> Document | None:
    """The document if it is the user's own or they hold a grant to read it; else None."""
    granted = DocumentGrant.objects.filter(document=OuterRef("pk"), grantee_id=user_id)
    readable = Document.objects.filter(Q(owner_id=user_id) | Exists(granted), pk=document_id)
    return _with_excerpt(readable).first()


def documents_search(queryset: QuerySet[Document], *, q: str) -> QuerySet[Document]:
    """Documents whose title or text match `q`: PostgreSQL full-text search (web-search
    syntax: words, "a phrase", -not), else every word as a case-insensitive substring."""
    if connection.vendor == "postgresql":
        vector = SearchVector("title", "text", config=SEARCH_CONFIG)
        query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
        return queryset.annotate(search=vector).filter(search=query)
    for word in q.split():
        queryset = queryset.filter(Q(title__icontains=word) | Q(text__icontains=word))
    return queryset


def document_text(*, document_id: int) -> str:
    return Document.objects.values_list("text", flat=True).get(pk=document_id)
