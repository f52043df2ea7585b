from django.conf import settings
from django.http import FileResponse, HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.documents import selectors, services
from apps.documents.models import Document
from apps.documents.rest import serializers
from apps.documents.rest.filters import DocumentFilter
from apps.documents.rest.throttles import UploadRateThrottle
from apps.documents.rest.uploads import SizeLimitedUpload
from city.errors import ErrorSerializer
from city.service_credentials import IsServiceCall

# Services that call these endpoints through apps.documents.api with a service credential
# (city.service_credentials), for the user they act for; nothing else takes one.
LEASING_CALLERS = {"leasing"}
# The city dashboard's documents panel, in a deployment of any other service.
DASHBOARD_CALLERS = {"greeter", "leasing"}


def owned_document(request, pk: int) -> Document:
    """The document if it is the requester's; 404 otherwise, so ids leak nothing."""
    return _found(selectors.document_for_owner(owner_id=request.user.pk, document_id=pk))


def readable_document(request, pk: int) -> Document:
    """The document if it is the requester's or granted to them to read; 404 otherwise."""
    return _found(selectors.document_readable_by(user_id=request.user.pk, document_id=pk))


def _found(document: Document | None) -> Document:
    if document is None:
        raise NotFound("No such document.")
    return document


def document_data(request, document: Document) -> dict:
    return serializers.DocumentSerializer(document, context={"request": request}).data


class DocumentCollectionView(generics.ListAPIView):
    service_callers = {"GET": LEASING_CALLERS}  # the applicant's documents (the demo city)
    serializer_class = serializers.DocumentSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = DocumentFilter
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.documents_for_owner(owner_id=self.request.user.pk)

    def get_serializer_class(self):
        # What a client sends is not what it reads: the browsable API's form is the upload.
        if self.request.method == "POST":
            return serializers.UploadSerializer
        return serializers.DocumentSerializer

    def get_throttles(self):
        # Uploads per person (429 past DOCUMENTS_UPLOADS_PER_MINUTE); reading the list is not.
        throttles = super().get_throttles()
        if getattr(self.request, "method", None) == "POST":
            throttles.append(UploadRateThrottle())
        return throttles

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (session authentication's CSRF check does).
        limit = settings.DOCUMENTS_MAX_UPLOAD_BYTES
        request.upload_handlers.insert(0, SizeLimitedUpload(request, limit=limit))
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(summary="Your documents (filter, search)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Upload a document; it is processed in the background",
        request={"multipart/form-data": serializers.UploadSerializer},
        responses={
            202: serializers.UploadResultSerializer,
            200: OpenApiResponse(
                serializers.UploadResultSerializer, description="Already uploaded"
            ),
            413: OpenApiResponse(
                ErrorSerializer,
                description="Over the size of one file, or over your storage quota "
                "(DOCUMENTS_QUOTA_BYTES): `details` names the limit",
            ),
            429: OpenApiResponse(
                ErrorSerializer,
                description="Over your uploads a minute (DOCUMENTS_UPLOADS_PER_MINUTE); "
                "see Retry-After",
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        given = serializers.UploadSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        upload = services.document_upload(owner=request.user, **given.validated_data)
        data = {**document_data(request, upload.document), "duplicate": upload.duplicate}
        if upload.duplicate:
            return Response(data, status=status.HTTP_200_OK)
        return Response(
            data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["links"]["detail"]}
        )


class DocumentView(APIView):
    service_callers = {"GET": LEASING_CALLERS}  # an application's documents are checked

    def offers_form(self, request, method, document) -> bool:
        """No delete button for someone the document is only granted to (city.renderers)."""
        return method != "DELETE" or document.owner_id == request.user.pk

    @extend_schema(
        summary="A document: status, failure, results", responses=serializers.DocumentSerializer
    )
    def get(self, request, pk: int):
        return Response(document_data(request, readable_document(request, pk)))

    @extend_schema(summary="Delete a document and its file", responses={204: None})
    def delete(self, request, pk: int):
        services.document_delete(document=owned_document(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProcessingCountsView(APIView):
    """Counts over every owner's documents, for the staff (the city dashboard shows them),
    and for the dashboard of a deployment without documents (a service credential)."""

    permission_classes = (IsAdminUser | IsServiceCall,)
    service_callers = {"GET": DASHBOARD_CALLERS}

    @extend_schema(
        summary="How many documents are in each processing status (staff)",
        responses={
            200: serializers.ProcessingCountsSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
    )
    def get(self, request):
        counts = selectors.processing_counts()
        return Response({"counts": counts, "total": sum(counts.values())})


class DocumentReprocessView(APIView):
    @extend_schema(
        summary="Process a document again",
        request=None,
        # 422: it is pending or being processed already.
        responses={202: serializers.DocumentSerializer, 422: ErrorSerializer},
    )
    def post(self, request, pk: int):
        document = services.document_reprocess(document=owned_document(request, pk))
        return Response(document_data(request, document), status=status.HTTP_202_ACCEPTED)


class AnyAccept(BaseContentNegotiation):
    """File responses ignore Accept (a client asking for application/pdf gets its PDF);
    errors still answer in JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None


class FileView(APIView):
    content_negotiation_class = AnyAccept


def _private_file(response: HttpResponse) -> HttpResponse:
    # Shown by no browser as a page of our site, whatever is inside.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


class DocumentDownloadView(FileView):
    @extend_schema(summary="The original file", responses={(200, "*/*"): OpenApiTypes.BINARY})
    def get(self, request, pk: int):
        document = readable_document(request, pk)
        try:
            stored = document.file.open("rb")
        except FileNotFoundError as error:
            raise NotFound("The stored file is missing.") from error
        return _private_file(
            FileResponse(
                stored,
                as_attachment=True,
                filename=document.original_name,
                content_type=document.mime_type,
            )
        )


class DocumentTextView(FileView):
    @extend_schema(summary="The text read from a document", responses={(200, "text/plain"): str})
    def get(self, request, pk: int):
        document = readable_document(request, pk)
        text = selectors.document_text(document_id=document.pk)
        return _private_file(HttpResponse(text, content_type="text/plain; charset=utf-8"))


class DocumentThumbnailView(FileView):
    @extend_schema(
        summary="A small PNG of the document", responses={(200, "image/png"): OpenApiTypes.BINARY}
    )
    def get(self, request, pk: int):
        document = readable_document(request, pk)
        if not document.thumbnail:
            raise NotFound("This document has no thumbnail.")
        try:
            stored = document.thumbnail.open("rb")
        except FileNotFoundError as error:
            raise NotFound("The thumbnail is missing.") from error
        return _private_file(FileResponse(stored, content_type="image/png"))


class DocumentGrantsView(generics.GenericAPIView):
    """Grants that let another person read some of your documents."""

    serializer_class = serializers.GrantSerializer  # the browsable API's form
    service_callers = {"POST": LEASING_CALLERS}  # an application submitted: its manager reads

    @extend_schema(
        summary="Let another person read some of your documents",
        request=serializers.GrantSerializer,
        responses={201: serializers.GrantSerializer, 400: ErrorSerializer},
    )
    def post(self, request):
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        services.document_grants_create(
            owner_id=request.user.pk,
            document_ids=given.validated_data["document_ids"],
            grantee_id=given.validated_data["grantee"],
            reference=given.validated_data["reference"],
        )
        return Response(given.data, status=status.HTTP_201_CREATED)


class DocumentGrantsRevokeView(generics.GenericAPIView):
    serializer_class = serializers.RevokeSerializer
    service_callers = {"POST": LEASING_CALLERS}  # an application decided, withdrawn, expired

    @extend_schema(
        summary="End the grants given for a reference (by their owner or their holder)",
        request=serializers.RevokeSerializer,
        responses={200: serializers.RevokedSerializer, 400: ErrorSerializer},
    )
    def post(self, request):
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        ended = services.document_grants_revoke(
            reference=given.validated_data["reference"], by_user_id=request.user.pk
        )
        return Response({**given.data, "revoked": ended})
