import secrets
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from apps.documents.services import document_process, document_upload
from apps.leasing.models import Application, Lease, Property, Unit
from tests.factories import LeaseFactory, ManagerFactory, PropertyFactory, UnitFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/leasing"
AVAILABLE = f"{API}/units/available/"


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


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
