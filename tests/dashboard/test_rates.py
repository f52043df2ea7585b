"""Rates over the last minute, from running totals read at explicit times."""

import uuid

import pytest
from django.core.cache import caches
from hypothesis import given
from hypothesis import strategies as st

from apps.dashboard.rates import Rate, rates_over_last_minute
from city.request_counts import Totals
from tests import servers

T0 = 1_000_000.0  # a whole second: sums and differences of whole seconds stay exact
KEY = "test:rates"


def read(now: float, *, counted_since=None, **totals: tuple[int, int]):
    """The rates at `now`, given each service's (requests, errors) so far."""
    as_totals = {name: Totals(*pair) for name, pair in totals.items()}
    return rates_over_last_minute(KEY, as_totals, now=now, counted_since=counted_since)


def stored_times(key: str = KEY) -> list[float]:
    return [when for when, _ in caches["dashboard"].get(key, [])]


def test_no_rate_from_a_first_reading():
    """One reading is no span of time."""
    rates = read(T0, greeter=(100, 3))
    assert (rates.window_seconds, rates.per_service) == (None, {})


def test_counted_since_gives_a_rate_from_the_first_reading():
    """A reading known without asking (zeros at the start) is the base of the first look."""
    rates = read(T0 + 10, greeter=(50, 5), counted_since=(T0, {}))
    assert rates.window_seconds == 10
    assert rates.per_service == {"greeter": Rate(requests_per_second=5.0, error_rate=0.1)}


def test_after_the_first_look_the_rates_are_over_the_readings_not_the_process_life():
    """An hour-old process: the first look averages its life, the next the seconds since."""
    started = (T0 - 3600, {})
    first = read(T0, greeter=(3600, 0), counted_since=started)
    assert (first.window_seconds, first.per_service["greeter"].requests_per_second) == (3600, 1.0)
    second = read(T0 + 5, greeter=(4100, 0), counted_since=started)
    assert (second.window_seconds, second.per_service["greeter"].requests_per_second) == (5, 100.0)


def test_rate_is_requests_over_elapsed_and_error_rate_is_5xx_over_requests():
    read(T0, greeter=(100, 5), leasing=(10, 0))
    rates = read(T0 + 20, greeter=(150, 10), leasing=(15, 0))
    assert rates.window_seconds == 20
    assert rates.per_service == {
        "greeter": Rate(requests_per_second=2.5, error_rate=0.1),
        "leasing": Rate(requests_per_second=0.25, error_rate=0.0),
    }


def test_error_rate_is_none_without_requests():
    read(T0, documents=(7, 1))
    assert read(T0 + 5, documents=(7, 1)).per_service == {
        "documents": Rate(requests_per_second=0.0, error_rate=None)
    }


def test_a_service_missing_from_the_base_reading_counts_from_zero():
    """A service first seen now (no request of it before) is counted from zero."""
    read(T0, greeter=(10, 0))
    rates = read(T0 + 10, greeter=(10, 0), leasing=(20, 2))
    assert rates.per_service["leasing"] == Rate(requests_per_second=2.0, error_rate=0.1)


def test_the_base_is_the_newest_reading_at_least_a_minute_old_and_older_ones_are_dropped():
    """Readings at 0, 30, 61, 90 s; at 125 s the base is 61 s, and 0 and 30 s are gone."""
    for when, requests in [(0, 0), (30, 300), (61, 610), (90, 900)]:
        read(T0 + when, greeter=(requests, 0))
    rates = read(T0 + 125, greeter=(1250, 0))
    assert rates.window_seconds == 64  # from the reading at 61 s
    assert rates.per_service["greeter"].requests_per_second == 10.0
    assert stored_times() == [T0 + 61, T0 + 90, T0 + 125]


def test_the_window_stays_about_a_minute_while_someone_keeps_looking():
    """A look every 7 s for five minutes: once a minute has passed, every window is
    between 60 s and 60 s plus the gap between looks."""
    windows = [read(T0 + when, greeter=(when, 0)).window_seconds for when in range(0, 300, 7)]
    after_a_minute = windows[10:]  # from 70 s on: a reading a minute old exists
    assert windows[0] is None
    assert all(60 <= window < 67 for window in after_a_minute), windows


def test_readings_closer_than_a_second_apart_are_not_stored():
    """A look within the second still gets a rate, but keeps no reading."""
    read(T0, greeter=(0, 0))
    half_a_second_later = read(T0 + 0.5, greeter=(10, 0))
    assert half_a_second_later.per_service["greeter"].requests_per_second == 20.0
    assert stored_times() == [T0]
    read(T0 + 1, greeter=(11, 0))
    assert stored_times() == [T0, T0 + 1]


def test_counters_that_go_backwards_discard_the_readings_before_the_restart():
    """A restart (totals below an earlier reading) starts the readings again: no
    negative rate, and the next rate is counted from the restart's first reading."""
    read(T0, greeter=(1000, 10))
    read(T0 + 10, greeter=(1100, 10))
    restarted = read(T0 + 20, greeter=(40, 0))
    assert (restarted.window_seconds, restarted.per_service) == (None, {})
    after = read(T0 + 30, greeter=(90, 5))
    assert after.window_seconds == 10
    assert after.per_service["greeter"] == Rate(requests_per_second=5.0, error_rate=0.1)


def test_a_dashboard_cache_that_is_down_pauses_the_rates_without_failing(settings):
    """Readings cannot be kept in a Redis nobody runs: no rate from readings, the one
    from `counted_since` still."""
    dashboard = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{servers.free_port()}/0",
    }
    settings.CACHES = {**settings.CACHES, "dashboard": dashboard}
    read(T0, greeter=(0, 0))
    assert read(T0 + 10, greeter=(10, 0)).window_seconds is None
    from_start = read(T0 + 10, greeter=(10, 0), counted_since=(T0 - 10, {}))
    assert from_start.per_service == {"greeter": Rate(requests_per_second=0.5, error_rate=0.0)}


@pytest.mark.parametrize("counted_since", [None, (T0 - 30, {})])
@given(
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=90, allow_nan=False),  # seconds since the last
            st.integers(min_value=0, max_value=10_000),  # new requests
            st.integers(min_value=0, max_value=10_000),  # of which 5xx (capped below)
        ),
        min_size=1,
        max_size=30,
    )
)
def test_monotonic_counters_never_give_a_negative_rate_or_an_error_rate_above_one(
    counted_since, steps
):
    """Whatever the spacing of the readings, counters that only grow give rates >= 0 over
    a window > 0, and an error rate within [0, 1]."""
    key = f"test:rates:{uuid.uuid4()}"
    now, requests, errors = T0, 0, 0
    for elapsed, new_requests, new_errors in steps:
        now += elapsed
        requests, errors = requests + new_requests, errors + min(new_errors, new_requests)
        rates = rates_over_last_minute(
            key, {"greeter": Totals(requests, errors)}, now=now, counted_since=counted_since
        )
        if rates.window_seconds is None:
            continue
        rate = rates.per_service["greeter"]
        assert rates.window_seconds >= 0
        assert rate.requests_per_second >= 0
        assert rate.error_rate is None or 0 <= rate.error_rate <= 1
