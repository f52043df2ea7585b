import pytest

from tests import servers


def test_liveness_answers_without_touching_the_database(api):
    # No django_db mark: any database access would fail this test.
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "services": ["greeter", "documents", "leasing"]}


@pytest.mark.django_db
def test_readiness_checks_the_database(api):
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok"},
        "outbox": {
            "pending": 0,
            "oldest_pending_age_seconds": None,
            "undelivered": 0,
            "dead_lettered": 0,
        },
    }


@pytest.mark.django_db
def test_readiness_follows_the_broker_going_down_and_up(api, settings, tmp_path):
    port = servers.free_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    with servers.redis_server(tmp_path, port=port):
        assert api.get("/readyz").json()["checks"] == {"database": "ok", "broker": "ok"}
    response = api.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready"
    assert error["message"] == "Not ready: broker unavailable."
    assert error["details"]["checks"]["database"] == "ok"
    assert error["details"]["checks"]["broker"].startswith("error:")
    with servers.redis_server(tmp_path, port=port):
        assert api.get("/readyz").status_code == 200


def test_readiness_is_503_naming_the_database_when_it_is_down(tmp_path):
    unreachable = f"postgres://postgres@127.0.0.1:{servers.free_port()}/city"
    env = servers.subprocess_env(DATABASE_URL=unreachable)
    with servers.gunicorn("city.settings.test", env=env, log=tmp_path / "gunicorn.log") as url:
        response = servers.httpx.get(f"{url}/readyz")
        assert servers.httpx.get(f"{url}/healthz").status_code == 200  # alive, not ready
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["message"] == "Not ready: database unavailable."
    assert error["details"]["checks"]["database"].startswith("error:")
