"""The documents service's reads. A person only ever reads their own documents."""

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr

from apps.documents.models import Document

EXCERPT_CHARS = 500
# No stemming: residents write in many languages, and names and numbers match as typed.
SEARCH_CONFIG = "simple"


def documents_for_owner(*, owner_id: int) -> QuerySet[Document]:
    """Their documents with an excerpt of the text (the whole text is loaded only on demand)."""
    return (
        Document.objects.filter(owner_id=owner_id)
        .defer("text")
        .annotate(excerpt=Substr("text", 1, EXCERPT_CHARS))
    )


def processing_counts() -> dict[str, int]:
    """How many documents are in each processing status, every status named (0 if none)."""
    counted = dict(Document.objects.order_by().values_list("status").annotate(count=Count("pk")))
    return {status: counted.get(status, 0) for status in Document.Status.values}


def document_for_owner(*, owner_id: int, document_id: int) -> Document | None:
    return documents_for_owner(owner_id=owner_id).filter(pk=document_id).first()


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
