import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.leasing.schedule import add_months, prorated, rent_periods

RENT = Decimal("1000.00")
FAR = date(2100, 1, 1)


def periods(start, end, *, due_day=None, until=FAR, rent=RENT):
    return list(
        rent_periods(start=start, end=end, until=until, due_day=due_day or start.day, rent=rent)
    )


def test_add_months_clamps_to_month_end_without_drift():
    start = date(2024, 1, 31)
    assert [add_months(start, n) for n in range(4)] == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 12, 15), 1) == date(2025, 1, 15)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)


def test_periods_from_the_31st_follow_the_month_ends_of_a_leap_year():
    schedule = periods(date(2024, 1, 31), date(2024, 5, 31))
    assert [(p.start, p.end) for p in schedule] == [
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2024, 2, 29), date(2024, 3, 31)),
        (date(2024, 3, 31), date(2024, 4, 30)),
        (date(2024, 4, 30), date(2024, 5, 31)),
    ]
    assert all(p.amount == RENT for p in schedule)
    assert [p.due_date for p in schedule] == [p.start for p in schedule]


def test_first_and_last_partial_months_are_prorated_by_the_days_of_that_month():
    # Rent due on the 1st; in on 15 Jan (17 of 31 days), out on 11 Mar (10 of 31 days).
    schedule = periods(date(2025, 1, 15), date(2025, 3, 11), due_day=1)
    assert [(p.start, p.end, p.amount) for p in schedule] == [
        (date(2025, 1, 15), date(2025, 2, 1), Decimal("548.39")),
        (date(2025, 2, 1), date(2025, 3, 1), RENT),
        (date(2025, 3, 1), date(2025, 3, 11), Decimal("322.58")),
    ]


@pytest.mark.parametrize(
    ("year", "expected"), [(2024, Decimal("517.24")), (2023, Decimal("535.71"))]
)
def test_february_proration_knows_leap_years(year, expected):
    # 15 of 29 days in 2024, 15 of 28 in 2023.
    (period,) = periods(date(year, 2, 1), date(year, 2, 16), due_day=1)
    assert period.amount == expected


def test_proration_rounds_half_up_to_cents_once():
    assert prorated(Decimal("100.00"), days=1, of_days=8) == Decimal("12.50")
    assert prorated(Decimal("0.10"), days=1, of_days=4) == Decimal("0.03")  # 0.025 → up
    assert prorated(Decimal("1000.00"), days=30, of_days=30) == RENT


def test_open_ended_lease_is_scheduled_up_to_the_horizon():
    schedule = periods(date(2025, 1, 10), None, until=date(2025, 4, 10))
    assert [p.start for p in schedule] == [
        date(2025, 1, 10),
        date(2025, 2, 10),
        date(2025, 3, 10),
    ]


def test_a_lease_ending_before_its_first_due_day_is_one_partial_period():
    (period,) = periods(date(2025, 6, 10), date(2025, 6, 20), due_day=1)
    assert (period.start, period.end, period.amount) == (
        date(2025, 6, 10),
        date(2025, 6, 20),
        Decimal("333.33"),
    )


# --- properties -------------------------------------------------------------------------

starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))
rents = st.decimals(min_value="1.00", max_value="99999.99", places=2)
due_days = st.integers(min_value=1, max_value=31)


@given(start=starts, months=st.integers(min_value=1, max_value=60), rent=rents)
def test_charges_of_a_full_month_lease_sum_to_rent_times_months(start, months, rent):
    schedule = periods(start, add_months(start, months), rent=rent)
    assert len(schedule) == months
    assert sum(p.amount for p in schedule) == rent * months


@given(
    start=starts,
    days=st.integers(min_value=1, max_value=1500),
    due_day=due_days,
    rent=rents,
)
def test_charges_never_overlap_and_cover_exactly_the_lease(start, days, due_day, rent):
    end = start + timedelta(days=days)
    schedule = periods(start, end, due_day=due_day, rent=rent)
    assert schedule[0].start == start
    assert schedule[-1].end == end
    for before, after in itertools.pairwise(schedule):
        assert before.end == after.start
    for period in schedule:
        assert period.start < period.end
        assert Decimal("0.00") <= period.amount <= rent
        assert period.amount == period.amount.quantize(Decimal("0.01"))
    # Only the first and last periods may be partial; the ones between are a full month.
    assert all(p.amount == rent for p in schedule[1:-1])


@given(start=starts, until_days=st.integers(min_value=1, max_value=800), due_day=due_days)
def test_open_ended_schedule_stops_before_the_horizon(start, until_days, due_day):
    until = start + timedelta(days=until_days)
    schedule = periods(start, None, due_day=due_day, until=until)
    assert schedule
    assert all(p.start < until for p in schedule)
    assert schedule[-1].end >= until
