"""Query filters. Related objects are filtered by plain id, so a filter never tells whether
someone else's object exists."""

import django_filters

from apps.leasing.models import Application, Lease, Property, Unit


class AvailableUnitFilter(django_filters.FilterSet):
    city = django_filters.CharFilter(field_name="property__city", lookup_expr="iexact")
    bedrooms = django_filters.NumberFilter(lookup_expr="gte", label="At least this many bedrooms")
    max_rent = django_filters.NumberFilter(field_name="monthly_rent", lookup_expr="lte")

    class Meta:
        model = Unit
        fields = ["city", "bedrooms", "max_rent"]


class PropertyFilter(django_filters.FilterSet):
    city = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Property
        fields = ["city"]


class UnitFilter(django_filters.FilterSet):
    property = django_filters.NumberFilter(field_name="property_id")

    class Meta:
        model = Unit
        fields = ["property", "active", "bedrooms"]


class ApplicationFilter(django_filters.FilterSet):
    unit = django_filters.NumberFilter(field_name="unit_id")

    class Meta:
        model = Application
        fields = ["status", "unit"]


class LeaseFilter(django_filters.FilterSet):
    unit = django_filters.NumberFilter(field_name="unit_id")
    tenant = django_filters.NumberFilter(field_name="tenant_id")

    class Meta:
        model = Lease
        fields = ["status", "unit", "tenant"]
