import django_filters

from apps.documents import selectors
from apps.documents.models import Document


class DocumentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Document.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Document.Kind.choices)
    # ?created_after=2026-01-01&created_before=2026-01-31, both days included.
    created = django_filters.DateFromToRangeFilter(field_name="created_at")
    q = django_filters.CharFilter(method="search", help_text="Words in the title or text.")

    class Meta:
        model = Document
        fields = ["status", "kind", "created", "q"]

    def search(self, queryset, name, value):
        return selectors.documents_search(queryset, q=value)
