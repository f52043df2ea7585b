"""Every object route, tried by someone who may not see the object, answers 404."""

from datetime import date

import pytest

from apps.leasing.models import Application, Lease, Property, Unit
from tests.factories import LeaseFactory, ManagerFactory, UnitFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/leasing"


@pytest.fixture
def theirs():
    """A manager's property, unit, lease and application; all of another person's world."""
    unit = UnitFactory()
    lease = LeaseFactory(unit=unit, status=Lease.Status.ACTIVE)
    application = Application.objects.create(
        applicant=UserFactory(),
        unit=unit,
        wished_start=date(2026, 1, 1),
        status=Application.Status.SUBMITTED,
    )
    return {
        "property": unit.property.pk,
        "unit": unit.pk,
        "lease": lease.pk,
        "application": application.pk,
    }


ROUTES = [
    ("get", "properties/{property}/"),
    ("put", "properties/{property}/"),
    ("patch", "properties/{property}/"),
    ("delete", "properties/{property}/"),
    ("get", "units/{unit}/"),
    ("put", "units/{unit}/"),
    ("patch", "units/{unit}/"),
    ("delete", "units/{unit}/"),
    ("get", "applications/{application}/"),
    ("patch", "applications/{application}/"),
    ("post", "applications/{application}/submit/"),
    ("post", "applications/{application}/withdraw/"),
    ("post", "applications/{application}/approve/"),
    ("post", "applications/{application}/reject/"),
    ("get", "leases/{lease}/"),
    ("get", "leases/{lease}/charges/"),
    ("post", "leases/{lease}/send-for-signature/"),
    ("post", "leases/{lease}/sign/"),
    ("post", "leases/{lease}/activate/"),
    ("post", "leases/{lease}/terminate/"),
    ("post", "leases/{lease}/renew/"),
]


@pytest.mark.parametrize("intruder", [ManagerFactory, UserFactory], ids=["manager", "resident"])
@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
def test_another_users_object_is_404_and_untouched(api, theirs, intruder, method, route):
    api.force_authenticate(intruder())
    before = _snapshot()
    response = getattr(api, method)(f"{API}/{route.format(**theirs)}", {}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert _snapshot() == before


def test_lists_show_only_what_is_yours(api, theirs):
    api.force_authenticate(ManagerFactory())
    for collection in ["properties", "units", "applications", "leases"]:
        assert api.get(f"{API}/{collection}/").json()["count"] == 0


def test_the_tenant_sees_their_lease_but_may_not_run_it(api, theirs):
    lease = Lease.objects.get(pk=theirs["lease"])
    api.force_authenticate(lease.tenant)
    assert api.get(f"{API}/leases/{lease.pk}/").status_code == 200
    assert api.get(f"{API}/leases/{lease.pk}/charges/").status_code == 200
    response = api.post(f"{API}/leases/{lease.pk}/terminate/", {"on": "2025-06-01"})
    assert response.status_code == 403
    assert api.get(f"{API}/units/{lease.unit_id}/").status_code == 404


def test_the_applicant_sees_their_application_but_may_not_decide_it(api, theirs):
    application = Application.objects.get(pk=theirs["application"])
    api.force_authenticate(application.applicant)
    assert api.get(f"{API}/applications/{application.pk}/").status_code == 200
    assert api.post(f"{API}/applications/{application.pk}/approve/").status_code == 403


def test_anonymous_requests_are_401(api, theirs):
    for method, route in ROUTES:
        response = getattr(api, method)(f"{API}/{route.format(**theirs)}")
        assert response.status_code == 401, route


def _snapshot():
    return (
        list(Property.objects.values()),
        list(Unit.objects.values()),
        list(Application.objects.values()),
        list(Lease.objects.values()),
    )
