"""Demo data for development (`manage.py seed_demo`): a manager, her properties in four
cities with their units, and the demo resident as a tenant and as an applicant.

- maria manages every property (the permission comes from the "Property managers"
  group, as docs/leasing.md suggests giving it).
- ada (made by the greeter's demo, which runs first; found here by username) rents a
  flat in Lyon: her application was approved, its lease drawn up, sent, signed and
  activated two months ago, so it has rent charges, and its activation sent the greeter
  its welcome. She has also applied, with her payslip (from the documents' demo, found
  through `apps.documents.api`), for a flat in Lisbon from next month: submitted, so
  maria sees the application and may read the payslip.

Everything goes through leasing's services, as the API's users would, and is looked up
before it is made: a second run creates and changes nothing, and a database seeded
halfway (say, the manager but no properties, or a lease not yet signed) is completed.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.utils import timezone

from apps.documents.api import list_documents
from apps.leasing import selectors
from apps.leasing.models import Application, Lease, Unit
from apps.leasing.schedule import add_months
from apps.leasing.services import (
    MANAGE_PERMISSION,
    application_create,
    application_decide,
    lease_activate,
    lease_create_from_application,
    lease_send_for_signature,
    lease_sign,
    property_create,
    unit_create,
)

MANAGER_USERNAME = "maria"
MANAGER_PASSWORD = "city-manager-demo"  # noqa: S105 - a printed demo password, dev only
MANAGERS_GROUP = "Property managers"
RESIDENT_USERNAME = "ada"  # the greeter's demo resident
APPLICATIONS = "/api/leasing/applications/"
AVAILABLE = "/api/leasing/units/available/"


@dataclass(frozen=True)
class DemoProperty:
    name: str
    address: str
    city: str
    currency: str
    rent_per_m2: Decimal
    deposit_months: int  # the local custom: Berlin 3 months' rent, Québec none at all
    units: tuple[tuple[str, int, int], ...]  # label, bedrooms, area in m²

    def rent(self, area_m2: int) -> Decimal:
        """The monthly rent of `area_m2`, rounded to tens."""
        return (area_m2 * self.rent_per_m2 / 10).quantize(Decimal(1), ROUND_HALF_UP) * 10


PROPERTIES = (
    DemoProperty(
        "Maison des Canuts", "12 rue d'Austerlitz", "Lyon", "EUR", Decimal("15.5"), 1,
        (("1A", 0, 24), ("1B", 1, 41), ("2A", 1, 46), ("2B", 2, 63), ("3A", 3, 82), ("3B", 2, 58)),
    ),
    DemoProperty(
        "Quai Saint-Vincent", "48 quai Saint-Vincent", "Lyon", "EUR", Decimal("17"), 1,
        (("RDC", 1, 38), ("1er", 2, 71), ("2e", 4, 104), ("3e", 3, 88)),
    ),
    DemoProperty(
        "Casa do Largo", "Rua dos Remédios 21", "Lisbon", "EUR", Decimal("19"), 2,
        (("0-Esq", 0, 28), ("1-Esq", 1, 52), ("1-Dto", 2, 68), ("2-Esq", 2, 74), ("2-Dto", 3, 95)),
    ),
    DemoProperty(
        "Hof am Kanal", "Paul-Lincke-Ufer 8", "Berlin", "EUR", Decimal("16"), 3,
        (("VH 1", 1, 45), ("VH 2", 2, 67), ("VH 3", 3, 89), ("SF 1", 0, 31), ("SF 2", 1, 49),
         ("SF 3", 2, 61), ("DG", 4, 118)),
    ),
    DemoProperty(
        "Le Plateau", "4380 rue Saint-Denis", "Montréal", "CAD", Decimal("22"), 0,
        (("101", 1, 50), ("102", 2, 72), ("201", 2, 78), ("202", 3, 96), ("301", 1, 55),
         ("302", 0, 33)),
    ),
)  # fmt: skip
# ada's units: the one she rents, and the one she applies for.
LEASED = ("Maison des Canuts", "2B")
APPLIED = ("Casa do Largo", "1-Dto")
LEASE_MONTHS = 12


def seed() -> Iterator[str]:
    today = timezone.localdate()
    next_month = add_months(today.replace(day=1), 1)
    manager = _manager()
    units = {
        (spec.name, label): unit for spec in PROPERTIES for label, unit in _units(spec, manager)
    }
    cities = ", ".join(dict.fromkeys(spec.city for spec in PROPERTIES))
    yield _line("demo manager:", f"{MANAGER_USERNAME} / {MANAGER_PASSWORD}  ({APPLICATIONS})")
    yield _line("demo city:", f"{len(units)} units in {len(PROPERTIES)} properties: {cities}")
    yield _line("to rent:", f"{AVAILABLE}?start={next_month}  (free from next month)")
    resident = get_user_model().objects.filter(username=RESIDENT_USERNAME).first()
    if resident is None:
        yield _line("leasing:", f"no resident '{RESIDENT_USERNAME}' here: no lease or application")
        return
    payslips = [
        document.id
        for document in list_documents(owner_id=resident.pk, processed_only=True)
        if document.kind == "payslip"
    ][:1]
    lease = _lease(
        unit=units[LEASED],
        tenant=resident,
        manager=manager,
        start=add_months(today.replace(day=1), -2),
        document_ids=payslips,
        today=today,
    )
    yield _line("ada's lease:", _lease_line(lease))
    application = _application(
        unit=units[APPLIED],
        applicant=resident,
        start=next_month,
        document_ids=payslips,
    )
    yield _line("ada applied:", _application_line(application))


def _manager() -> AbstractBaseUser:
    """maria, in the "Property managers" group, which holds the managers' permission."""
    users = get_user_model().objects
    manager = users.filter(username=MANAGER_USERNAME).first()
    if manager is None:
        manager = users.create_user(MANAGER_USERNAME, "maria@city.example", MANAGER_PASSWORD)
    app_label, codename = MANAGE_PERMISSION.split(".")
    group, _ = Group.objects.get_or_create(name=MANAGERS_GROUP)
    group.permissions.add(
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
    )
    manager.groups.add(group)
    return users.get(pk=manager.pk)  # afresh: an instance caches the permissions it read


def _units(spec: DemoProperty, manager: AbstractBaseUser) -> Iterator[tuple[str, Unit]]:
    """The property's units, each made if it is missing."""
    property = (
        selectors.properties_managed_by(user=manager).filter(name=spec.name, city=spec.city).first()
    ) or property_create(manager=manager, name=spec.name, address=spec.address, city=spec.city)
    existing = {unit.label: unit for unit in Unit.objects.filter(property=property)}
    for label, bedrooms, area in spec.units:
        unit = existing.get(label) or unit_create(
            property=property,
            label=label,
            bedrooms=bedrooms,
            area_m2=Decimal(area),
            monthly_rent=spec.rent(area),
            deposit=spec.rent(area) * spec.deposit_months,
            currency=spec.currency,
        )
        yield label, unit


def _lease(
    *,
    unit: Unit,
    tenant: AbstractBaseUser,
    manager: AbstractBaseUser,
    start: date,
    document_ids: list[int],
    today: date,
) -> Lease | None:
    """The tenant's lease of `unit`, taken as far as active from wherever it stands: an
    application made, submitted and approved, the lease drawn up from it, sent for
    signature, signed and activated. None if the application went another way."""
    application = _application(unit=unit, applicant=tenant, start=start, document_ids=document_ids)
    if application.status == Application.Status.SUBMITTED:
        application = application_decide(application=application, action="approve", by=manager)
    if application.status != Application.Status.APPROVED:
        return None
    lease = application.leases.first() or lease_create_from_application(
        application=application, created_by=manager
    )
    if lease.status == Lease.Status.DRAFT:
        lease = lease_send_for_signature(lease=lease, sent_by=manager)
    if lease.status == Lease.Status.PENDING_SIGNATURE and lease.signed_at is None:
        lease = lease_sign(lease=lease, signed_by=tenant)
    if lease.status == Lease.Status.PENDING_SIGNATURE:
        lease = lease_activate(lease=lease, activated_by=manager, on=today)
    return lease


def _application(
    *, unit: Unit, applicant: AbstractBaseUser, start: date, document_ids: list[int]
) -> Application:
    """The applicant's application for `unit` for LEASE_MONTHS from `start`, made and
    submitted if it is not yet; one that has gone further is left as it is."""
    application = (
        Application.objects.filter(applicant=applicant, unit=unit).order_by("id").first()
    ) or application_create(
        applicant=applicant,
        unit=unit,
        wished_start=start,
        wished_end=add_months(start, LEASE_MONTHS),
        document_ids=document_ids,
    )
    if application.status == Application.Status.DRAFT:
        application = application_decide(application=application, action="submit", by=applicant)
    return application


def _line(label: str, text: str) -> str:
    """A line of the demo's block: the label in a column as wide as the other demos'."""
    return f"{label:<15}{text}"


def _lease_line(lease: Lease | None) -> str:
    if lease is None:
        return f"no lease: her application for {LEASED[0]} {LEASED[1]} was not approved"
    charges = lease.charges.count()
    return (
        f"{lease.unit.property.city} {lease.unit.label}, {lease.status} from {lease.start_date}, "
        f"{charges} rent charges  (/api/leasing/leases/{lease.pk}/charges/)"
    )


def _application_line(application: Application) -> str:
    documents = "with her payslip" if application.document_ids else "without documents"
    return (
        f"{application.unit.property.city} {application.unit.label} from "
        f"{application.wished_start}, {application.status} {documents}  "
        f"({APPLICATIONS}{application.pk}/)"
    )
