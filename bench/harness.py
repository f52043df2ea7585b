"""Measuring HTTP servers side by side: start them, load them with wrk, read their CPU time.

Variants of a scenario are measured in alternating rounds (A B C, A B C, ...) so a change
in the machine's load touches them all alike; a scenario reports each variant's median and
spread over the rounds.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GUNICORN_CONFIG = REPO / "deploy" / "gunicorn.conf.py"
WRK_REPORT = Path(__file__).with_name("wrk_report.lua")


@dataclass(frozen=True)
class Server:
    """A WSGI app under gunicorn: `app` is `module:callable`; `env` adds to the environment."""

    name: str
    app: str
    env: dict[str, str] = field(default_factory=dict)


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


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        subprocess.run([REPO / "deploy" / "scripts" / "ensure-programs.sh", "wrk:wrk"], check=True)
        path = shutil.which("wrk")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
def gunicorn(
    server: Server, *, workers: int = 2, threads: int = 4
) -> Iterator[tuple[str, psutil.Process]]:
    """Serve `server` on a free port; yields its base URL and the gunicorn master process."""
    port = free_port()
    env = {
        **os.environ,
        **server.env,
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    # Logs go to a file, as a container's log driver would take them: written, not shown.
    with tempfile.TemporaryFile(prefix=f"bench-{server.name}-") as log:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", str(GUNICORN_CONFIG), server.app],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_for_port(port, process, log)
            yield f"http://127.0.0.1:{port}", psutil.Process(process.pid)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)


def _wait_for_port(port: int, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"gunicorn exited: {log.read()[-2000:].decode()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            time.sleep(0.3)  # let every worker boot
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not listen on {port}")


def cpu_seconds(master: psutil.Process) -> float:
    """User + system CPU time of gunicorn's master and its workers so far."""
    processes = [master, *master.children(recursive=True)]
    return sum(sum(p.cpu_times()[:2]) for p in processes if p.is_running())


def run_wrk(url: str, load: Load) -> dict:
    threads = min(2, load.connections)
    output = subprocess.run(
        [
            require_wrk(),
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


def measure(url: str, master: psutil.Process, load: Load) -> Sample:
    warm = Load(load.path, load.connections, 1)
    run_wrk(url, warm)
    cpu_before = cpu_seconds(master)
    report = run_wrk(url, load)
    cpu = cpu_seconds(master) - cpu_before
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
        running = {s.name: stack.enter_context(gunicorn(s)) for s in servers}
        for _ in range(rounds):
            for load in loads:
                for server in servers:
                    url, master = running[server.name]
                    results[load][server.name].samples.append(measure(url, master, load))
                    if progress:
                        progress()
    return results
