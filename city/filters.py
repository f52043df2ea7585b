"""Query filters every service builds on: whole numbers bounded to what a database stores.

django-filter's NumberFilter reads a Decimal: `?unit=1e292` or `?unit=9223372036854775808`
passes it and then overflows SQLite's 64-bit integers in the query (a 500). These filters
read a whole number within bounds, and answer anything else with 400 naming the parameter.
"""

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

MAX_ID = 2**63 - 1  # the largest id (a 64-bit integer column) a database stores


class IntegerFilter(django_filters.NumberFilter):
    """A whole number from `min_value` to `max_value` (a 64-bit column's range unless
    told otherwise)."""

    field_class = forms.IntegerField

    def __init__(self, *args, min_value: int = -(2**63), max_value: int = MAX_ID, **kwargs):
        super().__init__(*args, min_value=min_value, max_value=max_value, **kwargs)

    def get_max_validator(self):
        return None  # the field's own bounds hold


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID})
class IdFilter(IntegerFilter):
    """An object's id, compared as a plain number (never looked up, so it tells nothing of
    whether someone else's object exists)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)
