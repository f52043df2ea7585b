"""The availability search's query plan: units read in rent order from their index, so the
page is cut without sorting every match; a unit's leases looked up through an index, and
only for units that passed the filters on the unit and its property (docs/benchmarks.md)."""

from datetime import date

import pytest
from django.db import connection

from apps.leasing.rest.filters import AvailableUnitFilter
from apps.leasing.selectors import units_available

pytestmark = pytest.mark.django_db

SEARCHES = {"any unit": {}, "filtered": {"city": "Lyon", "bedrooms": 2, "max_rent": 1200}}


def plan_of(search: dict) -> str:
    units = units_available(start=date(2026, 3, 1), end=date(2026, 6, 1))
    page = AvailableUnitFilter(search, queryset=units).qs[:51]
    if connection.vendor == "postgresql":
        # The test's tables are small enough to read whole; with scans and sorts priced out,
        # the plan says whether the indexes can serve the query (until the transaction ends).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
    return page.explain()


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_available_units_come_in_rent_order_from_the_index_without_a_sort(search):
    plan = plan_of(search)
    assert "leasing_unit_available" in plan
    assert "TEMP B-TREE" not in plan  # SQLite's sort
    assert "Sort" not in plan  # PostgreSQL's
    assert "Seq Scan" not in plan


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_a_units_leases_are_looked_up_last_through_an_index(search):
    plan = plan_of(search)
    if connection.vendor == "sqlite":
        # One line per table, outermost first: the leases after the unit's property.
        leases = "SEARCH holding USING COVERING INDEX leasing_lease_unit_period"
        assert leases in plan
        assert plan.index("leasing_property") < plan.index(leases)
    else:
        assert "Anti Join" in plan
