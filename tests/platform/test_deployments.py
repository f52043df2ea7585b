"""Each deployment's settings, served by real gunicorn as in production."""

import json
import re

import httpx
import pytest

from city.services import SERVICES
from tests import servers


@pytest.fixture
def serve(tmp_path, live_database_url, collected_static):
    """Start gunicorn with production settings for one deployment; yields its URL."""

    def start(settings_module: str):
        env = servers.production_env(DATABASE_URL=live_database_url, STATIC_ROOT=collected_static)
        return servers.gunicorn(settings_module, env=env, log=tmp_path / "gunicorn.log")

    return start


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_service_deployment_serves_only_that_service(serve, service):
    with serve(f"city.settings.{service}") as url:
        health = httpx.get(f"{url}/healthz").json()
        greet = httpx.get(f"{url}/api/greeter/greet", params={"name": "Ada"})
        schema = httpx.get(f"{url}/api/schema/", headers={"Accept": "application/json"}).json()
    assert health["services"] == [service]
    if service == "greeter":
        assert greet.status_code == 200
    else:
        assert greet.status_code == 404
        assert greet.json()["error"]["code"] == "not_found"
    prefixes = {path.split("/")[2] for path in schema["paths"] if path.startswith("/api/")}
    others = set(SERVICES) - {service}
    assert not prefixes & others


def test_production_serves_admin_and_its_hashed_static_files_through_whitenoise(serve):
    with serve("city.settings.production") as url:
        login = httpx.get(f"{url}/admin/login/")
        stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login.text)
        assert stylesheet, "the admin page links the hashed stylesheet"
        css = httpx.get(f"{url}{stylesheet[1]}", headers={"Accept-Encoding": "gzip"})
        docs = httpx.get(f"{url}/api/docs/")
        swagger = re.search(r'src="(/static/drf_spectacular_sidecar/[^"]+\.js)"', docs.text)
        script = httpx.get(f"{url}{swagger[1]}")
    assert login.status_code == 200
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert "immutable" in css.headers["Cache-Control"]
    assert docs.status_code == 200
    assert script.status_code == 200  # Swagger UI works offline: no CDN


def test_production_logs_one_json_line_per_request_with_its_request_id(serve, tmp_path):
    with serve("city.settings.greeter") as url:
        response = httpx.get(
            f"{url}/api/greeter/greet?name=Ada", headers={"X-Request-ID": "edge-7"}
        )
    assert response.headers["X-Request-ID"] == "edge-7"
    lines = [
        json.loads(line)
        for line in (tmp_path / "gunicorn.log").read_text().splitlines()
        if line.startswith("{")
    ]
    [request] = [line for line in lines if line.get("request_id") == "edge-7"]
    assert request["event"] == "request"
    assert request["service"] == "greeter"
    assert request["status"] == 200


def test_production_refuses_to_start_without_a_secret_key():
    env = servers.subprocess_env(DJANGO_SETTINGS_MODULE="city.settings.production", SECRET_KEY="")
    result = servers.subprocess.run(
        [str(servers.BIN / "python"), "manage.py", "check"],
        env=env,
        cwd=servers.REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize(
    "settings_module", ["city.settings.production", *(f"city.settings.{name}" for name in SERVICES)]
)
def test_deploy_checks_pass_with_production_settings(settings_module):
    env = servers.subprocess_env(
        DJANGO_SETTINGS_MODULE=settings_module,
        SECRET_KEY=servers.secrets.token_urlsafe(50),
        ALLOWED_HOSTS="city.example",
        CACHE_URL="redis://redis:6379/3",  # shared by every process (city.W001)
        CITY_SERVICE_KEY=servers.secrets.token_urlsafe(50),  # services call each other (E001)
    )
    result = servers.run_checked(
        [str(servers.BIN / "python"), "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
    )
    assert "no issues" in result.stdout
