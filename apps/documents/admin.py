from django.contrib import admin, messages
from django.db import transaction

from apps.documents.models import Document, DocumentGrant, ProcessingAttempt
from apps.documents.services import document_delete, document_reprocess
from city.errors import IllegalStateChange


class ProcessingAttemptInline(admin.TabularInline):
    model = ProcessingAttempt
    extra = 0
    can_delete = False
    fields = ["number", "outcome", "worker", "error", "started_at", "finished_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class DocumentGrantInline(admin.TabularInline):
    """Who else may read the document, and why; grants come and go with their reason
    (an application under review), never by hand."""

    model = DocumentGrant
    extra = 0
    can_delete = False
    fields = ["grantee", "reference", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "owner", "status", "kind", "mime_type", "attempts", "created_at"]
    list_filter = ["status", "kind", "mime_type"]
    search_fields = ["title", "original_name", "owner__username", "sha256"]
    list_select_related = ["owner"]
    readonly_fields = [
        "owner",
        "original_name",
        "file",
        "size",
        "sha256",
        "mime_type",
        "status",
        "attempts",
        "failure_step",
        "failure_reason",
        "queued_at",
        "processing_started_at",
        "processed_at",
        "page_count",
        "meta_title",
        "meta_author",
        "meta_created",
        "kind",
        "thumbnail",
        "created_at",
    ]
    exclude = ["text"]
    inlines = [ProcessingAttemptInline, DocumentGrantInline]
    actions = ["reprocess"]

    # Deleting here (one, or "delete selected") removes the stored files too, as the API does.
    def delete_model(self, request, obj):
        document_delete(document=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for document in queryset:
                document_delete(document=document)

    @admin.action(description="Process the selected documents again")
    def reprocess(self, request, queryset):
        queued = 0
        for document in queryset:
            try:
                document_reprocess(document=document)
            except IllegalStateChange as error:
                self.message_user(request, f"{document}: {error.detail}", messages.WARNING)
            else:
                queued += 1
        self.message_user(request, f"{queued} document(s) queued for processing.")
