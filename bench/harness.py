"""Measuring HTTP servers side by side: start them, load them with wrk, read their CPU time.

Variants of a scenario are measured in alternating rounds (A B C, A B C, ...) so a change
in the machine's load touches them all alike; a scenario reports each variant's median and
spread over the rounds.
"""

import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from city.services import SERVICES
from deploy import processes
from deploy.haproxy.render import Replica, render
from deploy.processes import REPO, free_port

WRK_REPORT = Path(__file__).with_name("wrk_report.lua")


@dataclass(frozen=True)
class Server:
    """A WSGI app under gunicorn: `app` is `module:callable`; `env` adds to the environment.

    With `replicas`, that many gunicorns (of `workers` each) run behind HAProxy.
    """

    name: str
    app: str
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 2
    replicas: int = 0


@dataclass(frozen=True)
class Load:
    path: str
    connections: int
    seconds: float


@dataclass
class Sample:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float
    requests: int
    errors: int


@dataclass
class Result:
    """One variant's samples in one scenario, and their medians."""

    variant: str
    samples: list[Sample]

    def median(self, metric: str) -> float:
        return statistics.median(getattr(sample, metric) for sample in self.samples)

    def spread(self, metric: str) -> tuple[float, float]:
        values = [getattr(sample, metric) for sample in self.samples]
        return min(values), max(values)


def require_program(name: str) -> str:
    """The program's path, installed first when missing (as root) — as `make bench` does."""
    if shutil.which(name) is None:
        subprocess.run([REPO / "deploy" / "scripts" / "ensure-programs.sh", name], check=True)
    return shutil.which(name)


def production_env(**extra: str) -> dict[str, str]:
    """Production settings on plain-HTTP loopback, with a database of the benchmark's own."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tempfile.gettempdir()}/city-bench.sqlite3",
        "LOG_LEVEL": "INFO",
        **extra,
    }


@contextmanager
def serve(server: Server) -> Iterator[tuple[str, list[psutil.Process]]]:
    """Start `server`; yields its URL and the processes whose CPU time it spends."""
    if not server.replicas:
        with _gunicorn(server) as (url, process):
            yield url, [process]
        return
    with ExitStack() as stack:
        backends = [stack.enter_context(_gunicorn(server)) for _ in range(server.replicas)]
        url, proxy = stack.enter_context(_haproxy([url for url, _ in backends]))
        yield url, [proxy, *(process for _, process in backends)]


@contextmanager
def _gunicorn(server: Server) -> Iterator[tuple[str, psutil.Process]]:
    port = free_port()
    env = {
        **os.environ,
        **server.env,
        "WEB_CONCURRENCY": str(server.workers),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    with _process(processes.gunicorn_command(server.app), env, port) as process:
        yield f"http://127.0.0.1:{port}", process


@contextmanager
def _haproxy(backends: list[str]) -> Iterator[tuple[str, psutil.Process]]:
    """City's HAProxy configuration, with these greeter replicas."""
    port = free_port()
    replicas = {name: [] for name in SERVICES}
    replicas["greeter"] = [
        Replica(f"greeter-{index}", url.removeprefix("http://"))
        for index, url in enumerate(backends, 1)
    ]
    config = render(
        bind=f"127.0.0.1:{port}", stats_bind=f"127.0.0.1:{free_port()}", replicas=replicas
    )
    with tempfile.NamedTemporaryFile("w", suffix=".cfg") as file:
        file.write(config)
        file.flush()
        command = processes.haproxy_command(file.name, program=require_program("haproxy"))
        with _process(command, os.environ, port) as process:
            time.sleep(1.5)  # health checks bring the replicas up
            yield f"http://127.0.0.1:{port}", process


@contextmanager
def _process(command: list[str], env: dict, port: int) -> Iterator[psutil.Process]:
    """`command` running until it listens on `port`; logs go to a file, as a container's
    log driver would take them: written, not shown."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as logs,
        processes.running(
            command, env=env, log=Path(logs) / "log", ready=lambda: processes.listens(port)
        ) as popen,
    ):
        time.sleep(0.3)  # let every worker boot
        yield psutil.Process(popen.pid)


def cpu_seconds(roots: list[psutil.Process]) -> float:
    """User + system CPU time so far of these processes and their children."""
    processes = [p for root in roots for p in (root, *root.children(recursive=True))]
    return sum(sum(p.cpu_times()[:2]) for p in processes if p.is_running())


def run_wrk(url: str, load: Load) -> dict:
    threads = min(2, load.connections)
    output = subprocess.run(
        [
            require_program("wrk"),
            f"-t{threads}",
            f"-c{load.connections}",
            f"-d{load.seconds}s",
            "-s",
            str(WRK_REPORT),
            f"{url}{load.path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def measure(url: str, processes: list[psutil.Process], load: Load) -> Sample:
    warm = Load(load.path, load.connections, 1)
    run_wrk(url, warm)
    cpu_before = cpu_seconds(processes)
    report = run_wrk(url, load)
    cpu = cpu_seconds(processes) - cpu_before
    requests = report["requests"]
    return Sample(
        requests_per_second=requests / (report["duration_us"] / 1e6),
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        cpu_us_per_request=cpu / max(requests, 1) * 1e6,
        requests=requests,
        errors=report["errors"] + report["non2xx"],
    )


def compare(servers: list[Server], loads: list[Load], *, rounds: int, progress=None) -> dict:
    """Every server under every load, in alternating rounds; {load: {server: Result}}."""
    results = {load: {s.name: Result(s.name, []) for s in servers} for load in loads}
    with ExitStack() as stack:
        running = {s.name: stack.enter_context(serve(s)) for s in servers}
        for _ in range(rounds):
            for load in loads:
                for server in servers:
                    url, processes = running[server.name]
                    results[load][server.name].samples.append(measure(url, processes, load))
                    if progress:
                        progress()
    return results
