import pytest
from django.db import connection
from rest_framework.test import APIClient

from deploy.topology import Settings, Topology
from tests import servers


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def live_database_url(transactional_db) -> str:
    """The URL of the test database, for servers the test starts (they see committed data)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def redis_url(tmp_path) -> str:
    """A Redis server of this test's own."""
    with servers.redis_server(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> str:
    """Static files collected as a production build does it."""
    root = tmp_path_factory.mktemp("static")
    env = servers.production_env(
        DJANGO_SETTINGS_MODULE="city.settings.production", STATIC_ROOT=str(root)
    )
    servers.run_checked(
        [str(servers.BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"], env=env
    )
    return str(root)


@pytest.fixture
def broker_url(redis_url) -> str:
    """City's Celery app publishes to this test's Redis instead of running tasks in-process."""
    with servers.publishing_to(redis_url):
        yield redis_url


@pytest.fixture
def worker_env(live_database_url, broker_url) -> dict[str, str]:
    """The environment of a worker process that shares the test's database and broker."""
    return servers.subprocess_env(
        DJANGO_SETTINGS_MODULE="city.settings.test",
        DATABASE_URL=live_database_url,
        CELERY_BROKER_URL=broker_url,
    )


@pytest.fixture(scope="module")
def split_database_url(tmp_path_factory):
    """A database of the topology's own."""
    with servers.database_of_its_own(tmp_path_factory.mktemp("split"), "split") as url:
        yield url


@pytest.fixture(scope="module")
def topology(tmp_path_factory, split_database_url):
    """The split topology on free loopback ports: 2 replicas of each service behind HAProxy."""
    servers.require_program("haproxy")
    servers.require_program("redis-server")
    split = Settings(
        state_dir=tmp_path_factory.mktemp("split-state"),
        http_port=servers.free_port(),
        stats_port=servers.free_port(),
        database_url=split_database_url,
        env={
            "THROTTLE_REGISTRATION": "100000/hour",
            "THROTTLE_ANON": "100000/minute",
            # The tests send thousands of requests from one address; the edge's limit has a
            # test of its own (tests/security/test_edge_rate_limit.py).
            "CITY_EDGE_RATE_PER_10S": "1000000",
            # One resident uploads a batch; tests/security/test_uploads.py tests the rate.
            "DOCUMENTS_UPLOADS_PER_MINUTE": "100000",
            # A document a dead worker held is queued again within seconds, not minutes.
            "DOCUMENTS_STALE_AFTER_SECONDS": "3",
            "DOCUMENTS_SWEEP_INTERVAL_SECONDS": "1",
        },
    )
    with Topology(split) as running:
        yield running
