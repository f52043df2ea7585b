"""Leasing's reads. Everything a user may see is scoped here: what is not theirs is absent."""

from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Count,
    DateField,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from apps.leasing.models import Application, Lease, Property, RentCharge, Unit


def overlapping(*, start: date, end: date | None, via: str = "") -> Q:
    """Leases that share at least one day with [start, end); `end` None is open-ended.
    `via` is the relation the leases are reached through, if any ("leases" from a unit)."""
    lease = f"{via}__" if via else ""
    reaches_start = Q(**{f"{lease}end_date__isnull": True}) | Q(**{f"{lease}end_date__gt": start})
    return reaches_start & Q(**{f"{lease}start_date__lt": end}) if end else reaches_start


def leases_holding(*, unit_id: int, start: date, end: date | None) -> QuerySet[Lease]:
    """Leases pending signature or active that hold the unit during [start, end)."""
    return Lease.objects.filter(
        overlapping(start=start, end=end), unit_id=unit_id, status__in=Lease.HOLDING
    )


def units_available(*, start: date, end: date | None) -> QuerySet[Unit]:
    """Active units that no lease holds during [start, end), cheapest first.

    The leases holding a unit are an anti-join (LEFT JOIN … IS NULL), not NOT EXISTS:
    SQLite checks a correlated subquery as soon as it reads a unit, so a search by city
    looked up the leases of every unit it walked past in rent order; a joined table it
    reads after the unit's property, only for units of that city (docs/benchmarks.md).
    """
    holding = FilteredRelation(
        "leases",
        condition=overlapping(start=start, end=end, via="leases")
        & Q(leases__status__in=Lease.HOLDING),
    )
    return (
        Unit.objects.filter(active=True)
        .annotate(holding=holding)
        # The joined column, not the lease's id: PostgreSQL plans the join as an anti-join
        # only when the column tested for NULL is one the join condition compares.
        .filter(holding__unit=None)
        .select_related("property")
        .order_by("monthly_rent", "id")
    )


def leases_with_overlaps() -> QuerySet[Lease]:
    """Every lease, annotated with how many other holding leases of its unit overlap it.

    For a holding lease the database keeps that at 0; for a draft it says whether sending
    it for signature would be refused.
    """
    forever = Value(date.max, output_field=DateField())
    others = (
        Lease.objects.filter(unit=OuterRef("unit"), status__in=Lease.HOLDING)
        .exclude(pk=OuterRef("pk"))
        .filter(start_date__lt=Coalesce(OuterRef("end_date"), forever))
        .annotate(reach=Coalesce("end_date", forever))
        .filter(reach__gt=OuterRef("start_date"))
        .order_by()
        .values("unit")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Lease.objects.select_related("unit__property", "tenant").annotate(
        overlaps=Coalesce(Subquery(others), 0)
    )


def properties_managed_by(*, user: AbstractBaseUser) -> QuerySet[Property]:
    return Property.objects.filter(manager=user).select_related("manager")


def units_managed_by(*, user: AbstractBaseUser) -> QuerySet[Unit]:
    return Unit.objects.filter(property__manager=user).select_related("property")


def applications_visible_to(*, user: AbstractBaseUser) -> QuerySet[Application]:
    """The user's own applications, and those submitted for units they manage; each with
    the id of the lease drawn up from it (`lease_id`, None before)."""
    theirs = Q(applicant=user)
    for_their_units = Q(unit__property__manager=user) & ~Q(status=Application.Status.DRAFT)
    lease = Lease.objects.filter(application=OuterRef("pk")).values("pk")[:1]
    return (
        Application.objects.filter(theirs | for_their_units)
        .select_related("unit__property", "applicant")
        .annotate(lease_id=Subquery(lease))
    )


def leases_visible_to(*, user: AbstractBaseUser) -> QuerySet[Lease]:
    """Leases where the user is the tenant or manages the unit."""
    return Lease.objects.filter(Q(tenant=user) | Q(unit__property__manager=user)).select_related(
        "unit__property", "tenant"
    )


def charges_of(*, lease: Lease) -> QuerySet[RentCharge]:
    return lease.charges.order_by("period_start")
