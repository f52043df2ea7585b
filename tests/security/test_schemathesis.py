"""Schemathesis against a live City: every operation of the live `/api/schema/`, sent every
case of the examples and coverage phases (the schema's examples, then each boundary value and
each kind of wrong value of each parameter and body field, with and without credentials: a
bounded number, the same each run), to real gunicorn serving every service with production
settings over the test database. No answer may be a 5xx, nor have a status, a content type or
a body that the schema does not declare for that operation.

The cases carry a superuser's token, so that every operation can answer its successes too;
the coverage phase also sends them with a missing or wrong `Authorization`. Throttle rates are
raised so that no limit makes the run flaky; everything else is production's.

Schemathesis runs as `schemathesis run` does (its engine), one operation per test: the
operations are those City's schema generator lists in this process, and the live schema must
list the same ones.
"""

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from django.db import connection
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from schemathesis.engine import Status, events

from tests import factories, servers

# The server sees what each test commits; the database is emptied after each.
pytestmark = pytest.mark.django_db(transaction=True)

# Only these: a 400 for a value the schema allows is a fair answer (a unit of another
# manager, a lease that overlaps one), not a defect; a 5xx or an answer outside the schema is.
CHECKS = {
    "enabled": False,
    "not_a_server_error": {"enabled": True},
    "status_code_conformance": {"enabled": True},
    "content_type_conformance": {"enabled": True},
    "response_schema_conformance": {"enabled": True},
}
# High enough that nothing this run sends is throttled: a limit's 429 is in the schema, but
# one that depends on how fast the machine is would make the run flaky. (The sign-in
# lockout stays production's: it counts failures, not time, and its 429 is declared.)
UNTHROTTLED = {
    "THROTTLE_ANON": "1000000/minute",
    "THROTTLE_REGISTRATION": "1000000/minute",
    "THROTTLE_LOGIN": "1000000/minute",
    "DOCUMENTS_UPLOADS_PER_MINUTE": "0",  # no limit
}


@dataclass(frozen=True)
class City:
    url: str
    token: str


@pytest.fixture(scope="module")
def city(tmp_path_factory, collected_static, django_db_setup) -> Iterator[City]:
    """Production City on gunicorn over the test database; the token its user will have."""
    root: Path = tmp_path_factory.mktemp("schemathesis")
    env = servers.production_env(
        DATABASE_URL=_database_url(),
        STATIC_ROOT=collected_static,
        MEDIA_ROOT=str(root / "media"),
        **UNTHROTTLED,
    )
    with servers.gunicorn(
        "city.settings.production", env=env, log=root / "gunicorn.log", workers=2
    ) as url:
        yield City(url, secrets.token_hex(20))


@pytest.fixture
def signed_in(city, transactional_db) -> None:
    """The token's user, a superuser (so that every operation can answer its successes too),
    who manages a property with a unit and a lease; committed, for the server to see, and
    emptied after each test."""
    user = factories.UserFactory(username="schemathesis", is_staff=True, is_superuser=True)
    Token.objects.create(user=user, key=city.token)
    factories.LeaseFactory(unit__property__manager=user, tenant=user)


def _database_url() -> str:
    """The test database's URL, for the server (as `live_database_url` gives it)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="module")
def live_schema(city):
    config = schemathesis.Config.from_dict(
        {
            "seed": 12,  # the same cases every run,
            "cache": {"enabled": False},  # and nothing carried over from one run to the next
            "base-url": city.url,
            "workers": 1,
            "generation": {"deterministic": True, "database": "none"},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": False},
                "stateful": {"enabled": False},
            },
            "checks": CHECKS,
            "auth": {"openapi": {"tokenAuth": {"api_key": f"Token {city.token}"}}},
            "request-timeout": 30,
        }
    )
    return schemathesis.openapi.from_url(
        f"{city.url}/api/schema/", config=config, headers={"Accept": "application/json"}
    )


def operations() -> list[tuple[str, str]]:
    """Every (method, path) of City's schema, as this process generates it."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(method.upper(), path) for path, ops in schema["paths"].items() for method in ops]


OPERATIONS = operations()


def test_the_live_schema_has_the_operations_tested_here(live_schema):
    live = {(op.method.upper(), op.path) for op in map(_ok, live_schema.get_all_operations())}
    assert live == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_answer_is_a_server_error_or_outside_the_schema(live_schema, signed_in, method, path):
    schema = live_schema.include(method=method, path=path)
    failures, cases = [], 0
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            failures += _failures(event.recorder)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            pytest.fail(f"schemathesis could not test {method} {path}: {event}")
    assert cases, f"schemathesis sent no case to {method} {path}"
    assert not failures, "\n\n".join([f"{len(failures)} failures of {method} {path}:", *failures])


def _failures(recorder) -> list[str]:
    found = []
    for checks in recorder.checks.values():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                found.append(
                    f"{failure.title}: {failure.message}\n{check.failure_info.code_sample}"
                )
    return found


def _ok(result):
    return result.ok()
