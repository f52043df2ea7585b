"""The demo city `make run` seeds (`manage.py seed_demo`), seen as a newcomer sees it:
through the HTTP API, with tasks running in-process as they do in `make run`."""

import io
from datetime import date

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from apps.greeter.services import newcomer_register
from apps.leasing import demo, services
from apps.leasing.models import Application, Lease, Property, Unit
from apps.leasing.schedule import add_months
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/leasing"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def seed_demo() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def user(username: str):
    return get_user_model().objects.get(username=username)


def client_of(username: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(user(username))
    return client


def next_month() -> date:
    return add_months(timezone.localdate().replace(day=1), 1)


def everything() -> dict[str, list[dict]]:
    """Every row of every table, by model."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
    }


def stored_files(root) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_the_demo_prints_the_manager_with_her_password_and_where_to_look():
    out = seed_demo()

    assert "demo manager:  maria / city-manager-demo  (/api/leasing/applications/)" in out
    assert f"/api/leasing/units/available/?start={next_month().isoformat()}" in out
    lease = Lease.objects.get(tenant__username="ada")
    assert f"/api/leasing/leases/{lease.pk}/charges/" in out
    assert "her payslip:   a PDF, processed: kind payslip, 1 page" in out
    assert "submitted with her payslip" in out


def test_the_manager_holds_the_managers_permission_and_manages_every_property():
    seed_demo()

    maria = user("maria")
    assert maria.check_password("city-manager-demo")
    assert maria.has_perm(services.MANAGE_PERMISSION)
    assert not maria.is_staff
    assert set(Property.objects.values_list("manager__username", flat=True)) == {"maria"}


def test_the_manager_sees_properties_in_several_cities_and_two_dozen_units():
    seed_demo()
    maria = client_of("maria")

    properties = maria.get(f"{API}/properties/").json()["results"]
    units = maria.get(f"{API}/units/").json()

    assert len({prop["city"] for prop in properties}) >= 3
    assert units["count"] >= 24
    assert len({unit["bedrooms"] for unit in units["results"]}) >= 4
    assert len({unit["monthly_rent"] for unit in units["results"]}) >= 20
    assert {unit["currency"] for unit in units["results"]} == {"EUR", "CAD"}  # Montréal's


def test_units_are_free_next_month_except_the_one_ada_rents():
    seed_demo()
    rented = Lease.objects.get(tenant__username="ada").unit_id
    applied = Application.objects.get(applicant__username="ada", status="submitted").unit_id

    response = client_of("ada").get(f"{API}/units/available/", {"start": next_month().isoformat()})

    assert response.status_code == 200
    free = {unit["id"] for unit in response.json()["results"]}
    assert len(free) == Unit.objects.count() - 1 >= 23
    assert rented not in free
    assert applied in free  # an application does not hold the unit


def test_ada_applied_with_her_processed_payslip_which_the_manager_may_read():
    seed_demo()
    ada = client_of("ada")

    documents = ada.get("/api/documents/").json()["results"]
    assert [(doc["status"], doc["kind"], doc["mime_type"]) for doc in documents] == [
        ("processed", "payslip", "application/pdf")
    ]
    payslip = documents[0]["id"]

    seen_by_maria = client_of("maria").get(f"{API}/applications/", {"status": "submitted"})
    [application] = seen_by_maria.json()["results"]
    assert application["applicant_username"] == "ada"
    assert application["document_ids"] == [payslip]
    assert application["wished_start"] == next_month().isoformat()

    assert client_of("maria").get(f"/api/documents/{payslip}/").status_code == 200
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    response = stranger.get(f"/api/documents/{payslip}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_ada_rents_a_flat_on_an_active_lease_with_rent_charges_from_its_start():
    seed_demo()
    ada = client_of("ada")

    [lease] = ada.get(f"{API}/leases/").json()["results"]
    assert lease["status"] == "active"
    assert lease["signed_at"] is not None
    assert date.fromisoformat(lease["start_date"]) < timezone.localdate()
    assert lease["application"] is not None  # drawn up from her approved application
    charges = ada.get(f"{API}/leases/{lease['id']}/charges/").json()
    charges = charges["results"] if isinstance(charges, dict) else charges
    assert charges[0]["period_start"] == lease["start_date"]
    assert len(charges) == demo.LEASE_MONTHS
    assert {charge["amount"] for charge in charges} == {lease["monthly_rent"]}


def test_ada_sees_the_welcome_her_lease_sent_her():
    seed_demo()
    lease = Lease.objects.get(tenant__username="ada")

    response = client_of("ada").get("/api/greeter/newcomers/me/")

    assert response.status_code == 200
    greetings = response.json()["greetings"]
    assert [g["lease_id"] for g in greetings if g["occasion"] == "tenancy"] == [lease.pk]


def test_a_second_run_creates_nothing_and_changes_nothing(media_root):
    first = seed_demo()
    rows, files = everything(), stored_files(media_root)

    second = seed_demo()

    assert everything() == rows
    assert stored_files(media_root) == files
    assert second == first


def test_a_partly_seeded_database_is_completed_not_duplicated():
    # As a run stopped halfway leaves it: the manager, one property with two of its units,
    # and ada's lease drawn up and sent for signature but not yet signed.
    newcomer_register(
        username="ada", email="ada@city.example", password="city-resident-demo", language="fr"
    )
    ada = user("ada")
    maria = demo._manager()
    spec = next(spec for spec in demo.PROPERTIES if spec.name == demo.LEASED[0])
    halfway = demo.DemoProperty(**{**vars(spec), "units": spec.units[2:4]})
    leased = dict(demo._units(halfway, maria))[demo.LEASED[1]]
    start = add_months(timezone.localdate().replace(day=1), -1)
    application = services.application_create(
        applicant=ada, unit=leased, wished_start=start, wished_end=None, document_ids=[]
    )
    application = services.application_decide(application=application, action="submit", by=ada)
    application = services.application_decide(application=application, action="approve", by=maria)
    lease = services.lease_create_from_application(application=application, created_by=maria)
    services.lease_send_for_signature(lease=lease, sent_by=maria)

    seed_demo()

    assert get_user_model().objects.filter(username="maria").count() == 1
    assert Property.objects.count() == len(demo.PROPERTIES)
    assert Unit.objects.count() == sum(len(spec.units) for spec in demo.PROPERTIES)
    assert Application.objects.filter(unit=leased).count() == 1
    [lease] = Lease.objects.all()
    assert (lease.status, lease.start_date, lease.end_date) == ("active", start, None)
    assert lease.charges.exists()
