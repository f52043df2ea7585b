"""The split topology as plain processes on loopback — no container engine needed.

    python -m deploy.topology            (or `make split`)

Starts Redis (or reuses one at CITY_SPLIT_REDIS_URL), each service's replicas under
gunicorn with the service's own settings module, a Celery worker for the services' queues,
Celery beat, and HAProxy in front, its configuration rendered from the
service registry. Prints the URLs; Ctrl-C stops everything it started. State (logs, the
SQLite database, uploaded files, Redis's append-only file, the lock that refuses a second
start, supervisor.json) is kept in .split/ (--state-dir).

While it runs it supervises what it started, as an orchestrator would: a process that
exits is restarted with backoff while HAProxy routes around it, and nothing it started
outlives it (see Supervisor and processes.Watchdog). docs/resilience.md, "Supervision".
"""

import argparse
import fcntl
import json
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
# A process that exits is started again after a backoff: 0.5 s, doubling up to 8 s, and
# back to 0.5 s once it had stayed up for a minute. One that was restarted 5 times within
# a minute is left failed; the rest keeps running.
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 8
STABLE_AFTER_SECONDS = 60
RESTART_LIMIT = 5
RESTART_WINDOW_SECONDS = 60


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
    state: str = "stopped"  # running, backoff (to be restarted), failed, stopped
    restarts: int = 0
    last_exit_code: int | None = None  # negative: the signal that ended it
    started_at: float | None = None  # epoch seconds
    watchdog: processes.Watchdog | None = None  # kills its group if the topology dies

    def start(self, watchdog: processes.Watchdog) -> None:
        """Start it, its group watched by `watchdog` (see processes.Watchdog)."""
        self.popen = processes.start(self.command, env=self.env, log=self.log, die_with_parent=True)
        self.watchdog = watchdog
        watchdog.watch(self.popen.pid)
        self.state, self.started_at = "running", time.time()

    def stop(self) -> None:
        """Stop it if it runs (SIGTERM to its group, SIGKILL after a while). A failed process
        stays failed, so the last supervisor.json still says which one failed."""
        if self.state == "running":
            processes.end(self.popen)
            self._reap()
        if self.state != "failed":
            self.state = "stopped"

    def reap_exited(self) -> None:
        """It exited: what is left of its group is SIGKILLed, and it is reaped."""
        processes.kill_group(self.popen.pid)  # its zombie still holds the group's id
        self._reap()

    def _reap(self) -> None:
        self.watchdog.forget(self.popen.pid)  # before the wait: its zombie holds the id
        self.last_exit_code = self.popen.wait()

    def status(self) -> dict:
        """As supervisor.json shows it (pid and pgid are the same: its own session)."""
        pid = self.popen.pid if self.popen else None
        return {
            "pid": pid,
            "pgid": pid,
            "state": self.state,
            "restarts": self.restarts,
            "last_exit_code": self.last_exit_code,
            "last_exit": None if self.last_exit_code is None else _exit(self.last_exit_code),
            "started_at": self.started_at,
        }


class Topology:
    """Every process of the split deployment; a context manager that stops them all."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.state = settings.state_dir
        self.processes: dict[str, Process] = {}
        self.url = f"http://127.0.0.1:{settings.http_port}"
        self.stats_url = f"http://127.0.0.1:{settings.stats_port}"
        self.admin_socket = self.state / "haproxy.sock"
        self.status_path = self.state / "supervisor.json"
        self._lock = None
        self._watchdog: processes.Watchdog | None = None
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
        self._watchdog = processes.Watchdog(self.state / "logs" / "watchdog.log")
        if self.settings.migrate:
            processes.manage("migrate", "--noinput", "-v0", env=env)
        processes.manage("collectstatic", "--noinput", "-v0", env=env)
        for process in self._processes(env):
            self.processes[process.name] = process
            self.launch(process)
        self.wait_until_ready()

    def stop(self) -> None:
        """Stop every process, the front first; a second Ctrl-C does not cut this short."""
        previous = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for process in reversed(list(self.processes.values())):
                process.stop()
            if self.processes:
                self.write_status()
            if self._watchdog:
                self._watchdog.close()
                self._watchdog = None
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self._lock:
            self._lock.close()
            self._lock = None

    def launch(self, process: Process) -> None:
        """Start `process`, its group watched by the watchdog (see processes.Watchdog)."""
        process.start(self._watchdog)
        self.write_status()

    def keep_watchdog(self) -> None:
        """Start the watchdog again if it died, telling it every group it must watch."""
        if self._watchdog.keep_alive():
            print("The watchdog exited; started another.", flush=True)

    def write_status(self) -> None:
        """supervisor.json, replaced whole (written aside, then renamed): a reader never
        sees half of it."""
        status = {
            "updated": time.time(),
            "processes": {name: process.status() for name, process in self.processes.items()},
        }
        partial = self.status_path.with_name(f"{self.status_path.name}.tmp")
        partial.write_text(json.dumps(status, indent=2) + "\n")
        partial.replace(self.status_path)

    def manage(self, *args: str) -> str:
        """Run a manage.py command against this topology's database; its output."""
        return processes.manage(*args, env=self.env)

    def _environment(self) -> dict[str, str]:
        database_url = self.settings.database_url or f"sqlite:///{self.state / 'city.sqlite3'}"
        return {
            **os.environ,
            "SECRET_KEY": self._secret_key(),
            "CITY_SERVICE_KEY": secrets.token_urlsafe(50),  # the services call each other
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
            # Each process's state and restarts, for the dashboard.
            "CITY_SUPERVISOR_STATUS": str(self.status_path),
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
                self._redis_port, self.state, program=_program("redis-server"), append_only=True
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
        # The outbox's relay: sends the events the web processes could not hand to Redis.
        relay = [str(BIN / "python"), "manage.py", "relay_events"]
        yield Process("relay", relay, env, logs / "relay.log")
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
        process.stop()  # if it still runs
        self.launch(process)
        if self.is_replica(name):
            self._wait_for(lambda: name in self.replicas_up(), f"{name} up")

    def is_replica(self, name: str) -> bool:
        return name in {replica.name for replica in self.replicas()}

    def route_around(self, replica: str) -> None:
        """HAProxy sends `replica` nothing (maintenance), at once, rather than after its
        health checks fail; it has no admin socket while it is itself restarting."""
        self._try_to_set_state(replica, "maint")

    def take_back(self, replica: str) -> None:
        """HAProxy sends `replica` traffic again once its health check passes."""
        self._try_to_set_state(replica, "ready")

    def route_around_the_missing(self) -> bool:
        """HAProxy sends nothing to the replicas that are not running (a new HAProxy knows
        nothing of them); False while it does not answer on its admin socket yet."""
        try:
            for replica in self.replicas():
                if self.processes[replica.name].state != "running":
                    self._set_state(replica.name, "maint")
        except OSError:
            return False
        return True

    def _try_to_set_state(self, replica: str, state: str) -> None:
        try:
            self._set_state(replica, state)
        except OSError as error:
            print(f"HAProxy's admin socket: {error}; {replica} not set {state}", flush=True)

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
            if process.popen and processes.exited(process.popen):
                process.stop()  # reaps it, and what is left of its group
                how, tail = _exit(process.last_exit_code), processes.log_tail(process.log)
                raise processes.ProcessFailed(f"{process.name} exited ({how}):\n{tail}")


class Supervisor:
    """Keeps a running topology's processes running, as an orchestrator would.

    A process that exits (any code, any signal) is reaped, what is left of its process
    group is SIGKILLed (a dead gunicorn master's workers would hold its port for up to
    25 s), HAProxy is told to send a dead replica nothing, and the process is started
    again after a backoff, its replica taken back by HAProxy once its health check passes.
    One restarted RESTART_LIMIT times within RESTART_WINDOW_SECONDS is left failed, said
    loudly, and the rest keeps running. Every change is a line on stdout and is written to
    supervisor.json. Call `check()` from the thread that started the topology (its
    processes die with that thread: processes.start).
    """

    def __init__(self, topology: Topology):
        self.topology = topology
        self._restart_at: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._restarted_at: dict[str, list[float]] = {}
        self._haproxy_to_tell = False  # a new HAProxy, not yet told which replicas are down

    def run(self, interval: float = 0.2) -> None:
        while True:
            self.check()
            time.sleep(interval)

    def check(self) -> None:
        self.topology.keep_watchdog()
        now = time.monotonic()
        for process in self.topology.processes.values():
            if process.state == "running" and processes.exited(process.popen):
                self._exited(process, now)
            elif process.state == "backoff" and now >= self._restart_at[process.name]:
                self._restart(process, now)
        if self._haproxy_to_tell:
            self._haproxy_to_tell = not self.topology.route_around_the_missing()

    def _exited(self, process: Process, now: float) -> None:
        process.reap_exited()
        if self.topology.is_replica(process.name):
            self.topology.route_around(process.name)
        how = _exit(process.last_exit_code)
        recent = self._restarts_within_the_window(process, now)
        if len(recent) >= RESTART_LIMIT:
            process.state = "failed"
            _say(
                f"!!! {process.name} FAILED: it exited ({how}) after {len(recent)} restarts "
                f"within {RESTART_WINDOW_SECONDS} s; it is not restarted, the rest keeps "
                f"running. Its log: {process.log}"
            )
        else:
            delay = self._next_backoff(process)
            self._restart_at[process.name] = now + delay
            process.state = "backoff"
            _say(
                f"{process.name} exited ({how}); restarting in {delay:g} s "
                f"(restart {process.restarts + 1})"
            )
        self.topology.write_status()

    def _restarts_within_the_window(self, process: Process, now: float) -> list[float]:
        restarted = self._restarted_at.get(process.name, [])
        return [at for at in restarted if now - at < RESTART_WINDOW_SECONDS]

    def _next_backoff(self, process: Process) -> float:
        """0.5 s, doubling up to the cap; 0.5 s again after a run that lasted."""
        stayed_up = time.time() - process.started_at >= STABLE_AFTER_SECONDS
        previous = self._backoff.get(process.name)
        delay = BACKOFF_FIRST_SECONDS if previous is None or stayed_up else previous * 2
        self._backoff[process.name] = delay = min(delay, BACKOFF_MAX_SECONDS)
        return delay

    def _restart(self, process: Process, now: float) -> None:
        self._restarted_at[process.name] = [*self._restarts_within_the_window(process, now), now]
        process.restarts += 1
        self.topology.launch(process)
        _say(f"{process.name} restarted (pid {process.popen.pid}, restart {process.restarts})")
        if self.topology.is_replica(process.name):
            self.topology.take_back(process.name)
        elif process.name == "haproxy":
            self._haproxy_to_tell = True


def _exit(code: int) -> str:
    """How a process ended, for people: "exit code 1", or its signal's name ("SIGKILL")."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return signal.Signals(-code).name
    except ValueError:  # a real-time signal
        return f"signal {-code}"


def _say(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


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
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Settings.state_dir,
        help="logs, database, files, supervisor.json (default .split/ in the repository)",
    )
    args = parser.parse_args()
    settings = Settings(
        state_dir=args.state_dir.resolve(),
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
            print(f"  {'redis':12} {topology.redis_url}")
            print(f"Logs in {topology.state / 'logs'}. Ctrl-C stops everything.")
            print(f"Processes, restarts: {topology.status_path}", flush=True)
            Supervisor(topology).run()
    except AlreadyRunning as error:
        raise SystemExit(str(error)) from None
    except KeyboardInterrupt:
        print("\nStopped.")


if __name__ == "__main__":
    main()
