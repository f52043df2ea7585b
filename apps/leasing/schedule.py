"""The rent schedule of a lease: pure functions, no I/O.

Rent periods run from due day to due day: the boundaries are the lease's due day in each
month, clamped to the month's end (due day 31: 31 Jan, 29 Feb 2024, 31 Mar). Each
boundary is computed from its month, never from the previous boundary, so nothing drifts.
When the lease starts on its due day (the default), the periods are simply start + n
months. A period cut short by the lease's start or end is prorated by its days over the
days of the whole rent month it belongs to. Amounts are Decimal, rounded half-up to cents
once per period.
"""

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive
    due_date: date
    amount: Decimal


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return _clamped(year, month + 1, day.day)


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def prorated(rent: Decimal, *, days: int, of_days: int) -> Decimal:
    return (rent * days / of_days).quantize(CENT, rounding=ROUND_HALF_UP)


def rent_periods(
    *, start: date, end: date | None, until: date, due_day: int, rent: Decimal
) -> Iterator[Period]:
    """The periods of a lease running [start, end), or open-ended when `end` is None,
    that begin before `until`. Each is due on its first day."""
    stop = min(end, until) if end else until
    # The rent month holding `start` begins at the last boundary on or before it.
    month = start.year * 12 + start.month - 1
    if _boundary(month, due_day) > start:
        month -= 1
    while (period_start := max(_boundary(month, due_day), start)) < stop:
        month_start, month_end = _boundary(month, due_day), _boundary(month + 1, due_day)
        period_end = min(month_end, end) if end else month_end
        amount = prorated(
            rent, days=(period_end - period_start).days, of_days=(month_end - month_start).days
        )
        yield Period(period_start, period_end, period_start, amount)
        month += 1


def _boundary(month_index: int, due_day: int) -> date:
    year, month = divmod(month_index, 12)
    return _clamped(year, month + 1, due_day)
