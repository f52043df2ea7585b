"""The split topology as plain processes on loopback — no container engine needed.

    python -m deploy.topology            (or `make split`)

Starts Redis (or reuses one at CITY_SPLIT_REDIS_URL), each service's replicas under
gunicorn with the service's own settings module, a Celery worker for the services' queues,
Celery beat, and HAProxy in front, its configuration rendered from the
service registry. Prints the URLs; Ctrl-C stops everything it started. State (logs, the
SQLite database, uploaded files, the lock that refuses a second start) is kept in .split/.
"""

import argparse
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from city import haproxy_stats
from city.services import SERVICES
from deploy import processes
from deploy.haproxy.render import Replica, render
from deploy.processes import BIN, REPO, free_port

READY_TIMEOUT_SECONDS = 60


class AlreadyRunning(RuntimeError):
    pass


@dataclass
class Settings:
    """What the topology is made of; the defaults are `make split`'s."""

    state_dir: Path = REPO / ".split"
    http_port: int = 8080
    stats_port: int = 8404
    replicas: int = 2
    database_url: str | None = None  # default: SQLite in the state directory
    redis_url: str | None = None  # default: a redis-server of the topology's own
    migrate: bool = True
    env: dict[str, str] = field(default_factory=dict)  # more environment for every process


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.popen = processes.start(self.command, env=self.env, log=self.log)

    def stop(self) -> None:
        if self.popen:
            processes.stop(self.popen)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Topology:
    """Every process of the split deployment; a context manager that stops them all."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.state = settings.state_dir
        self.processes: dict[str, Process] = {}
        self.url = f"http://127.0.0.1:{settings.http_port}"
        self.stats_url = f"http://127.0.0.1:{settings.stats_port}"
        self.admin_socket = self.state / "haproxy.sock"
        self._lock = None
        self._redis_port = None if settings.redis_url else free_port()
        self.redis_url = settings.redis_url or f"redis://127.0.0.1:{self._redis_port}/0"
        self._replicas = {
            name: [
                Replica(f"{name}-{index}", f"127.0.0.1:{free_port()}")
                for index in range(1, settings.replicas + 1)
            ]
            for name in SERVICES
        }

    # --- starting and stopping ---------------------------------------------------------

    def __enter__(self) -> "Topology":
        self.state.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _take_lock(self) -> None:
        self._lock = (self.state / "lock").open("a+")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            self._lock.seek(0)
            raise AlreadyRunning(
                f"A split topology is already running from {self.state} "
                f"(pid {self._lock.read().strip() or '?'}); stop it first (Ctrl-C)."
            ) from error
        self._lock.truncate(0)
        self._lock.write(str(os.getpid()))
        self._lock.flush()

    def _start(self) -> None:
        env = self.env = self._environment()
        (self.state / "logs").mkdir(exist_ok=True)
        if self.settings.migrate:
            self._run_once(["manage.py", "migrate", "--noinput", "-v0"], env)
        self._run_once(["manage.py", "collectstatic", "--noinput", "-v0"], env)
        for process in self._processes(env):
            self.processes[process.name] = process
            process.start()
        self.wait_until_ready()

    def stop(self) -> None:
        """Stop every process, the front first; a second Ctrl-C does not cut this short."""
        previous = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for process in reversed(list(self.processes.values())):
                process.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self._lock:
            self._lock.close()
            self._lock = None

    def _run_once(self, args: list[str], env: dict[str, str]) -> str:
        return subprocess.run(
            [str(BIN / "python"), *args],
            env=env,
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def manage(self, *args: str) -> str:
        """Run a manage.py command against this topology's database; its output."""
        return self._run_once(["manage.py", *args], self.env)

    def _environment(self) -> dict[str, str]:
        database_url = self.settings.database_url or f"sqlite:///{self.state / 'city.sqlite3'}"
        return {
            **os.environ,
            "SECRET_KEY": self._secret_key(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": self.redis_url,
            "CITY_REDIS_URL": self.redis_url,
            "CITY_PEER_URL": self.url,
            # The dashboard's traffic readings, shared by every replica that serves it, in
            # a database of their own (clearing a cache must not touch the queues).
            "DASHBOARD_CACHE_URL": str(httpx.URL(self.redis_url).copy_with(path="/2")),
            # Throttles count in Redis too, so a limit holds across every replica and worker
            # rather than once per process (database 3: also apart from the queues).
            "CACHE_URL": str(httpx.URL(self.redis_url).copy_with(path="/3")),
            # HAProxy, on loopback: the client's address is the one it appends to
            # X-Forwarded-For (sign-in lockout, throttles).
            "CITY_TRUSTED_PROXIES": "127.0.0.1",
            "CITY_HAPROXY_STATS_URL": f"{self.stats_url}/;csv",
            "STATIC_ROOT": str(self.state / "static"),
            "MEDIA_ROOT": str(self.state / "media"),
            # Plain HTTP on loopback: no TLS in front, so no HTTPS redirect or secure cookies.
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "DJANGO_SETTINGS_MODULE": "city.settings.production",
            "PYTHONUNBUFFERED": "1",
            **self.settings.env,
        }

    def _secret_key(self) -> str:
        """One key for every process (sessions and signed values cross services), kept."""
        path = self.state / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(50))
            path.chmod(0o600)
        return path.read_text()

    def _processes(self, env: dict[str, str]) -> Iterator[Process]:
        logs = self.state / "logs"
        if self._redis_port:
            command = processes.redis_server_command(
                self._redis_port, self.state, program=_program("redis-server")
            )
            yield Process("redis", command, env, logs / "redis.log")
        for replica in self.replicas():
            yield self.replica_process(replica, env)
        yield self.worker_process(env, "worker")
        yield Process(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "city",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.state / "celerybeat-schedule"),
            ],
            env,
            logs / "beat.log",
        )
        config = self.state / "haproxy.cfg"
        config.write_text(
            render(
                bind=f"127.0.0.1:{self.settings.http_port}",
                stats_bind=f"127.0.0.1:{self.settings.stats_port}",
                replicas=self._replicas,
                admin_socket=str(self.admin_socket),
            )
        )
        command = processes.haproxy_command(config, program=_program("haproxy"))
        yield Process("haproxy", command, env, logs / "haproxy.log")

    def replica_process(self, replica: Replica, env: dict[str, str]) -> Process:
        """gunicorn serving one replica of a service, with the service's settings."""
        service = replica.name.rsplit("-", 1)[0]
        return Process(
            replica.name,
            processes.gunicorn_command(),
            {
                **env,
                "DJANGO_SETTINGS_MODULE": f"city.settings.{service}",
                "CITY_INSTANCE": replica.name,
                "GUNICORN_BIND": replica.address,
                "WEB_CONCURRENCY": env.get("WEB_CONCURRENCY", "1"),
            },
            self.state / "logs" / f"{replica.name}.log",
        )

    def worker_process(self, env: dict[str, str] | None, name: str) -> Process:
        """A Celery worker for every service's queue (another can be added)."""
        env = env or self.processes["worker"].env
        command = processes.celery_worker_command(
            queues=[service.queue for service in SERVICES.values()],
            concurrency=env.get("CELERY_CONCURRENCY", "2"),
            hostname=f"{name}@%h",
        )
        return Process(name, command, env, self.state / "logs" / f"{name}.log")

    def replicas(self, service: str | None = None) -> list[Replica]:
        """The replicas of one service, or of all."""
        services = [service] if service else list(SERVICES)
        return [replica for name in services for replica in self._replicas[name]]

    # --- operations --------------------------------------------------------------------

    def rolling_restart(self, service: str) -> None:
        """Restart each replica of `service` in turn, losing no request.

        A replica is drained first (HAProxy sends it nothing new and waits for what it
        has), then stopped with SIGTERM, started again and put back once its health
        check passes: what a rolling deploy does.
        """
        for replica in self.replicas(service):
            self._set_state(replica.name, "drain")
            self._wait_for(lambda r=replica: self._sessions(r.name) == 0, f"{replica.name} drained")
            self.processes[replica.name].stop()
            self._set_state(replica.name, "ready")
            self.revive(replica.name)

    def revive(self, name: str) -> None:
        """Start a process (one that was stopped or died) again; a replica, until it is UP."""
        process = self.processes[name]
        process.stop()  # reaps it, if it died
        process.start()
        if name in {replica.name for replica in self.replicas()}:
            self._wait_for(lambda: name in self.replicas_up(), f"{name} up")

    def _set_state(self, replica: str, state: str) -> None:
        service = replica.rsplit("-", 1)[0]
        for backend in (service, "platform"):
            self._admin(f"set server {backend}/{replica} state {state}")

    def _admin(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.admin_socket))
            sock.sendall(command.encode() + b"\n")
            return sock.recv(65536).decode()

    def _sessions(self, replica: str) -> int:
        """Requests HAProxy has in flight to `replica`, across its backends."""
        return sum(int(row["scur"]) for row in self._stats() if row["svname"] == replica)

    def _wait_for(self, condition, what: str) -> None:
        processes.wait_until(condition, timeout=READY_TIMEOUT_SECONDS, what=what)

    # --- readiness ---------------------------------------------------------------------

    def wait_until_ready(self) -> None:
        """Until HAProxy sees every replica up and the worker has said it is ready."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self._fail_if_a_process_died()
            if self.replicas_up() == {r.name for r in self.replicas()} and self._worker_ready():
                return
            time.sleep(0.2)
        raise processes.ProcessFailed(
            f"the topology did not become ready; logs in {self.state / 'logs'}"
        )

    def replicas_up(self) -> set[str]:
        """Replicas that HAProxy sends traffic to (UP, not draining) in their service's backend."""
        return {
            row["svname"]
            for row in self._stats()
            if row["pxname"] in SERVICES
            and row["svname"] not in ("FRONTEND", "BACKEND")
            and row["status"] == "UP"
        }

    def _stats(self) -> list[dict[str, str]]:
        """HAProxy's stats page (CSV), a dict per row; empty while HAProxy does not answer."""
        try:
            return haproxy_stats.read(f"{self.stats_url}/;csv", timeout=2)
        except httpx.HTTPError:
            return []

    def _worker_ready(self) -> bool:
        return processes.celery_worker_ready(self.processes["worker"].log)

    def _fail_if_a_process_died(self) -> None:
        for process in self.processes.values():
            if process.popen and process.popen.poll() is not None:
                code = process.popen.returncode
                tail = processes.log_tail(process.log)
                raise processes.ProcessFailed(f"{process.name} exited ({code}):\n{tail}")


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(
            f"{name} is not installed: run `make split` (it installs it) or apt-get install it"
        )
    return path


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so `kill` stops the topology like Ctrl-C."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8080, help="HAProxy's port")
    parser.add_argument("--stats-port", type=int, default=8404)
    parser.add_argument("--replicas", type=int, default=2, help="replicas of each service")
    args = parser.parse_args()
    settings = Settings(
        http_port=args.port,
        stats_port=args.stats_port,
        replicas=args.replicas,
        database_url=os.environ.get("DATABASE_URL"),
        redis_url=os.environ.get("CITY_SPLIT_REDIS_URL"),
    )
    try:
        with _stopped_by_signals(), Topology(settings) as topology:
            print(f"City is up at {topology.url}  (HAProxy stats: {topology.stats_url})")
            for replica in topology.replicas():
                print(f"  {replica.name:12} http://{replica.address}")
            print(f"Logs in {topology.state / 'logs'}. Ctrl-C stops everything.", flush=True)
            while True:
                time.sleep(1)
                topology._fail_if_a_process_died()
    except AlreadyRunning as error:
        raise SystemExit(str(error)) from None
    except KeyboardInterrupt:
        print("\nStopped.")


if __name__ == "__main__":
    main()
