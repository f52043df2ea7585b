"""deploy/compose.yaml under a container engine, for tests: a project of its own name on
free loopback ports, its logs at hand when something fails, and `down` that removes all.

The engine: CITY_COMPOSE when set (e.g. "docker compose" or "podman-compose"); else
Docker Compose when a Docker engine answers; else podman-compose with podman. No engine
fails the test: the container tests are never skipped.
"""

import os
import secrets
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tests import servers

COMPOSE_FILE = servers.REPO / "deploy" / "compose.yaml"
BUILD_TIMEOUT_SECONDS = 1200  # the first build downloads every wheel
COMMAND_TIMEOUT_SECONDS = 300


def compose_command() -> tuple[list[str], str]:
    """The compose command line and the engine CLI it drives (docker or podman)."""
    explicit = os.environ.get("CITY_COMPOSE", "").strip()
    if explicit:
        command = shlex.split(explicit)
        return command, "podman" if "podman" in command[0] else "docker"
    docker = shutil.which("docker")
    if docker and _succeeds([docker, "compose", "version"]) and _succeeds([docker, "info"]):
        return [docker, "compose"], "docker"
    podman_compose = servers.BIN / "podman-compose"
    podman_compose = str(podman_compose) if podman_compose.exists() else None
    podman_compose = podman_compose or shutil.which("podman-compose")
    if shutil.which("podman") and podman_compose:
        return [podman_compose], "podman"
    pytest.fail(
        "No container engine: the container tests need a Docker engine with Compose, or "
        "podman with podman-compose. `make test` installs podman-compose (a dev dependency) "
        "and, on these machines, podman and the base images (../shared/tools/stand-in-images.sh)."
    )


def _succeeds(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class Stack:
    """One compose project: `compose.yaml` with its own name, ports and secret."""

    compose: list[str]
    engine: str
    project: str = field(default_factory=lambda: f"citytest-{secrets.token_hex(4)}")
    http_port: int = field(default_factory=servers.free_port)
    stats_port: int = field(default_factory=servers.free_port)
    env: dict[str, str] = field(init=False)
    up: bool = False

    def __post_init__(self) -> None:
        self.env = servers.subprocess_env(
            SECRET_KEY=secrets.token_urlsafe(50),
            CITY_SERVICE_KEY=secrets.token_urlsafe(50),
            CITY_HTTP_PORT=str(self.http_port),
            CITY_STATS_PORT=str(self.stats_port),
            CITY_BIND_ADDRESS="127.0.0.1",
            # One gunicorn process per replica: seven replicas share two cores here.
            WEB_CONCURRENCY="1",
            CELERY_CONCURRENCY="1",
            # podman builds OCI images by default, which drop HEALTHCHECK; keep it.
            BUILDAH_FORMAT="docker",
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def command(self, *args: str) -> list[str]:
        return [*self.compose, "-p", self.project, "-f", str(COMPOSE_FILE), *args]

    def run(
        self, *args: str, timeout: float = COMMAND_TIMEOUT_SECONDS, check: bool = True
    ) -> subprocess.CompletedProcess:
        command = self.command(*args)
        try:
            result = subprocess.run(
                command,
                env=self.env,
                cwd=servers.REPO,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as error:
            pytest.fail(
                f"{shlex.join(command)} took over {timeout}s:\n{_tail(error.stderr)}\n{self.logs()}"
            )
        if check and result.returncode != 0:
            pytest.fail(
                f"{shlex.join(command)} failed ({result.returncode}):\n"
                f"{_tail(result.stdout)}\n{_tail(result.stderr)}\n{self.logs()}"
            )
        return result

    def logs(self) -> str:
        """Each container's state and the last lines of its log, for failure messages."""
        if not self.up:
            return ""
        label = f"label=com.docker.compose.project={self.project}"
        states = [
            self.engine,
            "ps",
            "--all",
            "--filter",
            label,
            "--format",
            "{{.Names}}: {{.Status}}",
        ]
        logs = self.command("logs", "--tail", "30")
        return (
            f"--- containers ---\n{self._output(states)}"
            f"--- container logs ---\n{_tail(self._output(logs), 12000)}"
        )

    def _output(self, command: list[str]) -> str:
        """What the command printed, for a diagnosis: never fails, never hangs."""
        try:
            result = subprocess.run(
                command, env=self.env, capture_output=True, text=True, timeout=60
            )
        except subprocess.TimeoutExpired:
            return f"({shlex.join(command)} took over 60s)\n"
        return result.stdout + result.stderr

    def start(self) -> None:
        self.up = True
        self.run("up", "-d")

    def down(self) -> None:
        if self.up:
            self.run("down", "--volumes", "--remove-orphans", "--timeout", "30")
            self.up = False

    def leftovers(self) -> dict[str, list[str]]:
        """The project's containers, volumes and networks that still exist."""
        label = f"label=com.docker.compose.project={self.project}"
        listings = {
            "containers": ["ps", "--all", "--filter", label, "--format", "{{.Names}}"],
            "volumes": ["volume", "ls", "--filter", label, "--format", "{{.Name}}"],
            "networks": ["network", "ls", "--filter", label, "--format", "{{.Name}}"],
        }
        found = {}
        for kind, args in listings.items():
            result = subprocess.run(
                [self.engine, *args], capture_output=True, text=True, timeout=60, check=True
            )
            # By label, and by name too: a resource the engine left unlabelled still counts.
            everything = subprocess.run(
                [self.engine, *args[: args.index("--filter")], "--format", args[-1]],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            named = [
                name
                for name in everything.stdout.split()
                if name.startswith((f"{self.project}_", f"{self.project}-"))
            ]
            found[kind] = sorted(set(result.stdout.split()) | set(named))
        return found

    def containers(self, service: str) -> list[str]:
        """The names of the service's containers."""
        result = subprocess.run(
            [
                self.engine,
                "ps",
                "--filter",
                f"label=com.docker.compose.project={self.project}",
                "--filter",
                f"label=com.docker.compose.service={service}",
                "--format",
                "{{.Names}}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return sorted(result.stdout.split())

    def healthy(self, container: str) -> bool:
        """The container's health check passes (podman runs it now; Docker, on its own)."""
        if self.engine == "podman":
            # Podman schedules health checks with systemd timers; without systemd they run
            # only when asked, which is what this does.
            command = ["podman", "healthcheck", "run", container]
            return subprocess.run(command, capture_output=True, timeout=60).returncode == 0
        command = ["docker", "inspect", "--format", "{{.State.Health.Status}}", container]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        return result.stdout.strip() == "healthy"

    def exec(self, container: str, *command: str) -> str:
        result = subprocess.run(
            [self.engine, "exec", container, *command],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    def wait_until(self, condition: Callable[[], bool], *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}\n{self.logs()}")
            time.sleep(0.5)


def answered(url: str, *, ok: Callable[[httpx.Response], bool]) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return ok(httpx.get(url, timeout=5))
        except httpx.TransportError:
            return False

    return check


def _tail(text: str | bytes | None, chars: int = 4000) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return (text or "")[-chars:]


def image_build(stack: Stack) -> None:
    """The image every Django service runs, built once (the services share its tag)."""
    stack.run("build", "migrate", timeout=BUILD_TIMEOUT_SECONDS)
