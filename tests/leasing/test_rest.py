import secrets
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from apps.documents.services import document_process, document_upload
from apps.leasing import services
from apps.leasing.models import Application, Lease, Property, Unit
from tests.contract import error_of
from tests.factories import LeaseFactory, ManagerFactory, PropertyFactory, UnitFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/leasing"
AVAILABLE = f"{API}/units/available/"


@pytest.fixture
def manager(api):
    user = ManagerFactory()
    api.force_authenticate(user)
    return user


def as_user(api, user):
    api.force_authenticate(user)
    return api


# --- properties and units ---------------------------------------------------------------


def test_manager_creates_a_property_and_its_units(api, manager):
    response = api.post(
        f"{API}/properties/", {"name": "Mill", "address": "1 Quai", "city": "Lyon"}, format="json"
    )
    assert response.status_code == 201
    prop = response.json()
    assert prop["manager"] == manager.pk
    unit = {
        "property": prop["id"],
        "label": "A1",
        "bedrooms": 2,
        "area_m2": "54.50",
        "monthly_rent": "980.00",
        "deposit": "1960.00",
    }
    response = api.post(f"{API}/units/", unit, format="json")
    assert response.status_code == 201
    assert response.json()["currency"] == "EUR"  # LEASING_DEFAULT_CURRENCY
    assert response.json()["monthly_rent"] == "980.00"
    assert api.post(f"{API}/units/", unit, format="json").status_code == 409  # label taken
    response = api.patch(f"{API}/units/{Unit.objects.get().pk}/", {"active": False}, format="json")
    assert response.json()["active"] is False


def test_a_resident_may_not_add_properties(api):
    as_user(api, UserFactory())
    response = api.post(
        f"{API}/properties/", {"name": "Mill", "address": "1 Quai", "city": "Lyon"}, format="json"
    )
    assert response.status_code == 403
    assert not Property.objects.exists()


def test_a_unit_cannot_be_added_to_someone_elses_property(api, manager):
    theirs = PropertyFactory()
    unit = {
        "property": theirs.pk,
        "label": "X",
        "bedrooms": 1,
        "area_m2": "30",
        "monthly_rent": "500",
        "deposit": "0",
    }
    response = api.post(f"{API}/units/", unit, format="json")
    assert response.status_code == 400
    assert "property" in error_of(response)["details"]


def test_negative_rent_is_400(api, manager):
    prop = PropertyFactory(manager=manager)
    unit = {
        "property": prop.pk,
        "label": "X",
        "bedrooms": 1,
        "area_m2": "30",
        "monthly_rent": "-5",
        "deposit": "0",
    }
    assert api.post(f"{API}/units/", unit, format="json").status_code == 400


def test_a_unit_with_leases_cannot_be_deleted_409(api, manager):
    lease = LeaseFactory(unit__property__manager=manager)
    assert api.delete(f"{API}/units/{lease.unit.pk}/").status_code == 409
    assert (
        api.delete(f"{API}/units/{UnitFactory(property=lease.unit.property).pk}/").status_code
        == 204
    )


# --- availability ------------------------------------------------------------------------


def test_available_units_exclude_held_ones_and_are_ordered_by_rent(api):
    cheap, dear, held = (
        UnitFactory(monthly_rent=Decimal("700")),
        UnitFactory(monthly_rent=Decimal("1200")),
        UnitFactory(monthly_rent=Decimal("500")),
    )
    LeaseFactory(
        unit=held,
        start_date=date(2025, 3, 1),
        end_date=date(2025, 9, 1),
        status=Lease.Status.ACTIVE,
    )
    UnitFactory(monthly_rent=Decimal("400"), active=False)
    LeaseFactory(unit=dear, start_date=date(2025, 1, 1), status=Lease.Status.DRAFT)  # no hold
    as_user(api, UserFactory())
    response = api.get(AVAILABLE, {"start": "2025-06-01", "end": "2025-07-01"})
    assert response.status_code == 200
    body = response.json()
    assert [unit["id"] for unit in body["results"]] == [cheap.pk, dear.pk]
    assert body["results"][0]["property"]["city"] == "Lyon"
    assert body["results"][0]["monthly_rent"] == "700.00"
    # Back to back with the held lease: free again from the day it ends.
    after = api.get(AVAILABLE, {"start": "2025-09-01", "end": "2025-10-01"}).json()
    assert [unit["id"] for unit in after["results"]] == [held.pk, cheap.pk, dear.pk]
    # Open-ended search: the held unit is taken at some point after 1 Jan.
    assert len(api.get(AVAILABLE, {"start": "2025-01-01"}).json()["results"]) == 2


def test_available_units_page_through_in_rent_order(api):
    rents = [Decimal(rent) for rent in [500, 700, 700, 700, 900] * 12]
    units = [UnitFactory(monthly_rent=rent) for rent in rents]
    as_user(api, UserFactory())
    seen, url, params = [], AVAILABLE, {"start": "2025-06-01", "end": "2025-07-01"}
    while url:
        page = api.get(url, params).json()
        seen += [unit["id"] for unit in page["results"]]
        url, params = page["next"], {}
    expected = sorted(units, key=lambda unit: (unit.monthly_rent, unit.pk))
    assert seen == [unit.pk for unit in expected]


def test_available_units_filter_by_city_bedrooms_and_rent(api):
    wanted = UnitFactory(bedrooms=3, monthly_rent=Decimal("900"), property__city="Nantes")
    UnitFactory(bedrooms=1, monthly_rent=Decimal("900"), property__city="Nantes")
    UnitFactory(bedrooms=3, monthly_rent=Decimal("1500"), property__city="Nantes")
    UnitFactory(bedrooms=3, monthly_rent=Decimal("900"), property__city="Lyon")
    as_user(api, UserFactory())
    params = {"start": "2025-06-01", "end": "2025-07-01", "city": "nantes", "bedrooms": 2}
    response = api.get(AVAILABLE, {**params, "max_rent": "1000"})
    assert [unit["id"] for unit in response.json()["results"]] == [wanted.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "start"),
        ({"start": "June"}, "start"),
        ({"start": "2025-02-30"}, "start"),
        ({"start": "2025-06-01", "end": "2025-05-01"}, "end"),
        ({"start": "2025-06-01", "end": "2025-06-01"}, "end"),
        ({"start": "2025-06-01", "bedrooms": "many"}, "bedrooms"),
    ],
)
def test_available_units_bad_dates_are_400(api, params, field):
    as_user(api, UserFactory())
    response = api.get(AVAILABLE, params)
    assert response.status_code == 400
    assert field in error_of(response)["details"]


def test_available_units_need_authentication(api):
    assert api.get(AVAILABLE, {"start": "2025-06-01"}).status_code == 401


# --- applications ------------------------------------------------------------------------


def test_application_flow_applicant_submits_manager_approves(api):
    unit = UnitFactory()
    applicant = UserFactory()
    as_user(api, applicant)
    response = api.post(
        f"{API}/applications/",
        {"unit": unit.pk, "wished_start": "2025-06-01", "wished_end": "2026-06-01"},
        format="json",
    )
    assert response.status_code == 201
    application = response.json()
    assert (application["status"], application["applicant"]) == ("draft", applicant.pk)
    url = f"{API}/applications/{application['id']}/"
    # A draft is the applicant's own: the manager does not see it yet.
    as_user(api, unit.property.manager)
    assert api.get(url).status_code == 404
    as_user(api, applicant)
    assert api.post(f"{url}submit/").json()["status"] == "submitted"
    assert api.post(f"{url}approve/").status_code == 403  # not the applicant's to decide
    as_user(api, unit.property.manager)
    assert [a["id"] for a in api.get(f"{API}/applications/").json()["results"]] == [
        application["id"]
    ]
    response = api.post(f"{url}approve/")
    assert (response.json()["status"], response.json()["decided_at"] is not None) == (
        "approved",
        True,
    )
    response = api.post(f"{url}reject/")
    assert response.status_code == 422
    assert error_of(response)["details"] == {"current": "approved", "allowed": []}


@pytest.fixture
def upload(settings, tmp_path):
    """Documents uploaded through the documents service, processed on request."""
    settings.MEDIA_ROOT = str(tmp_path)

    def make(owner, *, processed: bool = True) -> int:
        # Different bytes each time: the same bytes twice are one document.
        file = ContentFile(f"Payslip {secrets.token_hex(8)}".encode(), name="payslip.txt")
        document = document_upload(owner=owner, file=file).document
        if processed:
            document_process(document_id=document.pk)
        return document.pk

    return make


def test_application_attaches_the_applicants_processed_documents(api, upload):
    applicant = UserFactory()
    documents = [upload(applicant), upload(applicant)]
    as_user(api, applicant)
    response = api.post(
        f"{API}/applications/",
        {"unit": UnitFactory().pk, "wished_start": "2025-06-01", "document_ids": documents},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["document_ids"] == sorted(documents)


@pytest.mark.parametrize(
    ("whose", "processed", "words"),
    [("other", True, "does not exist"), ("own", False, "not processed")],
)
def test_application_with_a_document_not_fit_to_attach_is_400_naming_it(
    api, upload, whose, processed, words
):
    applicant = UserFactory()
    document = upload(applicant if whose == "own" else UserFactory(), processed=processed)
    as_user(api, applicant)
    response = api.post(
        f"{API}/applications/",
        {"unit": UnitFactory().pk, "wished_start": "2025-06-01", "document_ids": [document]},
        format="json",
    )
    assert response.status_code == 400
    message = error_of(response)["message"]
    assert f"Document {document}" in message
    assert words in message
    assert not Application.objects.exists()


def test_application_with_a_missing_document_is_400_naming_it(api):
    as_user(api, UserFactory())
    response = api.post(
        f"{API}/applications/",
        {"unit": UnitFactory().pk, "wished_start": "2025-06-01", "document_ids": [987654]},
        format="json",
    )
    assert response.status_code == 400
    assert "987654" in error_of(response)["message"]
    assert not Application.objects.exists()


def test_submitted_application_can_no_longer_be_changed(api):
    applicant = UserFactory()
    application = Application.objects.create(
        applicant=applicant,
        unit=UnitFactory(),
        wished_start=date(2025, 6, 1),
        status=Application.Status.SUBMITTED,
    )
    as_user(api, applicant)
    response = api.patch(
        f"{API}/applications/{application.pk}/", {"wished_start": "2025-07-01"}, format="json"
    )
    assert response.status_code == 422
    assert error_of(response)["details"]["current"] == "submitted"


def test_application_wished_end_before_start_is_400(api):
    as_user(api, UserFactory())
    response = api.post(
        f"{API}/applications/",
        {"unit": UnitFactory().pk, "wished_start": "2025-06-01", "wished_end": "2025-05-01"},
        format="json",
    )
    assert response.status_code == 400
    assert "wished_end" in error_of(response)["details"]


# --- leases --------------------------------------------------------------------------------


def lease_payload(unit, tenant, **changes):
    return {
        "unit": unit.pk,
        "tenant": tenant.pk,
        "start_date": "2025-01-15",
        "end_date": "2025-04-15",
        **changes,
    }


def test_lease_lifecycle_through_the_api(api, manager, django_capture_on_commit_callbacks):
    unit = UnitFactory(property__manager=manager, monthly_rent=Decimal("1000.00"))
    tenant = UserFactory()
    response = api.post(f"{API}/leases/", lease_payload(unit, tenant, due_day=1), format="json")
    assert response.status_code == 201
    lease = response.json()
    assert (lease["status"], lease["monthly_rent"], lease["due_day"]) == ("draft", "1000.00", 1)
    url = f"{API}/leases/{lease['id']}/"
    assert api.post(f"{url}send-for-signature/").json()["status"] == "pending_signature"
    response = api.post(f"{url}activate/", {"on": "2025-01-15"}, format="json")
    assert response.status_code == 422  # not signed yet
    as_user(api, tenant)
    assert api.post(f"{url}sign/").json()["signed_at"] is not None
    as_user(api, manager)
    with django_capture_on_commit_callbacks() as sent:
        response = api.post(f"{url}activate/", {"on": "2025-01-15"}, format="json")
    assert response.json()["status"] == "active"
    assert len(sent) == 1  # the welcome, sent after the commit
    charges = api.get(f"{url}charges/").json()
    assert [(c["period_start"], c["amount"]) for c in charges["results"]] == [
        ("2025-01-15", "548.39"),
        ("2025-02-01", "1000.00"),
        ("2025-03-01", "1000.00"),
        ("2025-04-01", "466.67"),
    ]
    response = api.post(f"{url}terminate/", {"on": "2025-03-11"}, format="json")
    assert (response.json()["status"], response.json()["end_date"]) == ("terminated", "2025-03-11")
    charges = api.get(f"{url}charges/").json()["results"]
    assert [c["amount"] for c in charges] == ["548.39", "1000.00", "322.58"]


def test_double_booking_through_the_api_is_409_with_the_conflicting_period(api, manager):
    unit = UnitFactory(property__manager=manager)
    tenant = UserFactory()
    first = api.post(f"{API}/leases/", lease_payload(unit, tenant), format="json").json()
    api.post(f"{API}/leases/{first['id']}/send-for-signature/")
    payload = lease_payload(unit, UserFactory(), start_date="2025-04-01", end_date=None)
    second = api.post(f"{API}/leases/", payload, format="json").json()
    response = api.post(f"{API}/leases/{second['id']}/send-for-signature/")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "conflict"
    assert error["details"] == {"conflicting_period": {"start": "2025-01-15", "end": "2025-04-15"}}


def test_renew_creates_a_draft_starting_at_the_end(api, manager):
    lease = LeaseFactory(unit__property__manager=manager, status=Lease.Status.ACTIVE)
    response = api.post(
        f"{API}/leases/{lease.pk}/renew/", {"end_date": "2027-01-01"}, format="json"
    )
    assert response.status_code == 201
    renewal = response.json()
    assert (renewal["renewal_of"], renewal["start_date"], renewal["status"]) == (
        lease.pk,
        "2026-01-01",
        "draft",
    )


def test_illegal_lease_action_is_422_naming_state_and_allowed(api, manager):
    lease = LeaseFactory(unit__property__manager=manager)
    response = api.post(f"{API}/leases/{lease.pk}/terminate/", {"on": "2025-06-01"}, format="json")
    assert response.status_code == 422
    error = error_of(response)
    assert error["details"] == {"current": "draft", "allowed": ["send-for-signature"]}
    assert "draft" in error["message"]


def test_lease_end_before_start_is_400(api, manager):
    unit = UnitFactory(property__manager=manager)
    payload = lease_payload(unit, UserFactory(), end_date="2025-01-01")
    response = api.post(f"{API}/leases/", payload, format="json")
    assert response.status_code == 400
    assert "end_date" in error_of(response)["details"]
    assert not Lease.objects.exists()


def test_lease_list_filters_by_status(api, manager):
    LeaseFactory(unit__property__manager=manager)
    active = LeaseFactory(unit__property__manager=manager, status=Lease.Status.ACTIVE)
    response = api.get(f"{API}/leases/", {"status": "active"})
    assert [lease["id"] for lease in response.json()["results"]] == [active.pk]


def _state(lease) -> tuple:
    lease.refresh_from_db()
    return (
        lease.status,
        lease.start_date,
        lease.end_date,
        lease.terminated_at,
        list(lease.charges.values_list("period_start", "amount")),
    )


def active_lease(manager, **kwargs):
    lease = LeaseFactory(unit__property__manager=manager, **kwargs)
    services.lease_send_for_signature(lease=lease, sent_by=manager)
    services.lease_sign(lease=lease, signed_by=lease.tenant)
    return services.lease_activate(lease=lease, activated_by=manager, on=lease.start_date)


# --- termination from a day ahead --------------------------------------------------------


def test_a_lease_terminated_from_a_future_date_holds_its_unit_until_then(api, manager):
    today = timezone.localdate()
    lease = active_lease(manager, start_date=today - timedelta(days=60), end_date=None)
    on = today + timedelta(days=30)
    response = api.post(f"{API}/leases/{lease.pk}/terminate/", {"on": str(on)}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["end_date"]) == ("active", str(on))
    assert body["terminated_at"] is not None
    # Until `on` the unit is still the tenant's: a rival overlapping lease is refused.
    rival = LeaseFactory(unit=lease.unit, start_date=today + timedelta(days=10), end_date=None)
    response = api.post(f"{API}/leases/{rival.pk}/send-for-signature/")
    assert response.status_code == 409
    assert error_of(response)["details"] == {
        "conflicting_period": {"start": str(lease.start_date), "end": str(on)}
    }
    rival.refresh_from_db()
    assert rival.status == Lease.Status.DRAFT
    # From `on`, it is free.
    after = LeaseFactory(unit=lease.unit, start_date=on, end_date=None)
    assert api.post(f"{API}/leases/{after.pk}/send-for-signature/").status_code == 200


def test_a_termination_effective_today_terminates_at_once(api, manager):
    today = timezone.localdate()
    lease = active_lease(manager, start_date=today - timedelta(days=60), end_date=None)
    response = api.post(f"{API}/leases/{lease.pk}/terminate/", {"on": str(today)}, format="json")
    assert (response.json()["status"], response.json()["end_date"]) == ("terminated", str(today))


# --- renewals ------------------------------------------------------------------------------


def test_renewing_an_open_ended_lease_is_422_naming_state_and_allowed(api, manager):
    lease = LeaseFactory(unit__property__manager=manager, status=Lease.Status.ACTIVE, end_date=None)
    response = api.post(f"{API}/leases/{lease.pk}/renew/", {"end_date": None}, format="json")
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["details"]) == (
        "illegal_state_change",
        {"current": "active", "allowed": ["terminate"]},
    )
    assert Lease.objects.count() == 1


def test_a_second_renewal_of_a_lease_is_409(api, manager):
    lease = LeaseFactory(unit__property__manager=manager, status=Lease.Status.ACTIVE)
    url = f"{API}/leases/{lease.pk}/renew/"
    first = api.post(url, {"end_date": "2027-01-01"}, format="json")
    assert first.status_code == 201
    response = api.post(url, {"end_date": "2028-01-01"}, format="json")
    assert response.status_code == 409
    assert error_of(response)["details"] == {"renewal": first.json()["id"]}
    assert Lease.objects.filter(renewal_of=lease).count() == 1


@pytest.mark.parametrize("end_date", ["2026-01-01", "2025-06-01"])
def test_renewal_ending_on_or_before_the_old_end_is_400(api, manager, end_date):
    lease = LeaseFactory(unit__property__manager=manager, status=Lease.Status.ACTIVE)
    response = api.post(f"{API}/leases/{lease.pk}/renew/", {"end_date": end_date}, format="json")
    assert response.status_code == 400
    assert "end_date" in error_of(response)["details"]
    assert Lease.objects.count() == 1


# --- applications: who changes them, units that have them --------------------------------


def test_only_the_applicant_may_change_their_application_403(api):
    application = Application.objects.create(
        applicant=UserFactory(),
        unit=UnitFactory(),
        wished_start=date(2025, 6, 1),
        status=Application.Status.SUBMITTED,
    )
    as_user(api, application.unit.property.manager)  # sees it, may not change it
    response = api.patch(
        f"{API}/applications/{application.pk}/", {"wished_start": "2025-07-01"}, format="json"
    )
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.wished_start == date(2025, 6, 1)


def test_patch_with_wished_end_before_the_stored_wished_start_is_400(api):
    applicant = UserFactory()
    application = Application.objects.create(
        applicant=applicant, unit=UnitFactory(), wished_start=date(2025, 6, 1)
    )
    as_user(api, applicant)
    response = api.patch(
        f"{API}/applications/{application.pk}/", {"wished_end": "2025-05-01"}, format="json"
    )
    assert response.status_code == 400
    assert "wished_end" in error_of(response)["details"]
    application.refresh_from_db()
    assert application.wished_end is None


@pytest.mark.parametrize("document_ids", [list(range(1, 22)), ["one"], [1.5], "1", [None]], ids=str)
def test_application_with_bad_document_ids_is_400(api, document_ids):
    as_user(api, UserFactory())
    response = api.post(
        f"{API}/applications/",
        {"unit": UnitFactory().pk, "wished_start": "2025-06-01", "document_ids": document_ids},
        format="json",
    )
    assert response.status_code == 400
    assert "document_ids" in error_of(response)["details"]
    assert not Application.objects.exists()


def test_a_unit_with_applications_cannot_be_deleted_409(api, manager):
    unit = UnitFactory(property__manager=manager)
    application = Application.objects.create(
        applicant=UserFactory(), unit=unit, wished_start=date(2025, 6, 1)
    )
    response = api.delete(f"{API}/units/{unit.pk}/")
    assert response.status_code == 409
    assert "applications" in error_of(response)["message"]
    assert Application.objects.filter(pk=application.pk).exists()
    assert api.delete(f"{API}/properties/{unit.property.pk}/").status_code == 409
    assert Unit.objects.filter(pk=unit.pk).exists()


# --- bad input: 400 and nothing changed --------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"on": "2025-13-01"}, {"on": "soon"}, {"on": None}], ids=str)
def test_terminate_without_a_valid_on_is_400(api, manager, body):
    lease = active_lease(manager, start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    before = _state(lease)
    response = api.post(f"{API}/leases/{lease.pk}/terminate/", body, format="json")
    assert response.status_code == 400
    assert "on" in error_of(response)["details"]
    assert _state(lease) == before


@pytest.mark.parametrize("on", ["2025-02-30", "01/15/2025", "tomorrow"])
def test_activate_with_a_malformed_on_is_400(api, manager, on):
    lease = LeaseFactory(unit__property__manager=manager)
    services.lease_send_for_signature(lease=lease, sent_by=manager)
    services.lease_sign(lease=lease, signed_by=lease.tenant)
    before = _state(lease)
    response = api.post(f"{API}/leases/{lease.pk}/activate/", {"on": on}, format="json")
    assert response.status_code == 400
    assert "on" in error_of(response)["details"]
    assert _state(lease) == before


@pytest.mark.parametrize("due_day", [0, 32])
def test_lease_with_a_due_day_outside_1_to_31_is_400(api, manager, due_day):
    unit = UnitFactory(property__manager=manager)
    payload = lease_payload(unit, UserFactory(), due_day=due_day)
    response = api.post(f"{API}/leases/", payload, format="json")
    assert response.status_code == 400
    assert "due_day" in error_of(response)["details"]
    assert not Lease.objects.exists()


def test_lease_for_an_unknown_tenant_is_400(api, manager):
    unit = UnitFactory(property__manager=manager)
    payload = {**lease_payload(unit, UserFactory()), "tenant": 987654}
    response = api.post(f"{API}/leases/", payload, format="json")
    assert response.status_code == 400
    assert "tenant" in error_of(response)["details"]
    assert not Lease.objects.exists()


def test_lease_of_another_managers_unit_is_400(api, manager):
    theirs = UnitFactory()
    response = api.post(f"{API}/leases/", lease_payload(theirs, UserFactory()), format="json")
    assert response.status_code == 400
    assert "unit" in error_of(response)["details"]
    assert not Lease.objects.exists()


def test_lease_longer_than_fifty_years_is_400(api, manager):
    unit = UnitFactory(property__manager=manager)
    payload = lease_payload(unit, UserFactory(), end_date="2075-01-16")
    response = api.post(f"{API}/leases/", payload, format="json")
    assert response.status_code == 400
    assert "end_date" in error_of(response)["details"]
    assert not Lease.objects.exists()


def test_unit_with_a_lowercase_currency_is_400(api, manager):
    unit = {
        "property": PropertyFactory(manager=manager).pk,
        "label": "X",
        "bedrooms": 1,
        "area_m2": "30",
        "monthly_rent": "500",
        "deposit": "0",
        "currency": "eur",
    }
    response = api.post(f"{API}/units/", unit, format="json")
    assert response.status_code == 400
    assert "currency" in error_of(response)["details"]
    assert not Unit.objects.exists()


@pytest.mark.parametrize("year", ["9999", "1999", "2201"])
def test_lease_dates_outside_the_years_the_api_takes_are_400_naming_the_field(api, manager, year):
    unit = UnitFactory(property__manager=manager)
    for field in ("start_date", "end_date"):
        payload = lease_payload(unit, UserFactory(), **{field: f"{year}-11-01"})
        response = api.post(f"{API}/leases/", payload, format="json")
        assert response.status_code == 400
        assert field in error_of(response)["details"]
    assert not Lease.objects.exists()


def test_activating_from_year_9999_is_400_and_changes_nothing(api, manager):
    lease = LeaseFactory(unit__property__manager=manager, end_date=None)
    services.lease_send_for_signature(lease=lease, sent_by=manager)
    services.lease_sign(lease=lease, signed_by=lease.tenant)
    before = _state(lease)
    response = api.post(f"{API}/leases/{lease.pk}/activate/", {"on": "9999-11-01"}, format="json")
    assert response.status_code == 400
    assert "on" in error_of(response)["details"]
    assert _state(lease) == before


@pytest.mark.parametrize(("action", "field"), [("terminate", "on"), ("renew", "end_date")])
def test_terminating_or_renewing_into_year_9999_is_400_and_changes_nothing(
    api, manager, action, field
):
    lease = active_lease(manager, start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    before = _state(lease)
    response = api.post(f"{API}/leases/{lease.pk}/{action}/", {field: "9999-01-01"}, format="json")
    assert response.status_code == 400
    assert field in error_of(response)["details"]
    assert _state(lease) == before
    assert Lease.objects.count() == 1


def test_terminating_an_open_ended_lease_beyond_fifty_years_is_400(api, manager):
    lease = active_lease(manager, start_date=date(2025, 1, 1), end_date=None)
    before = _state(lease)
    response = api.post(f"{API}/leases/{lease.pk}/terminate/", {"on": "2200-01-01"}, format="json")
    assert response.status_code == 400
    assert "on" in error_of(response)["details"]
    assert _state(lease) == before


def test_applications_and_availability_in_year_9999_are_400(api):
    as_user(api, UserFactory())
    response = api.post(
        f"{API}/applications/",
        {"unit": UnitFactory().pk, "wished_start": "9999-01-01"},
        format="json",
    )
    assert response.status_code == 400
    assert "wished_start" in error_of(response)["details"]
    assert not Application.objects.exists()
    response = api.get(AVAILABLE, {"start": "2025-01-01", "end": "9999-12-31"})
    assert response.status_code == 400
    assert "end" in error_of(response)["details"]
