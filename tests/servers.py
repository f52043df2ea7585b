"""Real servers for tests: each starts on a free loopback port, is waited for until it
answers, and is stopped (its whole process group) even when the test fails.

The processes are run by `deploy.processes`, as the split topology runs them.
"""

import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings

from city.celery import app as celery_app
from deploy import processes
from deploy.haproxy.render import Replica, render
from deploy.processes import BIN, REPO, free_port
from deploy.processes import stop as stop  # for tests that stop a server themselves


def require_program(name: str) -> str:
    """The path of a system program the test needs; its absence fails the test, never skips."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: run `make test` (it installs it) or `apt-get install {name}`"
        )
    return path


def subprocess_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **overrides}
    return {key: value for key, value in env.items() if value is not None}


def production_env(**overrides: str) -> dict[str, str]:
    """What a production deployment sets, for a server on plain-HTTP loopback."""
    return subprocess_env(
        SECRET_KEY=secrets.token_urlsafe(50),
        # The test settings' key: this process and the server call each other as peers.
        CITY_SERVICE_KEY=settings.CITY_SERVICE_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        **overrides,
    )


@contextmanager
def _failing_the_test() -> Iterator[None]:
    """A server that does not start fails the test, with its log's tail."""
    try:
        yield
    except processes.ProcessFailed as error:
        pytest.fail(str(error))


@contextmanager
def running(
    command: list[str], *, env: dict[str, str], log: Path, ready: Callable[[], bool]
) -> Iterator[subprocess.Popen]:
    """`command` running until the block ends, once `ready()` says it is up."""
    with _failing_the_test(), processes.running(command, env=env, log=log, ready=ready) as popen:
        yield popen


def answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    return check


@contextmanager
def redis_server(tmp_path: Path, port: int | None = None) -> Iterator[str]:
    """A Redis of the test's own (nothing saved to disk); yields its URL."""
    program = require_program("redis-server")
    with _failing_the_test(), processes.redis_server(tmp_path, port=port, program=program) as url:
        yield url


@contextmanager
def gunicorn(
    settings_module: str, *, env: dict[str, str], log: Path, workers: int = 1
) -> Iterator[str]:
    """gunicorn serving City with `settings_module`; yields its base URL."""
    port = free_port()
    command = [
        str(BIN / "gunicorn"),
        "city.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--graceful-timeout",
        "10",
    ]
    base_url = f"http://127.0.0.1:{port}"
    env = {**env, "DJANGO_SETTINGS_MODULE": settings_module}
    with running(command, env=env, log=log, ready=answers(f"{base_url}/healthz")):
        yield base_url


@contextmanager
def celery_worker(
    *, queues: list[str], env: dict[str, str], log: Path, beat_schedule: Path | None = None
) -> Iterator[subprocess.Popen]:
    """A Celery worker process consuming `queues` (running beat too, given `beat_schedule`);
    ready once it says so in its log."""
    command = processes.celery_worker_command(
        queues=queues,
        concurrency=1,
        hostname=f"test-{secrets.token_hex(3)}@%h",
        beat_schedule=beat_schedule,
    )
    with running(
        command, env=env, log=log, ready=lambda: processes.celery_worker_ready(log)
    ) as worker:
        yield worker


def run_checked(command: list[str], *, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a command to completion; a failure fails the test with its output."""
    result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def wait_until(
    condition: Callable[[], bool], *, timeout: float = 60, what: str = "condition"
) -> None:
    """Poll `condition` until it holds; fail the test naming `what` if it never does."""
    try:
        processes.wait_until(condition, timeout=timeout, what=what)
    except TimeoutError as error:
        pytest.fail(str(error))


@contextmanager
def database_of_its_own(tmp_path: Path, name: str) -> Iterator[str]:
    """The URL of a new, empty database on the server the suite runs against (dropped
    afterwards), for servers that a test runs with a database of their own."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        yield f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        return
    name = f"city_{name}_{secrets.token_hex(4)}"
    server = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}"
    # Created and dropped from the server's maintenance database, which always exists.
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@contextmanager
def combined_deployment(
    tmp_path: Path, name: str, *, static_root: str, shell: str = ""
) -> Iterator[tuple[str, str]]:
    """Every service in one gunicorn with production settings, a database and media of
    its own, migrated, tasks in-process (no broker). `shell` runs first in `manage.py
    shell` (to make users, tokens). Yields the URL and what the shell printed."""
    with database_of_its_own(tmp_path, name) as database_url:
        env = production_env(
            DATABASE_URL=database_url,
            STATIC_ROOT=static_root,
            MEDIA_ROOT=str(tmp_path / "media"),
            DJANGO_SETTINGS_MODULE="city.settings.production",
        )
        manage = [str(BIN / "python"), "manage.py"]
        run_checked([*manage, "migrate", "-v0"], env=env)
        printed = run_checked([*manage, "shell", "--no-imports", "-c", shell], env=env).stdout
        with gunicorn("city.settings.production", env=env, log=tmp_path / "web.log") as url:
            yield url, printed


@contextmanager
def address_nobody_listens_on() -> Iterator[str]:
    """host:port bound but never listening: connections are refused, and no other process
    can take the port while the block runs."""
    with socket.socket() as nobody:
        nobody.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{nobody.getsockname()[1]}"


@dataclass(frozen=True)
class Edge:
    url: str  # HAProxy's frontend
    stats_csv: str  # its stats page, as CSV


@contextmanager
def haproxy(
    root: Path, *, greeter: list[Replica], host: str = "127.0.0.1", stats_port: int | None = None
) -> Iterator[Edge]:
    """HAProxy with City's configuration on `host`, in front of these greeter replicas
    (the other services have none); yields once its stats answer."""
    http_port, stats_port = free_port(), stats_port or free_port()
    config = root / "haproxy.cfg"
    config.write_text(
        render(
            bind=f"{host}:{http_port}",
            stats_bind=f"{host}:{stats_port}",
            replicas={"greeter": greeter, "documents": [], "leasing": []},
        )
    )
    stats_csv = f"http://{host}:{stats_port}/;csv"
    with running(
        processes.haproxy_command(config, program=require_program("haproxy")),
        env=subprocess_env(),
        log=root / "haproxy.log",
        ready=answers(stats_csv),
    ):
        yield Edge(f"http://{host}:{http_port}", stats_csv)


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """This process publishes tasks to `broker_url` instead of running them in-process."""
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    _use_broker(broker_url=broker_url, task_always_eager=False)
    try:
        yield
    finally:
        _use_broker(**saved)


def _use_broker(**conf) -> None:
    celery_app.close()
    # close() keeps the producer pool (Celery 5.7), and with it the previous broker's URL.
    celery_app.amqp._producer_pool = None
    celery_app.conf.update(**conf)
