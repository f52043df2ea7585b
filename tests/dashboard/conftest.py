"""What the dashboard tests share: fresh readings, a clock the status reads, documents in
every status, a broker of the test's own, and HAProxy in front of a real greeter."""

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.core.cache import caches

from apps.dashboard import sources, status
from apps.documents import services
from deploy.haproxy.render import Replica
from tests import servers
from tests.documents import samples
from tests.documents.conftest import upload
from tests.factories import StaffFactory, UserFactory


@pytest.fixture
def api(api, db):
    """The dashboard is staff's: its tests ask as staff (tests/dashboard/test_access.py
    asks as everyone else)."""
    api.force_authenticate(StaffFactory())
    return api


@pytest.fixture
def client(client, db):
    client.force_login(StaffFactory())
    return client


@pytest.fixture(autouse=True)
def no_readings_yet():
    """Rates start from no reading: the dashboard's cache (locmem here) outlives a test."""
    caches["dashboard"].clear()
    yield
    caches["dashboard"].clear()


def read_status(client) -> dict:
    """GET /api/city/status/, which answers 200 whatever is down."""
    response = client.get("/api/city/status/")
    assert response.status_code == 200, response.content
    return response.json()


@dataclass
class Clock:
    now: float

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The time the status reads its rates at, moved on by the test (a whole second, so
    adding and taking a minute away is exact)."""
    clock = Clock(float(math.ceil(time.time())))
    monkeypatch.setattr(status, "time", SimpleNamespace(time=lambda: clock.now))
    return clock


@pytest.fixture
def documents_in_every_status(db, settings, tmp_path) -> dict[str, int]:
    """Documents of two owners: 2 pending, 1 processed, 1 failed; the counts expected."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    owner, neighbour = UserFactory(), UserFactory()
    upload(owner, b"Waiting for a worker.\n")  # queued on commit, which never comes here
    upload(neighbour, b"Also waiting.\n")
    processed = upload(owner, samples.pdf(), name="letter.pdf").document
    failed = upload(neighbour, b"%PDF-1.4\n\x00\x01 not really", name="broken.pdf").document
    services.document_process(document_id=processed.pk)
    services.document_process(document_id=failed.pk)
    return {"pending": 2, "processing": 0, "processed": 1, "failed": 1}


@pytest.fixture
def broker(settings, broker_url) -> str:
    """Tasks go to a Redis of the test's own, and the dashboard reads its queues there."""
    settings.CELERY_BROKER_URL = broker_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    return broker_url


@dataclass(frozen=True)
class Edge:
    url: str  # HAProxy's frontend
    stats_csv: str  # its stats, as the dashboard reads them
    greeter_1: str  # the address of the replica that runs


@pytest.fixture(scope="module")
def haproxy_in_front_of_greeter(tmp_path_factory) -> Iterator[Edge]:
    """HAProxy with two greeter replicas: greeter-1 a real gunicorn, greeter-2 an address
    nobody listens on; yielded once HAProxy's health checks have told them apart."""
    root = tmp_path_factory.mktemp("edge")
    with servers.database_of_its_own(root, "edge") as database_url:
        env = servers.production_env(
            DJANGO_SETTINGS_MODULE="city.settings.production", DATABASE_URL=database_url
        )
        servers.run_checked(
            [str(servers.BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"], env=env
        )
        yield from _edge_in_front_of(root, env)


def _edge_in_front_of(root, env) -> Iterator[Edge]:
    with (
        servers.gunicorn("city.settings.production", env=env, log=root / "gunicorn.log") as url,
        servers.address_nobody_listens_on() as nowhere,
    ):
        greeter_1 = url.removeprefix("http://")
        replicas = [Replica("greeter-1", greeter_1), Replica("greeter-2", nowhere)]
        with servers.haproxy(root, greeter=replicas) as edge:
            servers.wait_until(
                lambda: _health_checked(edge.stats_csv), what="HAProxy's checks of both replicas"
            )
            yield Edge(edge.url, edge.stats_csv, greeter_1)


def _health_checked(stats_csv: str) -> bool:
    """greeter-1 passed its check, greeter-2 failed enough of them to be taken out."""
    replicas = sources.traffic_from_haproxy(stats_csv).replicas["greeter"]
    return {replica.name: (replica.status, replica.check) for replica in replicas} == {
        "greeter-1": ("UP", "L7OK"),
        "greeter-2": ("DOWN", "L4CON"),
    }
