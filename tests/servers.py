"""Real servers for tests: each starts on a free loopback port, is waited for until it
answers, and is stopped (its whole process group) even when the test fails."""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 30


def require_program(name: str) -> str:
    """The path of a system program the test needs; its absence fails the test, never skips."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: run `make test` (it installs it) or `apt-get install {name}`"
        )
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def subprocess_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **overrides}
    return {key: value for key, value in env.items() if value is not None}


def production_env(**overrides: str) -> dict[str, str]:
    """What a production deployment sets, for a server on plain-HTTP loopback."""
    return subprocess_env(
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        **overrides,
    )


@contextmanager
def running(
    command: list[str], *, env: dict[str, str], log: Path, ready: Callable[[], bool]
) -> Iterator[subprocess.Popen]:
    """Run `command` in its own process group until the block ends; `ready` says it is up."""
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=REPO,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_ready(process, ready, log)
        yield process
    finally:
        stop(process)


def _wait_until_ready(process: subprocess.Popen, ready: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"{process.args[0]} exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        if ready():
            return
        time.sleep(0.1)
    pytest.fail(f"{process.args[0]} did not become ready:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            process.wait()
    return process.returncode


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
    port = port or free_port()
    command = [
        require_program("redis-server"),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    url = f"redis://127.0.0.1:{port}/0"

    def pings() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    with running(command, env=subprocess_env(), log=tmp_path / f"redis-{port}.log", ready=pings):
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
    *, queues: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen]:
    """A Celery worker process consuming `queues`; ready once it says so in its log."""
    command = [
        str(BIN / "celery"),
        "-A",
        "city",
        "worker",
        "--queues",
        ",".join(queues),
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        f"test-{secrets.token_hex(3)}@%h",
    ]
    with running(command, env=env, log=log, ready=lambda: b"ready" in log.read_bytes()) as worker:
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
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)
