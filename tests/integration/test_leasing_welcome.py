"""A lease becoming active gets its tenant welcomed by the greeter: through a real Redis and
a real Celery worker, the task sent by name after the commit."""

from datetime import date

from apps.greeter.models import Welcome
from apps.leasing import services
from tests import servers
from tests.factories import LeaseFactory


def test_activating_a_lease_welcomes_the_tenant_through_the_greeter_worker(
    api, worker_env, tmp_path
):
    lease = LeaseFactory(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    manager = lease.unit.property.manager
    services.lease_send_for_signature(lease=lease, sent_by=manager)
    services.lease_sign(lease=lease, signed_by=lease.tenant)
    with servers.celery_worker(queues=["greeter"], env=worker_env, log=tmp_path / "worker.log"):
        api.force_authenticate(manager)
        response = api.post(f"/api/leasing/leases/{lease.pk}/activate/", {}, format="json")
        assert response.status_code == 200
        welcomed = Welcome.objects.filter(lease_id=lease.pk)
        servers.wait_until(welcomed.exists, timeout=30, what=f"the welcome of lease {lease.pk}")
    welcome = welcomed.get()
    assert welcome.user == lease.tenant
    assert welcome.occasion == Welcome.Occasion.TENANCY
