from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from rest_framework.exceptions import PermissionDenied, ValidationError

from apps.greeter.models import Welcome
from apps.leasing import services
from apps.leasing.models import Lease, RentCharge
from city.celery import app as celery_app
from city.errors import Conflict, IllegalStateChange
from tests.factories import LeaseFactory, ManagerFactory, UnitFactory, UserFactory

pytestmark = pytest.mark.django_db


def manager_of(lease: Lease):
    return lease.unit.property.manager


def pending(**kwargs) -> Lease:
    lease = LeaseFactory(**kwargs)
    return services.lease_send_for_signature(lease=lease, sent_by=manager_of(lease))


def active(on=date(2025, 1, 1), **kwargs) -> Lease:
    lease = pending(**kwargs)
    services.lease_sign(lease=lease, signed_by=lease.tenant)
    return services.lease_activate(lease=lease, activated_by=manager_of(lease), on=on)


# --- the double-booking guarantee -------------------------------------------------------


def test_overlapping_lease_is_refused_as_conflict_naming_the_period():
    held = pending(start_date=date(2025, 1, 1), end_date=date(2025, 7, 1))
    rival = LeaseFactory(unit=held.unit, start_date=date(2025, 6, 1), end_date=None)
    with pytest.raises(Conflict) as refused:
        services.lease_send_for_signature(lease=rival, sent_by=manager_of(rival))
    assert refused.value.details == {
        "conflicting_period": {"start": "2025-01-01", "end": "2025-07-01"}
    }
    rival.refresh_from_db()
    assert rival.status == Lease.Status.DRAFT


def test_back_to_back_leases_are_fine():
    first = pending(start_date=date(2025, 1, 1), end_date=date(2025, 7, 1))
    second = pending(unit=first.unit, start_date=date(2025, 7, 1), end_date=None)
    assert second.status == Lease.Status.PENDING_SIGNATURE


def test_open_ended_lease_holds_the_unit_for_ever_after():
    first = pending(start_date=date(2025, 1, 1), end_date=None)
    later = LeaseFactory(unit=first.unit, start_date=date(2040, 1, 1), end_date=None)
    with pytest.raises(Conflict):
        services.lease_send_for_signature(lease=later, sent_by=manager_of(later))


def test_drafts_and_leases_of_other_units_do_not_conflict():
    held = pending()
    LeaseFactory(unit=held.unit)  # a draft alongside
    assert pending(start_date=held.start_date).status == Lease.Status.PENDING_SIGNATURE


def test_the_database_itself_refuses_an_overlapping_insert():
    held = pending(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        LeaseFactory(unit=held.unit, start_date=date(2025, 12, 31), status=Lease.Status.ACTIVE)
    assert Lease.objects.count() == 1


def test_the_database_itself_refuses_an_update_into_an_overlap():
    held = pending(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    draft = LeaseFactory(unit=held.unit, start_date=date(2024, 6, 1), end_date=date(2025, 1, 2))
    holding = Lease.objects.filter(pk=draft.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        holding.update(status=Lease.Status.PENDING_SIGNATURE)
    assert Lease.objects.filter(status__in=Lease.HOLDING).count() == 1


def test_a_terminated_lease_frees_the_rest_of_its_period():
    lease = active(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    services.lease_terminate(lease=lease, terminated_by=manager_of(lease), on=date(2025, 6, 1))
    after = pending(unit=lease.unit, start_date=date(2025, 6, 1), end_date=None)
    assert after.status == Lease.Status.PENDING_SIGNATURE


# --- lifecycle ---------------------------------------------------------------------------


def test_activation_generates_the_schedule_and_welcomes_the_tenant(
    django_capture_on_commit_callbacks,
):
    # Register every app's tasks, as a worker does at start (the greeter's is sent by name).
    celery_app.loader.import_default_modules()
    with django_capture_on_commit_callbacks(execute=True):
        lease = active(start_date=date(2025, 1, 1), end_date=date(2025, 4, 1))
    assert lease.status == Lease.Status.ACTIVE
    assert list(lease.charges.values_list("amount", flat=True)) == [Decimal("900.00")] * 3
    welcome = Welcome.objects.get(lease_id=lease.pk)  # the in-process (eager) greeter task
    assert welcome.user == lease.tenant


def test_unsigned_lease_cannot_be_activated():
    lease = pending()
    with pytest.raises(IllegalStateChange) as refused:
        services.lease_activate(lease=lease, activated_by=manager_of(lease), on=date(2025, 1, 1))
    assert refused.value.details == {"current": "pending_signature", "allowed": ["sign"]}


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("activate", ["send-for-signature"]),
        ("terminate", ["send-for-signature"]),
        ("sign", ["send-for-signature"]),
    ],
)
def test_illegal_transition_names_current_state_and_allowed_actions(action, allowed):
    lease = LeaseFactory()
    call = {
        "activate": lambda: services.lease_activate(
            lease=lease, activated_by=manager_of(lease), on=date(2025, 1, 1)
        ),
        "terminate": lambda: services.lease_terminate(
            lease=lease, terminated_by=manager_of(lease), on=date(2025, 2, 1)
        ),
        "sign": lambda: services.lease_sign(lease=lease, signed_by=lease.tenant),
    }[action]
    with pytest.raises(IllegalStateChange) as refused:
        call()
    assert refused.value.details == {"current": "draft", "allowed": allowed}


def test_only_the_tenant_signs_and_only_the_manager_activates():
    lease = pending()
    with pytest.raises(PermissionDenied):
        services.lease_sign(lease=lease, signed_by=manager_of(lease))
    services.lease_sign(lease=lease, signed_by=lease.tenant)
    with pytest.raises(PermissionDenied):
        services.lease_activate(lease=lease, activated_by=lease.tenant, on=date(2025, 1, 1))


def test_termination_drops_later_charges_and_prorates_the_last_month():
    lease = active(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    assert lease.charges.count() == 12
    services.lease_terminate(lease=lease, terminated_by=manager_of(lease), on=date(2025, 3, 11))
    lease.refresh_from_db()
    assert (lease.status, lease.end_date) == (Lease.Status.TERMINATED, date(2025, 3, 11))
    assert list(lease.charges.values_list("period_start", "period_end", "amount")) == [
        (date(2025, 1, 1), date(2025, 2, 1), Decimal("900.00")),
        (date(2025, 2, 1), date(2025, 3, 1), Decimal("900.00")),
        (date(2025, 3, 1), date(2025, 3, 11), Decimal("290.32")),  # 10 of 31 days
    ]


@pytest.mark.parametrize("on", [date(2025, 1, 1), date(2024, 12, 1), date(2026, 1, 1)])
def test_termination_date_must_fall_inside_the_lease(on):
    lease = active(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    with pytest.raises(ValidationError):
        services.lease_terminate(lease=lease, terminated_by=manager_of(lease), on=on)


def test_renewal_starts_when_the_old_lease_ends_and_can_be_held_back_to_back():
    lease = active(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    renewal = services.lease_renew(
        lease=lease,
        renewed_by=manager_of(lease),
        end_date=date(2027, 1, 1),
        monthly_rent=Decimal("950.00"),
    )
    assert (renewal.status, renewal.renewal_of, renewal.start_date) == (
        Lease.Status.DRAFT,
        lease,
        date(2026, 1, 1),
    )
    assert (renewal.tenant, renewal.unit, renewal.monthly_rent) == (
        lease.tenant,
        lease.unit,
        Decimal("950.00"),
    )
    services.lease_send_for_signature(lease=renewal, sent_by=manager_of(lease))


def test_an_open_ended_lease_cannot_be_renewed():
    lease = active(end_date=None)
    with pytest.raises(ValidationError):
        services.lease_renew(lease=lease, renewed_by=manager_of(lease), end_date=None)


def test_due_leases_end():
    due = active(start_date=date(2025, 1, 1), end_date=date(2025, 3, 1))
    running = active(start_date=date(2025, 1, 1), end_date=None)
    assert services.leases_end_due(on=date(2025, 3, 1)) == 1
    due.refresh_from_db()
    running.refresh_from_db()
    assert (due.status, running.status) == (Lease.Status.ENDED, Lease.Status.ACTIVE)


# --- rent charges -----------------------------------------------------------------------


def test_generating_charges_twice_creates_nothing_new():
    lease = active(start_date=date(2025, 1, 31), end_date=date(2025, 6, 15))
    before = list(lease.charges.values_list("period_start", "amount"))
    assert services.charges_generate(lease=lease, on=date(2025, 1, 31)) == 0
    assert list(lease.charges.values_list("period_start", "amount")) == before
    assert [start for start, _ in before] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
    ]


def test_open_ended_schedule_is_extended_up_to_the_horizon(settings):
    settings.LEASING_SCHEDULE_HORIZON_MONTHS = 2
    lease = active(on=date(2025, 1, 1), start_date=date(2025, 1, 1), end_date=None)
    assert lease.charges.count() == 2
    assert services.charges_extend_open_ended(on=date(2025, 3, 1)) == 2
    assert services.charges_extend_open_ended(on=date(2025, 3, 1)) == 0
    assert lease.charges.count() == 4


def test_draft_leases_get_no_charges():
    assert services.charges_generate(lease=LeaseFactory(), on=date(2025, 1, 1)) == 0
    assert not RentCharge.objects.exists()


# --- properties, units, applications ---------------------------------------------------


def test_only_managers_add_properties():
    with pytest.raises(PermissionDenied):
        services.property_create(manager=UserFactory(), name="Mill", address="1 Rue", city="Lyon")
    prop = services.property_create(
        manager=ManagerFactory(), name="Mill", address="1 Rue", city="Lyon"
    )
    assert prop.manager.has_perm("leasing.manage_properties")


def test_a_unit_with_leases_cannot_be_deleted():
    lease = LeaseFactory()
    with pytest.raises(Conflict):
        services.unit_delete(unit=lease.unit)


def test_application_for_an_inactive_unit_is_refused():
    unit = UnitFactory(active=False)
    with pytest.raises(ValidationError):
        services.application_create(
            applicant=UserFactory(),
            unit=unit,
            wished_start=date(2025, 1, 1),
            wished_end=None,
            document_ids=[],
        )
