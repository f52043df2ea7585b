from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator, MinValueValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.reverse import reverse
from rest_framework.utils import html

from apps.documents.api import document_path
from apps.leasing.models import Application, Lease, Property, RentCharge, Unit
from apps.leasing.schedule import CENT
from apps.leasing.selectors import properties_managed_by, units_managed_by

MAX_DOCUMENTS = 20
MAX_ID = 2**63 - 1  # the largest id a database stores
# Every date the API takes lies in these years: rent schedules are computed month by month,
# and a date near the end of the calendar (9999) has no month after it.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2200, 12, 31)


class _Date(serializers.DateField):
    """A date (YYYY-MM-DD) between EARLIEST_DATE and LATEST_DATE; outside them it is 400."""

    def __init__(self, **kwargs):
        bounds = f"Must be between {EARLIEST_DATE} and {LATEST_DATE}."
        kwargs["validators"] = [
            *kwargs.get("validators", []),
            MinValueValidator(EARLIEST_DATE, bounds),
            MaxValueValidator(LATEST_DATE, bounds),
        ]
        super().__init__(**kwargs)


class _PeriodMixin:
    """An end, when given, after the start."""

    start_field: str
    end_field: str

    def validate(self, attrs):
        start = attrs.get(self.start_field, getattr(self.instance, self.start_field, None))
        end = attrs.get(self.end_field, getattr(self.instance, self.end_field, None))
        if start and end and end <= start:
            raise serializers.ValidationError(
                {self.end_field: [f"Must be after {self.start_field} ({start})."]}
            )
        return attrs


class _Money(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=2, **kwargs)


class NoInputSerializer(serializers.Serializer):
    """An action that takes nothing: its browsable form is only the button."""


def _username(source: str) -> serializers.CharField:
    return serializers.CharField(source=f"{source}.username", read_only=True)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A property",
            value={"name": "Harbour View", "address": "12 Quay Street", "city": "Lisbon"},
            request_only=True,
        )
    ]
)
class PropertySerializer(serializers.ModelSerializer):
    manager_username = _username("manager")

    class Meta:
        model = Property
        fields = ["id", "name", "address", "city", "manager", "manager_username", "created_at"]
        read_only_fields = ["manager", "created_at"]


@extend_schema_field(OpenApiTypes.INT)
class _ManagedProperty(serializers.PrimaryKeyRelatedField):
    """A property of the requesting manager; any other id does not exist for them."""

    def get_queryset(self):
        return properties_managed_by(user=self.context["request"].user)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A two bedroom flat",
            value={
                "property": 1,
                "label": "2B",
                "bedrooms": 2,
                "area_m2": "68.50",
                "monthly_rent": "1450.00",
                "deposit": "2900.00",
                "currency": "EUR",
            },
            request_only=True,
        )
    ]
)
class UnitSerializer(serializers.ModelSerializer):
    property = _ManagedProperty()
    monthly_rent = _Money(min_value=CENT)
    deposit = _Money(min_value=Decimal(0))
    area_m2 = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=CENT)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)

    class Meta:
        model = Unit
        fields = [
            "id",
            "property",
            "label",
            "bedrooms",
            "area_m2",
            "monthly_rent",
            "deposit",
            "currency",
            "active",
        ]
        # Label uniqueness per property is answered as a 409 by the service.
        validators = []


class ListedPropertySerializer(serializers.ModelSerializer):
    class Meta:
        model = Property
        fields = ["id", "name", "address", "city"]


class AvailableUnitSerializer(serializers.ModelSerializer):
    """A unit as people searching see it: its property in full; offered, so no `active`."""

    property = ListedPropertySerializer()

    class Meta:
        model = Unit
        fields = [field for field in UnitSerializer.Meta.fields if field != "active"]


class AvailabilityQuerySerializer(_PeriodMixin, serializers.Serializer):
    start_field, end_field = "start", "end"
    start = _Date(help_text="First day wanted (YYYY-MM-DD).")
    end = _Date(required=False, help_text="First day no longer wanted; without it, open-ended.")


class _DocumentIds(serializers.ListField):
    """Document ids: a JSON list, or in an HTML form one text box ("3, 5")."""

    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
            max_length=MAX_DOCUMENTS,
            style={"base_template": "input.html", "placeholder": "e.g. 3, 5"},
            **kwargs,
        )

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            given = dictionary.get(self.field_name).strip().strip("[]")
            return [part.strip() for part in given.split(",")] if given.strip() else []
        return super().get_value(dictionary)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "An application for a year",
            value={
                "unit": 1,
                "wished_start": "2026-09-01",
                "wished_end": "2027-09-01",
                "document_ids": [3, 4],
            },
            request_only=True,
        )
    ]
)
class ApplicationSerializer(_PeriodMixin, serializers.ModelSerializer):
    start_field, end_field = "wished_start", "wished_end"
    document_ids = _DocumentIds(
        required=False,
        help_text="Ids of your processed documents (documents service), shown to the unit's "
        "manager while the application is under review.",
    )
    wished_start = _Date()
    wished_end = _Date(required=False, allow_null=True)
    applicant_username = _username("applicant")
    documents = serializers.SerializerMethodField(
        help_text="Where the manager of the unit and the applicant read each document."
    )
    url = serializers.HyperlinkedIdentityField(view_name="leasing:application-detail")
    lease = serializers.SerializerMethodField(help_text="The lease drawn up from it.")
    lease_url = serializers.SerializerMethodField(help_text="The lease drawn up from it.")

    class Meta:
        model = Application
        fields = [
            "id",
            "url",
            "applicant",
            "applicant_username",
            "unit",
            "wished_start",
            "wished_end",
            "document_ids",
            "documents",
            "status",
            "lease",
            "lease_url",
            "created_at",
            "decided_at",
        ]
        read_only_fields = ["applicant", "status", "created_at", "decided_at"]

    def get_lease(self, application) -> int | None:
        # Annotated by the selector; an application just created or changed has none yet.
        return getattr(application, "lease_id", None)

    def get_lease_url(self, application) -> str | None:
        lease = self.get_lease(application)
        request = self.context["request"]
        return None if lease is None else reverse("leasing:lease-detail", [lease], request=request)

    def get_documents(self, application) -> list[str]:
        request = self.context["request"]
        return [request.build_absolute_uri(document_path(pk)) for pk in application.document_ids]


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A later end and another document",
            value={"wished_end": "2027-12-01", "document_ids": [3, 4, 5]},
            request_only=True,
        )
    ]
)
class ApplicationChangeSerializer(ApplicationSerializer):
    class Meta(ApplicationSerializer.Meta):
        read_only_fields = [*ApplicationSerializer.Meta.read_only_fields, "unit"]


class LeaseSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="leasing:lease-detail")
    tenant_username = _username("tenant")
    charges_url = serializers.HyperlinkedIdentityField(view_name="leasing:lease-charges")

    class Meta:
        model = Lease
        fields = [
            "id",
            "url",
            "unit",
            "tenant",
            "tenant_username",
            "application",
            "start_date",
            "end_date",
            "monthly_rent",
            "deposit",
            "currency",
            "due_day",
            "status",
            "renewal_of",
            "signed_at",
            "activated_at",
            "terminated_at",
            "created_at",
            "charges_url",
        ]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.INT)
class _ManagedUnit(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return units_managed_by(user=self.context["request"].user)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A lease for a year at the unit's rent",
            value={
                "unit": 1,
                "tenant": 2,
                "start_date": "2026-09-01",
                "end_date": "2027-09-01",
                "due_day": 1,
            },
            request_only=True,
        )
    ]
)
class LeaseCreateSerializer(_PeriodMixin, serializers.Serializer):
    start_field, end_field = "start_date", "end_date"
    unit = _ManagedUnit()
    # A text box, not a list of every user, in the browsable API's form.
    tenant = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), style={"base_template": "input.html"}
    )
    start_date = _Date()
    end_date = _Date(required=False, allow_null=True, default=None)
    monthly_rent = _Money(min_value=CENT, required=False, help_text="Default: the unit's rent.")
    deposit = _Money(min_value=Decimal(0), required=False, help_text="Default: the unit's deposit.")
    due_day = serializers.IntegerField(
        min_value=1, max_value=31, required=False, help_text="Default: the start date's day."
    )


class LeaseChangeSerializer(_PeriodMixin, serializers.Serializer):
    """A draft lease's terms, each optional (PATCH)."""

    start_field, end_field = "start_date", "end_date"
    start_date = _Date(required=False)
    end_date = _Date(required=False, allow_null=True)
    monthly_rent = _Money(min_value=CENT, required=False)
    deposit = _Money(min_value=Decimal(0), required=False)
    due_day = serializers.IntegerField(min_value=1, max_value=31, required=False)


class ActivateSerializer(serializers.Serializer):
    on = _Date(required=False, help_text="Default: today.")


class TerminateSerializer(serializers.Serializer):
    on = _Date(
        help_text="The first day without the lease. Later than today, the lease stays active "
        "(holding its unit) until then."
    )


class RenewSerializer(serializers.Serializer):
    end_date = _Date(allow_null=True, help_text="Null: open-ended.")
    monthly_rent = _Money(min_value=CENT, required=False, help_text="Default: the current rent.")


class RentChargeSerializer(serializers.ModelSerializer):
    class Meta:
        model = RentCharge
        fields = ["period_start", "period_end", "due_date", "amount", "currency"]
