from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from rest_framework.exceptions import PermissionDenied, ValidationError

from apps.greeter.api import WELCOME_RESIDENT_TASK
from apps.greeter.models import Welcome
from apps.leasing import services
from apps.leasing.models import Application, Lease, RentCharge
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


def test_a_lease_terminated_ahead_stays_active_with_that_end_date_and_holds_the_unit():
    lease = active(start_date=date(2025, 1, 1), end_date=None)
    services.lease_terminate(
        lease=lease, terminated_by=manager_of(lease), on=date(2025, 6, 1), today=date(2025, 3, 1)
    )
    lease.refresh_from_db()
    assert (lease.status, lease.end_date) == (Lease.Status.ACTIVE, date(2025, 6, 1))
    assert lease.terminated_at is not None
    rival = LeaseFactory(unit=lease.unit, start_date=date(2025, 4, 1), end_date=None)
    with pytest.raises(Conflict):
        services.lease_send_for_signature(lease=rival, sent_by=manager_of(rival))
    after = pending(unit=lease.unit, start_date=date(2025, 6, 1), end_date=None)
    assert after.status == Lease.Status.PENDING_SIGNATURE  # from its termination date on


def test_a_termination_effective_today_ends_the_lease_at_once():
    lease = active(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    services.lease_terminate(
        lease=lease, terminated_by=manager_of(lease), on=date(2025, 6, 1), today=date(2025, 6, 1)
    )
    lease.refresh_from_db()
    assert (lease.status, lease.end_date) == (Lease.Status.TERMINATED, date(2025, 6, 1))


# --- lifecycle ---------------------------------------------------------------------------


def test_activation_sends_the_welcome_by_the_greeters_task_name_with_keyword_arguments(
    monkeypatch,
):
    sent = []
    monkeypatch.setattr(
        services, "send_task_on_commit", lambda name, **options: sent.append((name, options))
    )
    lease = active()
    assert sent == [
        (WELCOME_RESIDENT_TASK, {"kwargs": {"user_id": lease.tenant_id, "lease_id": lease.pk}})
    ]


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
    sent = services.lease_send_for_signature(lease=renewal, sent_by=manager_of(lease))
    assert sent.status == Lease.Status.PENDING_SIGNATURE


def test_an_open_ended_lease_cannot_be_renewed():
    lease = active(end_date=None)
    with pytest.raises(IllegalStateChange) as refused:
        services.lease_renew(lease=lease, renewed_by=manager_of(lease), end_date=None)
    assert refused.value.details == {"current": "active", "allowed": ["terminate"]}
    assert not Lease.objects.filter(renewal_of=lease).exists()


def test_a_lease_terminated_from_a_future_date_cannot_be_renewed():
    lease = active(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    services.lease_terminate(
        lease=lease, terminated_by=manager_of(lease), on=date(2025, 6, 1), today=date(2025, 3, 1)
    )
    with pytest.raises(IllegalStateChange):
        services.lease_renew(lease=lease, renewed_by=manager_of(lease), end_date=None)
    assert not Lease.objects.filter(renewal_of=lease).exists()


def test_a_lease_is_renewed_once_a_second_renewal_is_a_conflict():
    lease = active(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    first = services.lease_renew(lease=lease, renewed_by=manager_of(lease), end_date=None)
    with pytest.raises(Conflict) as refused:
        services.lease_renew(lease=lease, renewed_by=manager_of(lease), end_date=None)
    assert refused.value.details == {"renewal": first.pk}
    assert list(Lease.objects.filter(renewal_of=lease)) == [first]


def test_the_database_itself_refuses_a_second_renewal():
    lease = active(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    LeaseFactory(unit=lease.unit, start_date=date(2026, 1, 1), end_date=None, renewal_of=lease)
    with pytest.raises(IntegrityError), transaction.atomic():
        LeaseFactory(unit=lease.unit, start_date=date(2026, 1, 1), end_date=None, renewal_of=lease)


def test_a_lease_may_run_at_most_fifty_years():
    lease = LeaseFactory()
    with pytest.raises(ValidationError) as refused:
        services.lease_create(
            unit=lease.unit,
            tenant=lease.tenant,
            start_date=date(2025, 1, 1),
            end_date=date(2075, 1, 2),
            created_by=manager_of(lease),
        )
    assert "end_date" in refused.value.detail
    assert Lease.objects.count() == 1


def test_an_open_ended_lease_cannot_be_terminated_beyond_fifty_years():
    lease = active(start_date=date(2025, 1, 1), end_date=None)
    with pytest.raises(ValidationError) as refused:
        services.lease_terminate(lease=lease, terminated_by=manager_of(lease), on=date(2200, 1, 1))
    assert "on" in refused.value.detail
    lease.refresh_from_db()
    assert (lease.status, lease.end_date, lease.terminated_at) == (Lease.Status.ACTIVE, None, None)
    assert lease.charges.count() == 12  # the horizon's, nothing added


def test_due_leases_end():
    due = active(start_date=date(2025, 1, 1), end_date=date(2025, 3, 1))
    running = active(start_date=date(2025, 1, 1), end_date=None)
    assert services.leases_end_due(on=date(2025, 3, 1)) == 1
    due.refresh_from_db()
    running.refresh_from_db()
    assert (due.status, running.status) == (Lease.Status.ENDED, Lease.Status.ACTIVE)


def test_the_daily_job_moves_a_lease_terminated_ahead_to_terminated_when_its_day_comes():
    lease = active(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    services.lease_terminate(
        lease=lease, terminated_by=manager_of(lease), on=date(2025, 6, 1), today=date(2025, 3, 1)
    )
    assert services.leases_end_due(on=date(2025, 5, 31)) == 0
    lease.refresh_from_db()
    assert lease.status == Lease.Status.ACTIVE
    assert services.leases_end_due(on=date(2025, 6, 1)) == 1
    lease.refresh_from_db()
    assert (lease.status, lease.end_date) == (Lease.Status.TERMINATED, date(2025, 6, 1))


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


def test_a_unit_with_applications_cannot_be_deleted_and_the_applications_stay():
    application = draft_application()
    with pytest.raises(Conflict) as refused:
        services.unit_delete(unit=application.unit)
    assert refused.value.details == {"referenced_by": ["applications"]}
    with pytest.raises(Conflict):
        services.property_delete(property=application.unit.property)
    assert Application.objects.filter(pk=application.pk).exists()


def test_a_unit_breaking_another_constraint_is_not_reported_as_a_taken_label():
    unit = UnitFactory()
    with pytest.raises(IntegrityError):
        services.unit_create(
            property=unit.property,
            label="Another label",
            bedrooms=1,
            area_m2=Decimal("30.00"),
            monthly_rent=Decimal("0.00"),  # the database wants it positive
            deposit=Decimal("0.00"),
        )
    with pytest.raises(IntegrityError):
        services.unit_update(unit=unit, changes={"deposit": Decimal("-1.00")})


def test_a_taken_label_is_a_conflict_on_create_and_update():
    unit = UnitFactory(label="A1")
    other = UnitFactory(property=unit.property, label="B1")
    with pytest.raises(Conflict) as refused:
        services.unit_create(
            property=unit.property,
            label="A1",
            bedrooms=1,
            area_m2=Decimal("30.00"),
            monthly_rent=Decimal("500.00"),
            deposit=Decimal("0.00"),
        )
    assert refused.value.details == {"label": ["taken"]}
    with pytest.raises(Conflict):
        services.unit_update(unit=other, changes={"label": "A1"})
    other.refresh_from_db()
    assert other.label == "B1"


def draft_application(**kwargs) -> Application:
    return Application.objects.create(
        applicant=kwargs.pop("applicant", None) or UserFactory(),
        unit=kwargs.pop("unit", None) or UnitFactory(),
        wished_start=date(2025, 6, 1),
        **kwargs,
    )


def test_only_the_applicant_changes_their_application():
    application = draft_application()
    with pytest.raises(PermissionDenied):
        services.application_update(
            application=application,
            changed_by=application.unit.property.manager,
            changes={"wished_start": date(2025, 7, 1)},
        )
    application.refresh_from_db()
    assert application.wished_start == date(2025, 6, 1)


def test_application_update_reads_the_status_again_under_the_lock():
    stale = draft_application()
    Application.objects.filter(pk=stale.pk).update(status=Application.Status.SUBMITTED)
    with pytest.raises(IllegalStateChange) as refused:
        services.application_update(
            application=stale,
            changed_by=stale.applicant,
            changes={"wished_start": date(2025, 7, 1)},
        )
    assert refused.value.details["current"] == "submitted"
    assert Application.objects.get(pk=stale.pk).wished_start == date(2025, 6, 1)


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
