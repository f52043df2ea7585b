from datetime import date

import pytest
from django.test import Client

from apps.leasing import services
from apps.leasing.models import Lease
from tests.factories import LeaseFactory, UserFactory

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
