"""Query filters. Related objects are filtered by plain id, so a filter never tells whether
someone else's object exists. Numbers are bounded to what the columns hold (city.filters):
out of range is 400 naming the parameter, never an overflow in the database."""

from decimal import Decimal

import django_filters

from apps.leasing.models import Application, Lease, Property, Unit
from city.filters import IdFilter, IntegerFilter

MAX_BEDROOMS = 32767  # a PositiveSmallIntegerField's range
MAX_RENT = 10**10  # above any money_field (12 digits, 2 of them decimals)


def is_rent(value: str | None) -> bool:
    """Whether `value` (a position in rent order, from a client's cursor) is a rent a unit
    can have: a finite number within the column's range. None: no position, the start."""
    if value is None:
        return True
    try:
        rent = Decimal(value)
        return rent.is_finite() and abs(rent) < MAX_RENT
    except ArithmeticError:  # not a number; past the decimal context's exponents
        return False


class AvailableUnitFilter(django_filters.FilterSet):
    city = django_filters.CharFilter(field_name="property__city", lookup_expr="iexact")
    bedrooms = IntegerFilter(
        lookup_expr="gte", label="At least this many bedrooms", min_value=0, max_value=MAX_BEDROOMS
    )
    max_rent = django_filters.NumberFilter(
        field_name="monthly_rent", lookup_expr="lte", min_value=0, max_value=MAX_RENT
    )

    class Meta:
        model = Unit
        fields = ["city", "bedrooms", "max_rent"]


class PropertyFilter(django_filters.FilterSet):
    city = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Property
        fields = ["city"]


class UnitFilter(django_filters.FilterSet):
    property = IdFilter(field_name="property_id")
    bedrooms = IntegerFilter(min_value=0, max_value=MAX_BEDROOMS)

    class Meta:
        model = Unit
        fields = ["property", "active", "bedrooms"]


class ApplicationFilter(django_filters.FilterSet):
    unit = IdFilter(field_name="unit_id")

    class Meta:
        model = Application
        fields = ["status", "unit"]


class LeaseFilter(django_filters.FilterSet):
    unit = IdFilter(field_name="unit_id")
    tenant = IdFilter(field_name="tenant_id")

    class Meta:
        model = Lease
        fields = ["status", "unit", "tenant"]
