import secrets

import psycopg
import pytest
from django.conf import settings

from deploy.topology import Settings, Topology
from tests import servers


@pytest.fixture(scope="module")
def split_database_url(tmp_path_factory):
    """A database of the topology's own, on the server the suite runs against."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        yield f"sqlite:///{tmp_path_factory.mktemp('split') / 'city.sqlite3'}"
        return
    name = f"city_split_{secrets.token_hex(4)}"
    server = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}"
    # Created and dropped from the server's maintenance database, which always exists.
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


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
            # A document a dead worker held is queued again within seconds, not minutes.
            "DOCUMENTS_STALE_AFTER_SECONDS": "3",
            "DOCUMENTS_SWEEP_INTERVAL_SECONDS": "1",
        },
    )
    with Topology(split) as running:
        yield running
