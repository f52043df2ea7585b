"""`make run`'s server as it runs: `manage.py runserver` with city.settings.dev (DEBUG on,
readable logs)."""

import httpx
import pytest

from tests import servers
from tests.contract import error_of


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    """runserver with the dev settings on a free port; yields its URL and its log.

    Its database is one of its own, left without tables (not migrated): any request that
    reaches the database fails there, which is how the test makes an unhandled exception
    in a real server.
    """
    tmp_path = tmp_path_factory.mktemp("dev")
    port = servers.free_port()
    log = tmp_path / "runserver.log"
    with servers.database_of_its_own(tmp_path, "dev") as database_url:
        env = servers.subprocess_env(
            DJANGO_SETTINGS_MODULE="city.settings.dev",
            DATABASE_URL=database_url,
            DEBUG=None,
            LOG_FORMAT=None,
            SECRET_KEY=None,
        )
        command = [
            str(servers.BIN / "python"),
            "manage.py",
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
        ]
        url = f"http://127.0.0.1:{port}"
        with servers.running(command, env=env, log=log, ready=servers.answers(f"{url}/healthz")):
            yield url, log


def test_the_dev_server_answers_an_unknown_api_path_in_the_contract(dev_server):
    url, _ = dev_server
    response = httpx.get(f"{url}/api/no/such/thing/", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert error_of(response)["code"] == "not_found"


def test_the_dev_server_answers_a_failure_in_the_contract_and_logs_the_traceback(dev_server):
    url, log = dev_server
    # A token is looked up in a database without tables: an unhandled exception.
    response = httpx.get(
        f"{url}/api/greeter/newcomers/me/",
        headers={"Authorization": "Token 0123456789abcdef", "Accept": "text/html"},
    )
    assert response.status_code == 500
    assert error_of(response)["code"] == "server_error"
    # SQLite says "no such table: authtoken_token", PostgreSQL "relation "authtoken_token"…".
    assert "authtoken_token" not in response.text
    servers.wait_until(lambda: "authtoken_token" in log.read_text(), what="the traceback logged")
    assert "Traceback (most recent call last)" in log.read_text()


def test_the_dev_server_keeps_djangos_debug_page_for_pages_outside_the_api(dev_server):
    url, _ = dev_server
    response = httpx.get(f"{url}/admin-typo/")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Page not found" in response.text


def test_the_dev_server_logs_readable_lines(dev_server):
    url, log = dev_server
    httpx.get(f"{url}/api/greeter/greet", params={"name": "Ada"})
    servers.wait_until(
        lambda: "path=/api/greeter/greet" in log.read_text(), what="the request line"
    )
    [line] = [line for line in log.read_text().splitlines() if "path=/api/greeter/greet" in line]
    assert "[info     ] request" in line
    assert "status=200" in line
    assert not line.startswith("{")
    assert "\x1b[" not in line  # a file is not a terminal: no colours
