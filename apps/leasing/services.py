"""Leasing's writes: properties and units, applications, the lease lifecycle, rent charges.

Who may act is checked here, next to the rule it guards. A lease action reads the lease
again under a row lock, so two requests acting on one lease see each other's result.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from apps.documents.api import get_document_summary, grant_read, revoke_reads
from apps.greeter.api import WELCOME_RESIDENT_TASK
from apps.leasing import schedule
from apps.leasing.models import Application, Lease, Property, RentCharge, Unit
from apps.leasing.selectors import leases_holding
from city.errors import CityError, Conflict, IllegalStateChange
from city.logging import get_logger
from city.tasks import send_task_on_commit

logger = get_logger(__name__)

MANAGE_PERMISSION = "leasing.manage_properties"
# The longest a lease may run, so that its whole schedule is a bounded number of charges.
MAX_LEASE_YEARS = 50

# action: (the states it may start from, the state it leads to)
APPLICATION_ACTIONS: dict[str, tuple[set[str], str]] = {
    "submit": ({Application.Status.DRAFT}, Application.Status.SUBMITTED),
    "approve": ({Application.Status.SUBMITTED}, Application.Status.APPROVED),
    "reject": ({Application.Status.SUBMITTED}, Application.Status.REJECTED),
    "withdraw": (
        {Application.Status.DRAFT, Application.Status.SUBMITTED},
        Application.Status.WITHDRAWN,
    ),
    # No person's: the daily upkeep's, for one left undecided (applications_expire_stale).
    "expire": ({Application.Status.SUBMITTED}, Application.Status.EXPIRED),
}
UPKEEP_ACTIONS = {"expire"}  # never offered to a person as allowed
# The time an action records on the application.
APPLICATION_STAMPS = {"submit": "submitted_at", "approve": "decided_at", "reject": "decided_at"}
# The manager reads an application's documents while it is in these states.
UNDER_REVIEW = (Application.Status.SUBMITTED, Application.Status.APPROVED)
LEASE_ACTIONS: dict[str, tuple[set[str], str]] = {
    "send-for-signature": ({Lease.Status.DRAFT}, Lease.Status.PENDING_SIGNATURE),
    "sign": ({Lease.Status.PENDING_SIGNATURE}, Lease.Status.PENDING_SIGNATURE),
    "activate": ({Lease.Status.PENDING_SIGNATURE}, Lease.Status.ACTIVE),
    "terminate": ({Lease.Status.ACTIVE}, Lease.Status.TERMINATED),
    "renew": ({Lease.Status.ACTIVE}, Lease.Status.ACTIVE),  # the renewal is a new lease
}


def _require_state(
    obj: Application | Lease, action: str, actions: dict[str, tuple[set[str], str]]
) -> str:
    """The state `action` leads to, or IllegalStateChange naming what is allowed now."""
    sources, target = actions[action]
    if obj.status in sources:
        return target
    allowed = _allowed(obj, actions)
    noun = obj._meta.verbose_name
    raise IllegalStateChange(
        f"Cannot {action} a {obj.status} {noun}; allowed: {', '.join(allowed) or 'nothing'}.",
        details={"current": obj.status, "allowed": allowed},
    )


def _refused(obj: Application | Lease, message: str) -> IllegalStateChange:
    """An IllegalStateChange naming the object's state and the actions it allows now."""
    actions = LEASE_ACTIONS if isinstance(obj, Lease) else APPLICATION_ACTIONS
    return IllegalStateChange(
        message, details={"current": obj.status, "allowed": _allowed(obj, actions)}
    )


def _allowed(obj: Application | Lease, actions: dict[str, tuple[set[str], str]]) -> list[str]:
    allowed = [
        name
        for name, (starts, _) in actions.items()
        if obj.status in starts and name not in UPKEEP_ACTIONS
    ]
    if isinstance(obj, Lease) and not _renewable(obj):
        allowed = [name for name in allowed if name != "renew"]
    return allowed


def _renewable(lease: Lease) -> bool:
    """Only a lease that runs to a fixed end, and is not terminated, has a renewal."""
    return lease.end_date is not None and lease.terminated_at is None


def _apply(instance: models.Model, changes: dict[str, Any]) -> None:
    for field, value in changes.items():
        setattr(instance, field, value)
    instance.save(update_fields=[*changes])


def _delete_unless_referenced(instance: models.Model, what: str) -> None:
    """Delete, or Conflict naming what still refers to it (leases, applications)."""
    try:
        instance.delete()
    except models.ProtectedError as error:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in error.protected_objects})
        raise Conflict(
            f"The {what} has {' and '.join(kinds)} and cannot be deleted.",
            details={"referenced_by": kinds},
        ) from error


# --- Properties and units ---------------------------------------------------------------


def property_create(*, manager: AbstractBaseUser, name: str, address: str, city: str) -> Property:
    if not manager.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied("Only property managers may add properties.")
    return Property.objects.create(manager=manager, name=name, address=address, city=city)


def property_update(*, property: Property, changes: dict[str, Any]) -> Property:
    _apply(property, changes)
    return property


def property_delete(*, property: Property) -> None:
    _delete_unless_referenced(property, "property")


def unit_create(
    *,
    property: Property,
    label: str,
    bedrooms: int,
    area_m2: Decimal,
    monthly_rent: Decimal,
    deposit: Decimal,
    currency: str | None = None,
    active: bool = True,
) -> Unit:
    unit = Unit(
        property=property,
        label=label,
        bedrooms=bedrooms,
        area_m2=area_m2,
        monthly_rent=monthly_rent,
        deposit=deposit,
        currency=currency or settings.LEASING_DEFAULT_CURRENCY,
        active=active,
    )
    with _label_taken_is_conflict(unit):
        unit.save(force_insert=True)
    return unit


def unit_update(*, unit: Unit, changes: dict[str, Any]) -> Unit:
    for field, value in changes.items():
        setattr(unit, field, value)
    with _label_taken_is_conflict(unit):
        unit.save(update_fields=[*changes])
    return unit


@contextmanager
def _label_taken_is_conflict(unit: Unit) -> Iterator[None]:
    """Save within; a label the property already uses is a Conflict, any other refusal by
    the database is raised as it is. The label is checked before the write and, should a
    concurrent write have taken it meanwhile, again after the database refused it."""

    def taken() -> bool:
        others = Unit.objects.filter(property_id=unit.property_id, label=unit.label)
        return others.exclude(pk=unit.pk).exists() if unit.pk else others.exists()

    conflict = Conflict(
        f"The property already has a unit labelled '{unit.label}'.", details={"label": ["taken"]}
    )
    if taken():
        raise conflict
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        if taken():
            raise conflict from error
        raise


def unit_delete(*, unit: Unit) -> None:
    _delete_unless_referenced(unit, "unit")


# --- Applications -----------------------------------------------------------------------


def _check_documents(*, applicant: AbstractBaseUser, document_ids: list[int]) -> None:
    """Every document exists, is the applicant's and is processed (the documents service says)."""
    for document_id in document_ids:
        summary = get_document_summary(document_id, owner_id=applicant.pk)
        if summary is None:
            problem = f"Document {document_id} does not exist."
        elif not summary.is_processed:
            problem = f"Document {document_id} is {summary.status}, not processed yet."
        else:
            continue
        raise ValidationError({"document_ids": [problem]})


def application_create(
    *,
    applicant: AbstractBaseUser,
    unit: Unit,
    wished_start: date,
    wished_end: date | None,
    document_ids: list[int],
) -> Application:
    if not unit.active:
        raise ValidationError({"unit": [f"Unit {unit.pk} is not offered for lease."]})
    _check_documents(applicant=applicant, document_ids=document_ids)
    return Application.objects.create(
        applicant=applicant,
        unit=unit,
        wished_start=wished_start,
        wished_end=wished_end,
        document_ids=sorted(set(document_ids)),
    )


def application_changeable_by(application: Application, user: AbstractBaseUser) -> bool:
    """Whether `user` may change the application now: its applicant, while it is a draft."""
    return application.applicant_id == user.pk and application.status == Application.Status.DRAFT


def application_update(
    *, application: Application, changed_by: AbstractBaseUser, changes: dict[str, Any]
) -> Application:
    """The applicant changes their draft: its wished period or its documents.

    The documents are checked first, outside the lock (it may ask the documents service over
    HTTP); the status is then read again under a row lock, so a draft submitted meanwhile is
    refused rather than changed.
    """
    if application.applicant_id != changed_by.pk:
        raise PermissionDenied("Only the applicant may change the application.")
    if "document_ids" in changes:
        _check_documents(applicant=changed_by, document_ids=changes["document_ids"])
        changes = {**changes, "document_ids": sorted(set(changes["document_ids"]))}
    with transaction.atomic():
        application = Application.objects.select_for_update().get(pk=application.pk)
        if application.status != Application.Status.DRAFT:
            raise _refused(
                application,
                f"Only a draft application can be changed; this one is {application.status}.",
            )
        start = changes.get("wished_start", application.wished_start)
        end = changes.get("wished_end", application.wished_end)
        if end is not None and end <= start:
            raise ValidationError({"wished_end": [f"Must be after wished_start ({start})."]})
        _apply(application, changes)
    return application


def application_decide(
    *, application: Application, action: str, by: AbstractBaseUser
) -> Application:
    """submit and withdraw are the applicant's; approve and reject the unit manager's.

    While an application is under review (submitted, then approved) the manager of its unit
    may read its documents: submitting grants it and withdrawing or rejecting ends it, by
    asking the documents service (over HTTP where it is deployed apart). That call is made
    outside the transaction, before the change; should the change then be refused, the
    grant is set back to what the application's state says.
    """
    if action in UPKEEP_ACTIONS:
        raise PermissionDenied(f"Nobody may {action} an application: City does it in time.")
    deciders = {"approve", "reject"}
    actor = application.unit.property.manager_id if action in deciders else application.applicant_id
    if by.pk != actor:
        raise PermissionDenied(
            f"Only the {'manager' if action in deciders else 'applicant'} may {action} it."
        )
    return _application_move(application, action, by=by)


def _application_move(
    application: Application, action: str, *, by: AbstractBaseUser
) -> Application:
    """Take `action`, the manager's read grant following the state (application_decide)."""
    _require_state(application, action, APPLICATION_ACTIONS)
    target = APPLICATION_ACTIONS[action][1]
    if (target in UNDER_REVIEW) != (application.status in UNDER_REVIEW):
        _share_documents(application, shared=target in UNDER_REVIEW)
    try:
        with transaction.atomic():
            application = Application.objects.select_for_update().get(pk=application.pk)
            changes: dict[str, Any] = {
                "status": _require_state(application, action, APPLICATION_ACTIONS)
            }
            if stamp := APPLICATION_STAMPS.get(action):
                changes[stamp] = timezone.now()
            _apply(application, changes)
    except IllegalStateChange:
        application.refresh_from_db()  # changed meanwhile: the grant follows what it is now
        _share_documents(application, shared=application.status in UNDER_REVIEW)
        raise
    logger.info("application_" + action, application_id=application.pk)
    return application


def applications_expire_stale(*, now: datetime) -> int:
    """Expire the applications submitted more than LEASING_APPLICATION_TTL_DAYS before
    `now` and still undecided; returns how many.

    As when the applicant withdraws one, the manager's read grant on its documents ends
    first, asked of the documents service as the applicant: the owner ends every grant
    given for the application, to whoever managed the unit at its submission (the manager
    now may be another). Over HTTP where documents is deployed apart, with a service
    credential, since no request is behind the daily upkeep. One the documents service
    could not be asked about stays submitted, for the next run; one decided or withdrawn
    meanwhile is left as it is now.
    """
    cutoff = now - timedelta(days=settings.LEASING_APPLICATION_TTL_DAYS)
    stale = Application.objects.filter(
        status=Application.Status.SUBMITTED, submitted_at__lt=cutoff
    ).select_related("applicant")
    expired = 0
    for application in stale.order_by("submitted_at", "pk"):
        try:
            _application_move(application, "expire", by=application.applicant)
        except IllegalStateChange:
            continue  # someone acted on it meanwhile
        except CityError as error:  # the documents service is unavailable
            logger.warning(
                "application_expiry_failed", application_id=application.pk, error=str(error)
            )
            continue
        expired += 1
    logger.info("applications_expired", expired=expired, cutoff=cutoff.isoformat())
    return expired


def _share_documents(application: Application, *, shared: bool) -> None:
    """Grant the unit's manager reading the application's documents, or end that grant.

    Ended as the applicant, who owns the documents: that ends every grant given for the
    application, also one to a manager the property has had since."""
    reference = f"leasing.application:{application.pk}"
    if not shared:
        revoke_reads(reference=reference, by_user_id=application.applicant_id)
    elif application.document_ids:
        grant_read(
            document_ids=application.document_ids,
            owner_id=application.applicant_id,
            grantee_id=application.unit.property.manager_id,
            reference=reference,
        )


# --- Leases -----------------------------------------------------------------------------


def _require_manager(lease: Lease, user: AbstractBaseUser, action: str) -> None:
    if lease.unit.property.manager_id != user.pk:
        raise PermissionDenied(f"Only the unit's manager may {action} a lease.")


def _locked(lease: Lease) -> Lease:
    return Lease.objects.select_for_update().select_related("unit__property").get(pk=lease.pk)


def _hold(lease: Lease, changes: dict[str, Any]) -> None:
    """Save a change that makes the lease hold its unit; an overlap is refused as Conflict.

    The database's constraint decides (an exclusion constraint on PostgreSQL, a trigger on
    SQLite). Locking the unit first queues bookings of one unit behind each other, so on
    PostgreSQL the loser sees the winner committed and fails cleanly instead of deadlocking.
    """
    try:
        with transaction.atomic():
            Unit.objects.select_for_update(no_key=True).filter(pk=lease.unit_id).exists()
            _apply(lease, changes)
    except IntegrityError as error:
        other = (
            leases_holding(unit_id=lease.unit_id, start=lease.start_date, end=lease.end_date)
            .exclude(pk=lease.pk)
            .first()
        )
        if other is None:
            raise
        end = other.end_date.isoformat() if other.end_date else None
        raise Conflict(
            f"The unit is already leased from {other.start_date} to {end or 'open-ended'}.",
            details={"conflicting_period": {"start": other.start_date.isoformat(), "end": end}},
        ) from error


def lease_create(
    *,
    unit: Unit,
    tenant: AbstractBaseUser,
    start_date: date,
    end_date: date | None,
    created_by: AbstractBaseUser,
    monthly_rent: Decimal | None = None,
    deposit: Decimal | None = None,
    due_day: int | None = None,
    renewal_of: Lease | None = None,
    application: Application | None = None,
) -> Lease:
    """A draft lease; rent and deposit default to the unit's, rent is due on the start day."""
    if unit.property.manager_id != created_by.pk:
        raise PermissionDenied("Only the unit's manager may draw up a lease.")
    _check_period(start_date, end_date)
    return Lease.objects.create(
        unit=unit,
        tenant=tenant,
        start_date=start_date,
        end_date=end_date,
        monthly_rent=unit.monthly_rent if monthly_rent is None else monthly_rent,
        deposit=unit.deposit if deposit is None else deposit,
        currency=unit.currency,
        due_day=due_day or start_date.day,
        renewal_of=renewal_of,
        application=application,
    )


def _check_period(start_date: date, end_date: date | None) -> None:
    if end_date is not None and end_date <= start_date:
        raise ValidationError({"end_date": ["The end date must be after the start date."]})
    if end_date is not None and end_date > _longest_end(start_date):
        raise ValidationError(
            {"end_date": [f"A lease runs at most {MAX_LEASE_YEARS} years; leave it open-ended."]}
        )


def lease_create_from_application(
    *, application: Application, created_by: AbstractBaseUser
) -> Lease:
    """The draft lease of an approved application: its unit, its applicant as the tenant,
    its wished period, the unit's rent and deposit (all editable while it is a draft).

    One lease per application: the application is locked while it is checked, so of two
    concurrent requests the second is a Conflict (the database refuses a second one too).
    """
    with transaction.atomic():
        application = (
            Application.objects.select_for_update()
            .select_related("unit__property", "applicant")
            .get(pk=application.pk)
        )
        if application.unit.property.manager_id != created_by.pk:
            raise PermissionDenied("Only the unit's manager may draw up a lease.")
        if application.status != Application.Status.APPROVED:
            raise _refused(
                application,
                f"Only an approved application becomes a lease; this one is {application.status}.",
            )
        if existing := application.leases.first():
            raise Conflict(
                f"The application already has lease {existing.pk}.",
                details={"lease": existing.pk},
            )
        lease = lease_create(
            unit=application.unit,
            tenant=application.applicant,
            start_date=application.wished_start,
            end_date=application.wished_end,
            created_by=created_by,
            application=application,
        )
    logger.info("lease_drawn_up", lease_id=lease.pk, application_id=application.pk)
    return lease


# What the manager may still change in a draft lease.
LEASE_DRAFT_FIELDS = ("start_date", "end_date", "monthly_rent", "deposit", "due_day")


def lease_changeable_by(lease: Lease, user: AbstractBaseUser) -> bool:
    """Whether `user` may change the lease's terms now: the unit's manager, while a draft."""
    return lease.unit.property.manager_id == user.pk and lease.status == Lease.Status.DRAFT


def lease_update(*, lease: Lease, changed_by: AbstractBaseUser, changes: dict[str, Any]) -> Lease:
    """The manager changes a draft lease's terms (LEASE_DRAFT_FIELDS); once it is sent for
    signature they are fixed, and a change is an IllegalStateChange."""
    unknown = sorted(set(changes) - set(LEASE_DRAFT_FIELDS))
    if unknown:
        raise ValidationError({field: ["Cannot be changed."] for field in unknown})
    with transaction.atomic():
        lease = _locked(lease)
        _require_manager(lease, changed_by, "change")
        if lease.status != Lease.Status.DRAFT:
            raise _refused(lease, f"Only a draft lease can be changed; this one is {lease.status}.")
        _check_period(
            changes.get("start_date", lease.start_date), changes.get("end_date", lease.end_date)
        )
        _apply(lease, changes)
    logger.info("lease_changed", lease_id=lease.pk, fields=sorted(changes))
    return lease


def lease_send_for_signature(*, lease: Lease, sent_by: AbstractBaseUser) -> Lease:
    """Offer the lease to its tenant: from now on it holds the unit, or it is a Conflict."""
    with transaction.atomic():
        lease = _locked(lease)
        _require_manager(lease, sent_by, "send")
        _hold(lease, {"status": _require_state(lease, "send-for-signature", LEASE_ACTIONS)})
    logger.info("lease_sent_for_signature", lease_id=lease.pk)
    return lease


def lease_sign(*, lease: Lease, signed_by: AbstractBaseUser) -> Lease:
    with transaction.atomic():
        lease = _locked(lease)
        if lease.tenant_id != signed_by.pk:
            raise PermissionDenied("Only the tenant may sign the lease.")
        _require_state(lease, "sign", LEASE_ACTIONS)
        if lease.signed_at is None:
            _apply(lease, {"signed_at": timezone.now()})
    logger.info("lease_signed", lease_id=lease.pk)
    return lease


def lease_activate(*, lease: Lease, activated_by: AbstractBaseUser, on: date) -> Lease:
    """Start a signed lease: its rent schedule is generated and the tenant is welcomed."""
    with transaction.atomic():
        lease = _locked(lease)
        _require_manager(lease, activated_by, "activate")
        status = _require_state(lease, "activate", LEASE_ACTIONS)
        if lease.signed_at is None:
            raise IllegalStateChange(
                "The tenant has not signed the lease yet.",
                details={"current": lease.status, "allowed": ["sign"]},
            )
        _hold(lease, {"status": status, "activated_at": timezone.now()})
        charges_generate(lease=lease, on=on)
        send_task_on_commit(
            WELCOME_RESIDENT_TASK, kwargs={"user_id": lease.tenant_id, "lease_id": lease.pk}
        )
    logger.info("lease_activated", lease_id=lease.pk)
    return lease


def lease_terminate(
    *, lease: Lease, terminated_by: AbstractBaseUser, on: date, today: date | None = None
) -> Lease:
    """End an active lease early; `on` is the first day without it (like end_date).

    From `on` onwards the lease is over: it becomes its end date, charges for periods from
    `on` are dropped and the period holding `on` is prorated. Effective today or earlier, the
    lease is terminated at once. Effective later, it stays active, and so keeps holding its
    unit, until then; leases_end_due marks it terminated when its end date comes. Either way
    `terminated_at` records when it was terminated. `today` defaults to the local date.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        lease = _locked(lease)
        _require_manager(lease, terminated_by, "terminate")
        status = _require_state(lease, "terminate", LEASE_ACTIONS)
        if not lease.start_date < on < (lease.end_date or date.max):
            raise ValidationError(
                {"on": ["The termination date must fall after the start and before the end."]}
            )
        if on > _longest_end(lease.start_date):
            raise ValidationError({"on": [f"A lease runs at most {MAX_LEASE_YEARS} years."]})
        if on > today:
            status = lease.status  # it holds the unit until `on`
        _apply(lease, {"status": status, "end_date": on, "terminated_at": timezone.now()})
        lease.charges.filter(period_end__gt=on).delete()
        charges_generate(lease=lease, on=on)
    logger.info("lease_terminated", lease_id=lease.pk, on=on.isoformat(), status=lease.status)
    return lease


def lease_renew(
    *,
    lease: Lease,
    renewed_by: AbstractBaseUser,
    end_date: date | None,
    monthly_rent: Decimal | None = None,
) -> Lease:
    """A draft lease of the same unit and tenant, starting when this one ends.

    A lease has at most one renewal: the lease is locked while it is checked, so of two
    concurrent renewals the second is a Conflict (the database refuses a second one too).
    """
    with transaction.atomic():
        lease = _locked(lease)
        _require_manager(lease, renewed_by, "renew")
        _require_state(lease, "renew", LEASE_ACTIONS)
        if not _renewable(lease):
            why = "runs on" if lease.end_date is None else "is terminated"
            raise _refused(lease, f"The lease {why}; there is nothing to renew.")
        renewal = lease.renewals.first()
        if renewal is not None:
            raise Conflict(
                f"The lease is already renewed by lease {renewal.pk}.",
                details={"renewal": renewal.pk},
            )
        return lease_create(
            unit=lease.unit,
            tenant=lease.tenant,
            start_date=lease.end_date,
            end_date=end_date,
            created_by=renewed_by,
            monthly_rent=lease.monthly_rent if monthly_rent is None else monthly_rent,
            deposit=lease.deposit,
            due_day=lease.due_day,
            renewal_of=lease,
        )


def leases_end_due(*, on: date) -> int:
    """Move active leases whose end date has come on: to terminated if they were terminated
    (from a day then still ahead), else to ended. Returns how many."""
    due = Lease.objects.filter(status=Lease.Status.ACTIVE, end_date__lte=on)
    terminated = due.filter(terminated_at__isnull=False).update(status=Lease.Status.TERMINATED)
    ended = due.filter(terminated_at__isnull=True).update(status=Lease.Status.ENDED)
    logger.info("leases_ended", ended=ended, terminated=terminated, on=on.isoformat())
    return ended + terminated


def _longest_end(start: date) -> date:
    return schedule.add_months(start, MAX_LEASE_YEARS * 12)


# --- Rent charges -----------------------------------------------------------------------


def charges_generate(*, lease: Lease, on: date) -> int:
    """Create the lease's missing charges; running it again creates nothing new.

    A lease with an end date gets its whole schedule (at most MAX_LEASE_YEARS of periods);
    an open-ended one the periods that begin within LEASING_SCHEDULE_HORIZON_MONTHS of `on`.
    Returns how many charges were missing when it looked; a concurrent run may have created
    some of them meanwhile, and those are not created twice.
    """
    if lease.status in (Lease.Status.DRAFT, Lease.Status.PENDING_SIGNATURE):
        return 0
    until = lease.end_date or schedule.add_months(on, settings.LEASING_SCHEDULE_HORIZON_MONTHS)
    existing = set(lease.charges.values_list("period_start", flat=True))
    missing = [
        RentCharge(
            lease=lease,
            period_start=period.start,
            period_end=period.end,
            due_date=period.due_date,
            amount=period.amount,
            currency=lease.currency,
        )
        for period in schedule.rent_periods(
            start=lease.start_date,
            end=lease.end_date,
            until=until,
            due_day=lease.due_day,
            rent=lease.monthly_rent,
        )
        if period.start not in existing
    ]
    # A concurrent run may have created some meanwhile; the unique constraint keeps one.
    RentCharge.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


def charges_extend_open_ended(*, on: date) -> int:
    """Keep the charges of every active open-ended lease generated up to the horizon."""
    leases = Lease.objects.filter(status=Lease.Status.ACTIVE, end_date__isnull=True)
    return sum(charges_generate(lease=lease, on=on) for lease in leases.iterator())
