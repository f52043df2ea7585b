import re

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError

from apps.documents import selectors
from apps.documents.models import Document

# A "-" that is not inside a word: web-search syntax's "not" (PostgreSQL). Nots in a row
# nest, and PostgreSQL fails a query nested past 32 ("tsquery stack too small").
_NOT = re.compile(r"(?<!\w)-")
_MOST_NOTS = 31


def bounded_search(value: str) -> None:
    """A search of at most DOCUMENTS_SEARCH_MAX_CHARS characters and _MAX_TERMS words (and
    as many "-" before them): each word is a condition of the query, and the databases
    bound how many they take."""
    max_chars = settings.DOCUMENTS_SEARCH_MAX_CHARS
    if len(value) > max_chars:
        raise ValidationError(
            f"A search is at most {max_chars} characters long.", code="max_length"
        )
    max_terms = settings.DOCUMENTS_SEARCH_MAX_TERMS
    if len(value.split()) > max_terms:
        raise ValidationError(f"A search is at most {max_terms} words.", code="max_terms")
    most_nots = min(max_terms, _MOST_NOTS)
    if len(_NOT.findall(value)) > most_nots:
        raise ValidationError(
            f'A search has at most {most_nots} "-" (not) before its words.', code="max_terms"
        )


class DocumentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Document.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Document.Kind.choices)
    # ?created_after=2026-01-01&created_before=2026-01-31, both days included.
    created = django_filters.DateFromToRangeFilter(field_name="created_at")
    q = django_filters.CharFilter(
        method="search",
        help_text=f"Words in the title or text: at most {settings.DOCUMENTS_SEARCH_MAX_TERMS} "
        f"words, {settings.DOCUMENTS_SEARCH_MAX_CHARS} characters.",
        validators=[bounded_search],
    )

    class Meta:
        model = Document
        fields = ["status", "kind", "created", "q"]

    def search(self, queryset, name, value):
        return selectors.documents_search(queryset, q=value)
