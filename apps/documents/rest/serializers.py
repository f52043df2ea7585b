from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.documents import services
from apps.documents.models import Document
from apps.documents.selectors import EXCERPT_CHARS

MAX_ID = 2**63 - 1  # the largest id a database stores


class UploadSerializer(serializers.Serializer):
    """What a client sends to upload: also the browsable API's form."""

    # Empty files reach the service, which refuses them with its own message.
    file = serializers.FileField(
        allow_empty_file=True, use_url=False, help_text="PDF, DOCX, text, PNG, JPEG or TIFF."
    )
    title = serializers.CharField(
        max_length=255,
        required=False,
        default="",
        allow_blank=True,
        help_text="Without it, the file's name.",
    )
    allow_duplicate = serializers.BooleanField(
        default=False,
        help_text="Store the same bytes again as a new document (else the earlier one is "
        "answered).",
    )


def _reference_field() -> serializers.RegexField:
    return serializers.RegexField(
        r"^[a-z]+(\.[a-z_]+)*:[0-9]+$",
        max_length=100,
        help_text="What the grant is for, e.g. leasing.application:12; revoked by it.",
    )


class GrantSerializer(serializers.Serializer):
    document_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=services.MAX_GRANTED_DOCUMENTS,
        help_text="Ids of your documents.",
    )
    grantee = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The user id who may read them."
    )
    reference = _reference_field()


class RevokeSerializer(serializers.Serializer):
    reference = _reference_field()


class RevokedSerializer(RevokeSerializer):
    revoked = serializers.IntegerField(help_text="How many grants ended.")


class FailureSerializer(serializers.Serializer):
    step = serializers.CharField(source="failure_step")
    reason = serializers.CharField(source="failure_reason")


class MetadataSerializer(serializers.Serializer):
    title = serializers.CharField(source="meta_title")
    author = serializers.CharField(source="meta_author")
    created = serializers.DateTimeField(source="meta_created", allow_null=True)


class DocumentSerializer(serializers.ModelSerializer):
    owner = serializers.IntegerField(source="owner_id", read_only=True)
    failure = serializers.SerializerMethodField()
    kind = serializers.SerializerMethodField()
    text_excerpt = serializers.SerializerMethodField()
    metadata = MetadataSerializer(source="*")
    links = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "owner",
            "title",
            "original_name",
            "status",
            "failure",
            "attempts",
            "mime_type",
            "size",
            "sha256",
            "page_count",
            "kind",
            "text_excerpt",
            "metadata",
            "created_at",
            "processed_at",
            "links",
        ]

    @extend_schema_field(FailureSerializer(allow_null=True))
    def get_failure(self, document) -> dict | None:
        if document.status != Document.Status.FAILED:
            return None
        return FailureSerializer(document).data

    def get_kind(self, document) -> str | None:
        return document.kind or None

    def get_text_excerpt(self, document) -> str | None:
        if document.status != Document.Status.PROCESSED:
            return None
        excerpt = getattr(document, "excerpt", None)  # the selectors' annotation
        return document.text[:EXCERPT_CHARS] if excerpt is None else excerpt

    def get_links(self, document) -> dict[str, str]:
        request = self.context["request"]

        def link(name: str) -> str:
            return request.build_absolute_uri(reverse(f"documents:{name}", args=[document.pk]))

        links = {name: link(name) for name in ("detail", "download")}
        if document.owner_id == request.user.pk:  # the owner's alone, not a grantee's
            links["reprocess"] = link("reprocess")
        if document.status == Document.Status.PROCESSED:
            links["text"] = link("text")
        if document.thumbnail:
            links["thumbnail"] = link("thumbnail")
        return links


class UploadResultSerializer(DocumentSerializer):
    """What an upload answers (described for the schema; the view adds `duplicate`)."""

    duplicate = serializers.BooleanField(help_text="The same bytes were uploaded before.")

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "duplicate"]


class ProcessingCountsSerializer(serializers.Serializer):
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Documents per status: " + ", ".join(Document.Status.values),
    )
    total = serializers.IntegerField()
