from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator, MinValueValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.leasing.models import Application, Lease, Property, RentCharge, Unit
from apps.leasing.schedule import CENT
from apps.leasing.selectors import properties_managed_by, units_managed_by

MAX_DOCUMENTS = 20
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


class PropertySerializer(serializers.ModelSerializer):
    class Meta:
        model = Property
        fields = ["id", "name", "address", "city", "manager", "created_at"]
        read_only_fields = ["manager", "created_at"]


@extend_schema_field(OpenApiTypes.INT)
class _ManagedProperty(serializers.PrimaryKeyRelatedField):
    """A property of the requesting manager; any other id does not exist for them."""

    def get_queryset(self):
        return properties_managed_by(user=self.context["request"].user)


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


class ApplicationSerializer(_PeriodMixin, serializers.ModelSerializer):
    start_field, end_field = "wished_start", "wished_end"
    document_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=MAX_DOCUMENTS,
        required=False,
        help_text="Ids of the applicant's processed documents (documents service).",
    )
    wished_start = _Date()
    wished_end = _Date(required=False, allow_null=True)

    class Meta:
        model = Application
        fields = [
            "id",
            "applicant",
            "unit",
            "wished_start",
            "wished_end",
            "document_ids",
            "status",
            "created_at",
            "decided_at",
        ]
        read_only_fields = ["applicant", "status", "created_at", "decided_at"]


class ApplicationChangeSerializer(ApplicationSerializer):
    class Meta(ApplicationSerializer.Meta):
        read_only_fields = [*ApplicationSerializer.Meta.read_only_fields, "unit"]


class LeaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lease
        fields = [
            "id",
            "unit",
            "tenant",
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
        ]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.INT)
class _ManagedUnit(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return units_managed_by(user=self.context["request"].user)


class LeaseCreateSerializer(_PeriodMixin, serializers.Serializer):
    start_field, end_field = "start_date", "end_date"
    unit = _ManagedUnit()
    tenant = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all())
    start_date = _Date()
    end_date = _Date(required=False, allow_null=True, default=None)
    monthly_rent = _Money(min_value=CENT, required=False, help_text="Default: the unit's rent.")
    deposit = _Money(min_value=Decimal(0), required=False, help_text="Default: the unit's deposit.")
    due_day = serializers.IntegerField(
        min_value=1, max_value=31, required=False, help_text="Default: the start date's day."
    )


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
