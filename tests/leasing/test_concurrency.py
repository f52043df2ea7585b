"""Twenty requests race to lease one unit for overlapping periods, against a real server."""

import threading
from datetime import date, timedelta

import httpx
from rest_framework.authtoken.models import Token

from apps.leasing.models import Lease
from tests import servers
from tests.factories import LeaseFactory, UnitFactory

RACERS = 20


def test_concurrent_bookings_of_one_unit_one_wins_the_rest_are_409(live_database_url, tmp_path):
    unit = UnitFactory()
    token = Token.objects.create(user=unit.property.manager).key
    # Every pair overlaps: starts 0..19 days apart, each two months long.
    leases = [
        LeaseFactory(
            unit=unit,
            start_date=date(2025, 1, 1) + timedelta(days=n),
            end_date=date(2025, 3, 1) + timedelta(days=n),
        )
        for n in range(RACERS)
    ]
    env = servers.subprocess_env(DATABASE_URL=live_database_url)
    with servers.gunicorn(
        "city.settings.test", env=env, log=tmp_path / "gunicorn.log", workers=4
    ) as base_url:
        answers = _race(base_url, token, [lease.pk for lease in leases])

    statuses = sorted(response.status_code for response in answers.values())
    assert statuses == [200] + [409] * (RACERS - 1)
    (winner,) = Lease.objects.filter(unit=unit, status__in=Lease.HOLDING)
    winning_period = {"start": winner.start_date.isoformat(), "end": winner.end_date.isoformat()}
    for lease_id, response in answers.items():
        if lease_id != winner.pk:
            assert response.json()["error"]["details"] == {"conflicting_period": winning_period}
    assert Lease.objects.filter(unit=unit, status=Lease.Status.DRAFT).count() == RACERS - 1


def _race(base_url: str, token: str, lease_ids: list[int]) -> dict[int, httpx.Response]:
    """Send every lease for signature at once, each from its own thread and connection."""
    start = threading.Barrier(len(lease_ids))
    answers: dict[int, httpx.Response] = {}

    def send(lease_id: int) -> None:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            start.wait()
            answers[lease_id] = client.post(
                f"/api/leasing/leases/{lease_id}/send-for-signature/",
                headers={"Authorization": f"Token {token}"},
            )

    threads = [threading.Thread(target=send, args=(lease_id,)) for lease_id in lease_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
