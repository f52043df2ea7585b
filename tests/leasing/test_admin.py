from datetime import date

import pytest
from django.test import Client

from apps.leasing import services
from apps.leasing.models import Application, Lease
from tests.factories import LeaseFactory, UnitFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", ["property", "unit", "application", "lease", "rentcharge"])
def test_every_leasing_model_has_an_admin(admin_client, model):
    assert admin_client.get(f"/admin/leasing/{model}/").status_code == 200
    assert admin_client.get(f"/admin/leasing/{model}/add/").status_code == 200


def test_lease_list_shows_status_and_overlaps(admin_client):
    held = LeaseFactory(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    services.lease_send_for_signature(lease=held, sent_by=held.unit.property.manager)
    rival = LeaseFactory(unit=held.unit, start_date=date(2025, 6, 1), end_date=None)
    next_one = LeaseFactory(unit=held.unit, start_date=date(2026, 1, 1), end_date=None)
    response = admin_client.get("/admin/leasing/lease/")
    assert response.status_code == 200
    rows = {
        lease.pk: (lease.status, lease.overlaps) for lease in response.context["cl"].result_list
    }
    assert rows[held.pk] == (Lease.Status.PENDING_SIGNATURE, 0)
    assert rows[rival.pk] == (Lease.Status.DRAFT, 1)
    assert rows[next_one.pk] == (Lease.Status.DRAFT, 0)  # back to back is no overlap
    assert b"overlapping holding leases" in response.content.lower()
    assert admin_client.get(f"/admin/leasing/lease/{held.pk}/change/").status_code == 200


LEASE_TERMS = ["unit", "tenant", "start_date", "end_date", "monthly_rent", "deposit", "due_day"]


def test_a_lease_past_its_draft_cannot_be_edited_in_the_admin(admin_client):
    lease = LeaseFactory(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    draft_form = admin_client.get(f"/admin/leasing/lease/{lease.pk}/change/").context["adminform"]
    assert set(LEASE_TERMS) <= set(draft_form.form.fields)
    services.lease_send_for_signature(lease=lease, sent_by=lease.unit.property.manager)
    url = f"/admin/leasing/lease/{lease.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    assert not {*LEASE_TERMS, "status", "currency"} & set(form.fields)
    admin_client.post(url, {"start_date": "2024-01-01", "end_date": "2030-01-01", "due_day": 5})
    lease.refresh_from_db()
    assert (lease.start_date, lease.end_date, lease.due_day) == (
        date(2025, 1, 1),
        date(2026, 1, 1),
        1,
    )


def test_an_application_status_is_never_edited_in_the_admin(admin_client):
    application = Application.objects.create(
        applicant=UserFactory(),
        unit=UnitFactory(),
        wished_start=date(2025, 6, 1),
        status=Application.Status.SUBMITTED,
    )
    url = f"/admin/leasing/application/{application.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    assert not {"status", "unit", "applicant", "wished_start", "wished_end"} & set(form.fields)
    draft = Application.objects.create(
        applicant=UserFactory(), unit=UnitFactory(), wished_start=date(2025, 6, 1)
    )
    form = admin_client.get(f"/admin/leasing/application/{draft.pk}/change/").context["adminform"]
    assert "status" not in form.form.fields
    assert "wished_start" in form.form.fields
