"""Leasing's HTTP API: thin views over the services and selectors.

Each list starts from what the requesting user may see, so anyone else's object answers
404, never 403. A user who can see an object but not act on it (a tenant activating their
own lease) gets 403 from the service. A view's `queryset` (always empty) only names its
model for the API schema.
"""

from django.http import Http404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.reverse import reverse

from apps.leasing import selectors, services
from apps.leasing.models import Application, Lease, Property, Unit
from apps.leasing.rest import filters, serializers
from city.errors import ErrorSerializer


class _Scoped:
    """get_object within what the user may see; anything else is a 404 naming what was asked."""

    def get_object(self):
        try:
            return super().get_object()
        except Http404 as error:
            noun = self.get_queryset().model._meta.verbose_name
            raise NotFound(f"There is no {noun} {self.kwargs['pk']} for you.") from error


class AvailableUnitsPagination(CursorPagination):
    """Pages by position in rent order, without counting every match: a page costs the
    same at 100,000 units as at 1,000 (bench/availability.py)."""

    ordering = ("monthly_rent", "id")
    page_size = 50

    def decode_cursor(self, request):
        """A cursor is the client's to send: one whose position no rent can have (NaN, a
        word, beyond the column) is an invalid cursor (404), not a query that fails."""
        cursor = super().decode_cursor(request)
        if cursor is not None and not filters.is_rent(cursor.position):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class UnitsAvailableView(generics.ListAPIView):
    """Units free for the whole period, cheapest first."""

    queryset = Unit.objects.none()
    serializer_class = serializers.AvailableUnitSerializer
    pagination_class = AvailableUnitsPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.AvailableUnitFilter

    @extend_schema(
        summary="Units available for a period", parameters=[serializers.AvailabilityQuerySerializer]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        period = serializers.AvailabilityQuerySerializer(data=self.request.query_params)
        period.is_valid(raise_exception=True)
        return selectors.units_available(
            start=period.validated_data["start"], end=period.validated_data.get("end")
        )


# An action on an application or a lease in a state it does not apply to is 422; one that
# would hold a unit another lease holds, or renew a renewed lease, is 409 (apps.leasing.services).
DECIDED = {200: serializers.ApplicationSerializer, 422: ErrorSerializer}
LEASE_CHANGED = {200: serializers.LeaseSerializer, 422: ErrorSerializer}
LEASE_HELD = {200: serializers.LeaseSerializer, 409: ErrorSerializer, 422: ErrorSerializer}
# A unit's label taken in its property, or a property or unit deleted that leases refer to.
TAKEN_OR_REFERENCED = {409: ErrorSerializer}


@extend_schema_view(destroy=extend_schema(responses={204: None, **TAKEN_OR_REFERENCED}))
class PropertyViewSet(_Scoped, viewsets.ModelViewSet):
    """Properties you manage (adding one needs the leasing.manage_properties permission)."""

    queryset = Property.objects.none()
    serializer_class = serializers.PropertySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.PropertyFilter

    def get_queryset(self):
        return selectors.properties_managed_by(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.property_create(
            manager=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        services.property_update(property=serializer.instance, changes=serializer.validated_data)

    def perform_destroy(self, instance):
        services.property_delete(property=instance)


@extend_schema_view(
    create=extend_schema(responses={201: serializers.UnitSerializer, **TAKEN_OR_REFERENCED}),
    update=extend_schema(responses={200: serializers.UnitSerializer, **TAKEN_OR_REFERENCED}),
    partial_update=extend_schema(
        responses={200: serializers.UnitSerializer, **TAKEN_OR_REFERENCED}
    ),
    destroy=extend_schema(responses={204: None, **TAKEN_OR_REFERENCED}),
)
class UnitViewSet(_Scoped, viewsets.ModelViewSet):
    """Units of the properties you manage."""

    queryset = Unit.objects.none()
    serializer_class = serializers.UnitSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.UnitFilter

    def get_queryset(self):
        return selectors.units_managed_by(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.unit_create(**serializer.validated_data)

    def perform_update(self, serializer):
        services.unit_update(unit=serializer.instance, changes=serializer.validated_data)

    def perform_destroy(self, instance):
        services.unit_delete(unit=instance)


@extend_schema_view(
    partial_update=extend_schema(
        responses={200: serializers.ApplicationChangeSerializer, 422: ErrorSerializer}
    )
)
class ApplicationViewSet(
    _Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Your applications, and the submitted applications for units you manage."""

    queryset = Application.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.ApplicationFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.applications_visible_to(user=self.request.user)

    serializer_class = serializers.ApplicationSerializer

    def get_serializer_class(self):
        if self.action == "partial_update":
            return serializers.ApplicationChangeSerializer
        return super().get_serializer_class()  # an action's own (NoInputSerializer)

    def offers_form(self, request, method, application) -> bool:
        """The browsable API's change form only for whom may change it (city.renderers)."""
        return method != "PATCH" or services.application_changeable_by(application, request.user)

    def perform_create(self, serializer):
        serializer.instance = services.application_create(
            applicant=self.request.user,
            unit=serializer.validated_data["unit"],
            wished_start=serializer.validated_data["wished_start"],
            wished_end=serializer.validated_data.get("wished_end"),
            document_ids=serializer.validated_data.get("document_ids", []),
        )

    def perform_update(self, serializer):
        serializer.instance = services.application_update(
            application=serializer.instance,
            changed_by=self.request.user,
            changes=serializer.validated_data,
        )

    def _decide(self, request, name: str):
        application = services.application_decide(
            application=self.get_object(), action=name, by=request.user
        )
        data = serializers.ApplicationSerializer(application, context=self.get_serializer_context())
        return Response(data.data)

    @extend_schema(request=None, responses=DECIDED)
    @action(detail=True, methods=["post"], serializer_class=serializers.NoInputSerializer)
    def submit(self, request, pk=None):
        """Submit your draft: the unit's manager sees it, and its documents."""
        return self._decide(request, "submit")

    @extend_schema(request=None, responses=DECIDED)
    @action(detail=True, methods=["post"], serializer_class=serializers.NoInputSerializer)
    def withdraw(self, request, pk=None):
        """Withdraw your application; the manager no longer sees its documents."""
        return self._decide(request, "withdraw")

    @extend_schema(request=None, responses=DECIDED)
    @action(detail=True, methods=["post"], serializer_class=serializers.NoInputSerializer)
    def approve(self, request, pk=None):
        """Approve a submitted application for a unit you manage."""
        return self._decide(request, "approve")

    @extend_schema(request=None, responses=DECIDED)
    @action(detail=True, methods=["post"], serializer_class=serializers.NoInputSerializer)
    def reject(self, request, pk=None):
        """Reject a submitted application; you no longer see its documents."""
        return self._decide(request, "reject")

    @extend_schema(
        request=None,
        responses={201: serializers.LeaseSerializer, 409: ErrorSerializer, 422: ErrorSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="create-lease",
        serializer_class=serializers.NoInputSerializer,
    )
    def create_lease(self, request, pk=None):
        """Draw up the draft lease of an approved application (its unit, applicant, period)."""
        lease = services.lease_create_from_application(
            application=self.get_object(), created_by=request.user
        )
        data = serializers.LeaseSerializer(lease, context=self.get_serializer_context()).data
        return Response(
            data,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("leasing:lease-detail", args=[lease.pk], request=request)},
        )


class LeaseViewSet(
    _Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Leases where you are the tenant or the unit's manager, and their lifecycle."""

    queryset = Lease.objects.none()
    serializer_class = serializers.LeaseSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.LeaseFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.leases_visible_to(user=self.request.user)

    def get_serializer_class(self):
        # What the browsable API's form offers: the input of the request, not the lease.
        inputs = {
            "create": serializers.LeaseCreateSerializer,
            "partial_update": serializers.LeaseChangeSerializer,
        }
        return inputs.get(self.action, super().get_serializer_class())

    def offers_form(self, request, method, lease) -> bool:
        """The browsable API's change form only for whom may change it (city.renderers)."""
        return method != "PATCH" or services.lease_changeable_by(lease, request.user)

    def _answer(self, lease, status_code=status.HTTP_200_OK):
        data = serializers.LeaseSerializer(lease, context=self.get_serializer_context()).data
        return Response(data, status=status_code)

    def _given(self) -> dict:
        given = self.get_serializer(data=self.request.data, partial=self.action == "partial_update")
        given.is_valid(raise_exception=True)
        return given.validated_data

    @extend_schema(
        request=serializers.LeaseCreateSerializer, responses={201: serializers.LeaseSerializer}
    )
    def create(self, request):
        """Draw up a draft lease for a unit you manage."""
        lease = services.lease_create(created_by=request.user, **self._given())
        return self._answer(lease, status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.LeaseChangeSerializer,
        responses={200: serializers.LeaseSerializer, 422: ErrorSerializer},
    )
    def partial_update(self, request, pk=None):
        """Change a draft lease's dates, rent, deposit or due day."""
        lease = self.get_object()
        return self._answer(
            services.lease_update(lease=lease, changed_by=request.user, changes=self._given())
        )

    @extend_schema(request=None, responses=LEASE_HELD)
    @action(
        detail=True,
        methods=["post"],
        url_path="send-for-signature",
        serializer_class=serializers.NoInputSerializer,
    )
    def send_for_signature(self, request, pk=None):
        """Offer the draft to its tenant; from now on it holds the unit."""
        return self._answer(
            services.lease_send_for_signature(lease=self.get_object(), sent_by=request.user)
        )

    @extend_schema(request=None, responses=LEASE_CHANGED)
    @action(detail=True, methods=["post"], serializer_class=serializers.NoInputSerializer)
    def sign(self, request, pk=None):
        """Sign a lease offered to you."""
        return self._answer(services.lease_sign(lease=self.get_object(), signed_by=request.user))

    @extend_schema(request=serializers.ActivateSerializer, responses=LEASE_HELD)
    @action(detail=True, methods=["post"], serializer_class=serializers.ActivateSerializer)
    def activate(self, request, pk=None):
        """Start a signed lease: its rent schedule is made and the tenant welcomed."""
        lease = self.get_object()
        on = self._given().get("on", timezone.localdate())
        return self._answer(services.lease_activate(lease=lease, activated_by=request.user, on=on))

    @extend_schema(request=serializers.TerminateSerializer, responses=LEASE_CHANGED)
    @action(detail=True, methods=["post"], serializer_class=serializers.TerminateSerializer)
    def terminate(self, request, pk=None):
        """End an active lease early."""
        lease = self.get_object()
        on = self._given()["on"]
        return self._answer(
            services.lease_terminate(lease=lease, terminated_by=request.user, on=on)
        )

    @extend_schema(
        request=serializers.RenewSerializer,
        responses={201: serializers.LeaseSerializer, 409: ErrorSerializer, 422: ErrorSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.RenewSerializer)
    def renew(self, request, pk=None):
        """Draw up the renewal of an active lease with a fixed end."""
        lease = self.get_object()
        renewal = services.lease_renew(lease=lease, renewed_by=request.user, **self._given())
        return self._answer(renewal, status.HTTP_201_CREATED)

    @extend_schema(responses=serializers.RentChargeSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        filterset_class=None,
        serializer_class=serializers.RentChargeSerializer,
    )
    def charges(self, request, pk=None):
        """The lease's rent charges, period by period."""
        page = self.paginate_queryset(selectors.charges_of(lease=self.get_object()))
        return self.get_paginated_response(serializers.RentChargeSerializer(page, many=True).data)
