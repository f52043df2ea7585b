"""Starting and stopping City's real server processes on loopback, one way for all.

The split topology, the tests and the benchmarks run the same programs (redis-server,
gunicorn, a Celery worker, HAProxy). Each runs in its own process group, so stopping it
stops the children it forked too, and writes its output to a log file, as a container's
log driver would take it; the log's tail is what explains a process that failed to start.
"""

import ctypes
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GUNICORN_CONFIG = REPO / "deploy" / "gunicorn.conf.py"
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 30  # above gunicorn's graceful timeout (deploy/gunicorn.conf.py)


class ProcessFailed(RuntimeError):
    """A process exited, or did not become ready, while it was meant to run."""


def free_port() -> int:
    """A loopback port nobody listens on now (the caller binds it soon after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- command lines ---------------------------------------------------------------------


def redis_server_command(
    port: int, directory: Path, *, program: str = "redis-server", append_only: bool = False
) -> list[str]:
    """A Redis on loopback; by default it saves nothing (its data lives as long as the
    process). `append_only` keeps every write in an append-only file in `directory`, on
    disk before Redis answers it (fsync always), so a Redis started again there has all it
    had accepted, even from a process killed with SIGKILL."""
    durability = ["--appendonly", "yes", "--appendfsync", "always"] if append_only else []
    return [
        program,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        *(durability or ["--appendonly", "no"]),
        "--dir",
        str(directory),
    ]


def celery_worker_command(
    *,
    queues: list[str],
    concurrency: int | str,
    hostname: str,
    beat_schedule: Path | None = None,
    include: str | None = None,
) -> list[str]:
    """A worker of City's Celery app; with `beat_schedule`, it runs beat inside itself.

    No gossip or mingle: the workers share nothing but the queues, and start faster.
    INFO logging, because readiness is read from the log (`celery_worker_ready`).
    """
    command = [str(BIN / "celery"), "-A", "city", "worker"]
    if beat_schedule is not None:
        command += ["--beat", "--schedule", str(beat_schedule)]
    if include is not None:
        command += ["--include", include]
    return [
        *command,
        "--queues",
        ",".join(queues),
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        hostname,
    ]


def gunicorn_command(app: str = "city.wsgi:application") -> list[str]:
    """gunicorn with the deployment's configuration (it reads GUNICORN_BIND and the like)."""
    return [str(BIN / "gunicorn"), "--config", str(GUNICORN_CONFIG), app]


def haproxy_command(config: Path | str, *, program: str = "haproxy") -> list[str]:
    """HAProxy in the foreground (-db), so it is the process we start and stop."""
    return [program, "-db", "-f", str(config)]


# --- readiness checks ------------------------------------------------------------------


def listens(port: int) -> bool:
    """gunicorn and HAProxy bind their port once they are set up to serve."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def redis_pings(port: int) -> bool:
    """Redis answers PING only once it serves, which a mere open port does not prove."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def celery_worker_ready(log: Path) -> bool:
    """A worker logs "<hostname> ready." once it consumes its queues."""
    return log.exists() and b" ready." in log.read_bytes()


# --- running ---------------------------------------------------------------------------


def start(
    command: list[str], *, env: dict[str, str], log: Path, die_with_parent: bool = False
) -> subprocess.Popen:
    """Start `command` from the repository in a process group of its own, its output
    appended to `log`. With `die_with_parent`, the kernel SIGKILLs it when the thread that
    started it ends, however that happens (PR_SET_PDEATHSIG): start it from the main thread."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_dying_with(os.getpid()) if die_with_parent else None,
        )


PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here: a forked child should not load it


def _dying_with(parent: int) -> Callable[[], None]:
    def in_the_child() -> None:
        if _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            # It would outlive its parent: it does not start, and its log says why.
            reason = os.strerror(ctypes.get_errno())
            os.write(2, f"prctl(PR_SET_PDEATHSIG, SIGKILL) failed: {reason}\n".encode())
            os._exit(1)
        if os.getppid() != parent:  # the parent died before the request was made
            os._exit(1)

    return in_the_child


def exited(popen: subprocess.Popen) -> bool:
    """Whether the process has exited, leaving it unreaped: while the zombie holds its pid,
    that pid (and its process group's id) cannot be reused, so the group can be killed
    safely before `popen.wait()` reaps it."""
    if popen.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def kill_group(pgid: int) -> None:
    """SIGKILL what is left of a process group (a dead gunicorn's workers, which hold its
    listening socket; a dead Celery worker's pool)."""
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def end(
    popen: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_SECONDS
) -> None:
    """Signal the whole group (SIGTERM lets gunicorn and Celery finish what they are
    doing) and wait up to `timeout` for the process to exit, then SIGKILL what is left of
    the group. The process is left unreaped, its zombie holding the group's id (`exited`),
    until `popen.wait()`; one reaped already is left alone: its group's id may be another's."""
    if popen.returncode is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(popen.pid, sig)
    pidfd = os.pidfd_open(popen.pid)  # readable once the process exits; reaps nothing
    try:
        select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)
    kill_group(popen.pid)


def stop(
    popen: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_SECONDS
) -> int:
    """End the whole group (`end`) and reap the process; its exit code."""
    end(popen, sig, timeout)
    return popen.wait()


def manage(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    """Run a manage.py command from the repository to its end; its output (CalledProcessError,
    with the output, if it fails)."""
    return subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        input=stdin,
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def log_tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""


def wait_until_ready(popen: subprocess.Popen, ready: Callable[[], bool], *, log: Path) -> None:
    """Until `ready()` holds; ProcessFailed, with the log's tail, if the process exits first
    or it does not hold within START_TIMEOUT_SECONDS."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise ProcessFailed(f"{popen.args[0]} exited with {popen.returncode}:\n{log_tail(log)}")
        if ready():
            return
        time.sleep(0.1)
    raise ProcessFailed(f"{popen.args[0]} did not become ready:\n{log_tail(log)}")


@contextmanager
def running(
    command: list[str], *, env: dict[str, str], log: Path, ready: Callable[[], bool]
) -> Iterator[subprocess.Popen]:
    """`command` running until the block ends, once `ready()` says it is up; its whole
    process group is stopped on the way out, even when the block fails."""
    popen = start(command, env=env, log=log)
    try:
        wait_until_ready(popen, ready, log=log)
        yield popen
    finally:
        stop(popen)


@contextmanager
def redis_server(
    directory: Path, *, port: int | None = None, program: str = "redis-server"
) -> Iterator[str]:
    """A Redis of the caller's own, until the block ends; yields its URL."""
    port = port or free_port()
    with running(
        redis_server_command(port, directory, program=program),
        env=dict(os.environ),
        log=directory / f"redis-{port}.log",
        ready=lambda: redis_pings(port),
    ):
        yield f"redis://127.0.0.1:{port}/0"


class Watchdog:
    """A tiny process that kills the process groups it is told of when the one that
    started it goes, however it goes (SIGKILL included).

    PR_SET_PDEATHSIG reaches only a direct child, not gunicorn's workers or a Celery pool.
    So the starter registers each group's id through a pipe; when the starter dies, the
    kernel closes the pipe's write end, the watchdog reads end-of-file and SIGKILLs every
    group still registered. It runs in a session of its own, so Ctrl-C in a terminal
    (meant for the starter, which stops its processes itself) does not reach it.
    """

    def __init__(self, log: Path):
        self._log = log
        self._groups: set[int] = set()  # what it was told, to tell a watchdog started again
        self._spawn()

    def _spawn(self) -> None:
        readable, self._writable = os.pipe()  # non-inheritable: no other child holds it open
        with self._log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "deploy.processes", "watchdog"],
                stdin=readable,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )
        os.close(readable)

    def watch(self, pgid: int) -> None:
        self._groups.add(pgid)
        self._tell(f"+{pgid}")

    def forget(self, pgid: int) -> None:
        """The group is gone: forget it before its id can be reused (before its leader is
        reaped), or the watchdog would kill whatever group has the id then."""
        self._groups.discard(pgid)
        self._tell(f"-{pgid}")

    def keep_alive(self) -> bool:
        """Start the watchdog again if it died, telling it every group it watches; whether
        it had died."""
        if self.popen.poll() is None:
            return False
        self.close()
        self._spawn()
        for pgid in self._groups:
            self._tell(f"+{pgid}")
        return True

    def _tell(self, line: str) -> None:
        with suppress(BrokenPipeError):  # the watchdog died; keep_alive starts another
            os.write(self._writable, f"{line}\n".encode())

    def close(self) -> None:
        """End-of-file for the watchdog: it kills what is still registered, and exits."""
        os.close(self._writable)
        self.popen.wait(STOP_TIMEOUT_SECONDS)


def _watch_groups() -> None:
    """The watchdog's loop (see Watchdog): "+pgid" and "-pgid" lines, until end-of-file."""
    groups: set[int] = set()
    for line in sys.stdin:
        pgid = int(line[1:])
        if line.startswith("+"):
            groups.add(pgid)
        else:
            groups.discard(pgid)
    for pgid in groups:  # none once every process was stopped
        print(f"end of input: SIGKILL to process group {pgid}", flush=True)
        kill_group(pgid)


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `condition` until it holds; TimeoutError naming `what` if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


if __name__ == "__main__" and sys.argv[1:] == ["watchdog"]:
    _watch_groups()
