"""The split topology supervises what it starts, run as a person runs it:
`python -m deploy.topology --state-dir … --port … --stats-port …`.

A replica killed whole under load is restarted while HAProxy routes around it; a process
that keeps dying is left failed while the rest serves; and however the topology itself
goes (SIGKILL, SIGTERM), nothing it started is left running.
"""

import json
import os
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from city import haproxy_stats
from deploy import processes
from tests import servers
from tests.deploy.load import Load

GREET = "/api/greeter/greet?name=Ada&lang=fr"
# Bounds a hang would break: starting takes ~10 s on two cores, stopping a few.
START_TIMEOUT_SECONDS = 180
STOP_TIMEOUT_SECONDS = 60


@dataclass
class Split:
    """`python -m deploy.topology` running, its output collected line by line."""

    popen: subprocess.Popen
    state_dir: Path
    http_port: int
    stats_port: int
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def status(self) -> dict[str, dict]:
        return json.loads((self.state_dir / "supervisor.json").read_text())["processes"]

    def said(self, text: str) -> bool:
        return any(text in line for line in self.output)

    def replica_ports(self) -> list[int]:
        """The ports of the replicas, as the start-up lines name them ("greeter-1  http://…")."""
        return [int(line.rsplit(":", 1)[1]) for line in self.output if "  http://" in line]

    def servers_up(self) -> set[tuple[str, str]]:
        """(backend, replica) pairs HAProxy sends traffic to."""
        rows = haproxy_stats.read(f"http://127.0.0.1:{self.stats_port}/;csv", timeout=2)
        return {(row["pxname"], row["svname"]) for row in rows if row["status"] == "UP"}

    def server_status(self, backend: str, replica: str) -> str:
        rows = haproxy_stats.read(f"http://127.0.0.1:{self.stats_port}/;csv", timeout=2)
        [row] = [r for r in rows if (r["pxname"], r["svname"]) == (backend, replica)]
        return row["status"]


@contextmanager
def split_topology(tmp_path: Path) -> Iterator[Split]:
    """The topology started as a person starts it, on free ports, with a state directory
    (and a SQLite database) of its own; stopped with SIGTERM at the end if still running."""
    servers.require_program("haproxy")
    servers.require_program("redis-server")
    state_dir, http_port, stats_port = tmp_path / "split", servers.free_port(), servers.free_port()
    env = servers.subprocess_env(
        DATABASE_URL=None,  # SQLite in the state directory
        CITY_SPLIT_REDIS_URL=None,  # a Redis of its own
        CITY_EDGE_RATE_PER_10S="1000000",  # thousands of GETs from one address
        THROTTLE_ANON="100000/minute",
    )
    command = [
        str(servers.BIN / "python"),
        "-m",
        "deploy.topology",
        "--state-dir",
        str(state_dir),
        "--port",
        str(http_port),
        "--stats-port",
        str(stats_port),
    ]
    popen = subprocess.Popen(
        command,
        cwd=servers.REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    split = Split(popen, state_dir, http_port, stats_port)
    reader = threading.Thread(target=lambda: split.output.extend(split.popen.stdout))
    reader.start()
    try:
        servers.wait_until(
            lambda: split.said("City is up") or split.popen.poll() is not None,
            timeout=START_TIMEOUT_SECONDS,
            what="the topology to start",
        )
        if not split.said("City is up"):
            pytest.fail("the topology did not start:\n" + "".join(split.output))
        yield split
    finally:
        if split.popen.poll() is None:
            split.popen.send_signal(signal.SIGTERM)
            split.popen.wait(STOP_TIMEOUT_SECONDS)
        reader.join()


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Iterator[Split]:
    with split_topology(tmp_path_factory.mktemp("supervised")) as running:
        yield running


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def processes_started_for(split: Split) -> set[int]:
    """Every process whose environment names this topology's status file: all it started,
    and their children (gunicorn's workers, Celery's pool), whatever their group."""
    marker = f"CITY_SUPERVISOR_STATUS={split.state_dir / 'supervisor.json'}".encode()
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                found.add(int(proc.name))
        except OSError:  # gone meanwhile, or a zombie's
            continue
    return found


def nothing_left_of(split: Split) -> bool:
    groups = [entry["pgid"] for entry in split.status().values()]
    ports = [split.http_port, split.stats_port, *split.replica_ports()]
    return (
        not any(group_alive(pgid) for pgid in groups)
        and not processes_started_for(split)
        and not any(processes.listens(port) for port in ports)
    )


def groups_the_watchdog_killed(split: Split) -> set[int]:
    """The groups still registered when the watchdog's input ended, as its log names them."""
    lines = (split.state_dir / "logs" / "watchdog.log").read_text().splitlines()
    return {int(line.rsplit(" ", 1)[1]) for line in lines if "SIGKILL to process group" in line}


def kill_until_failed(split: Split, name: str) -> set[int]:
    """SIGKILL each new process of `name` until the supervisor leaves it failed; their pids."""
    killed_pids = set()

    def kill_each_new_one() -> bool:
        entry = split.status()[name]
        if entry["state"] == "running" and entry["pid"] not in killed_pids:
            killed_pids.add(entry["pid"])
            os.killpg(entry["pgid"], signal.SIGKILL)
        return entry["state"] == "failed"

    # Backoffs 0.5 + 1 + 2 + 4 + 8 s between the six deaths.
    servers.wait_until(kill_each_new_one, timeout=60, what=f"{name} failed")
    return killed_pids


def answers_cut_short(split: Split, server: str) -> int:
    """Answers the server died while sending, after HAProxy had passed their start on
    (logged with termination SD): no proxy can replay those."""
    lines = (split.state_dir / "logs" / "haproxy.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return sum(entry["server"] == server and entry["termination"] == "SD" for entry in entries)


def test_a_replica_killed_whole_under_load_is_restarted_and_no_get_fails(split):
    killed = split.status()["greeter-1"]
    load = Load(split.url, lambda client, _: client.get(GREET), total=3_000)
    outcomes = load.run(when_done=500, then=lambda: os.killpg(killed["pgid"], signal.SIGKILL))

    servers.wait_until(
        lambda: {("greeter", "greeter-1"), ("platform", "greeter-1")} <= split.servers_up(),
        timeout=30,
        what="greeter-1 back UP in HAProxy",
    )
    restarted = split.status()["greeter-1"]
    assert (restarted["state"], restarted["restarts"]) == ("running", 1)
    assert restarted["last_exit_code"] == -signal.SIGKILL
    assert restarted["pid"] != killed["pid"]
    assert split.said("greeter-1 exited (SIGKILL); restarting in 0.5 s (restart 1)")
    with httpx.Client(base_url=split.url) as client:
        answered = {client.get(GREET).headers["X-City-Instance"] for _ in range(20)}
    assert answered == {"greeter-1", "greeter-2"}
    # The kill may land between an answer's headers and its body (HAProxy logs it SD),
    # which no proxy can replay; every other GET is answered.
    cut_short = answers_cut_short(split, "greeter-1")
    assert outcomes == Counter({200: 3_000 - cut_short, "RemoteProtocolError": cut_short})


def test_a_process_that_keeps_dying_is_left_failed_and_the_rest_serves(split):
    killed_pids = kill_until_failed(split, "leasing-2")

    failed = split.status()["leasing-2"]
    assert (failed["restarts"], len(killed_pids)) == (5, 6)
    assert not group_alive(failed["pgid"])
    assert split.said("leasing-2 FAILED")
    assert split.server_status("leasing", "leasing-2") == "MAINT"
    with httpx.Client(base_url=split.url) as client:
        answers = [client.get("/api/leasing/") for _ in range(20)]
    assert {(a.status_code, a.headers["X-City-Instance"]) for a in answers} == {(200, "leasing-1")}
    assert {name for name, entry in split.status().items() if entry["state"] != "running"} == {
        "leasing-2"
    }


def test_redis_killed_keeps_what_it_had_accepted(split):
    [redis_url] = [line.split()[1] for line in split.output if line.split()[:1] == ["redis"]]
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    port = httpx.URL(redis_url).port
    client.set("supervision:kept", "every write acknowledged")
    os.killpg(split.status()["redis"]["pgid"], signal.SIGKILL)

    servers.wait_until(
        lambda: split.status()["redis"]["restarts"] == 1 and processes.redis_pings(port),
        timeout=30,
        what="Redis restarted",
    )
    assert client.get("supervision:kept") == b"every write acknowledged"


def test_the_topology_killed_with_sigkill_takes_every_process_with_it(tmp_path):
    with split_topology(tmp_path) as split:
        children = {entry["pid"] for entry in split.status().values()}
        grandchildren = processes_started_for(split) - children
        assert grandchildren  # gunicorn's workers, Celery's pool
        # Frozen, as a worker hung in a request would be: none can notice by itself that
        # its parent is gone, and exit.
        for pid in grandchildren:
            os.kill(pid, signal.SIGSTOP)
        split.popen.kill()
        split.popen.wait(STOP_TIMEOUT_SECONDS)
        servers.wait_until(lambda: nothing_left_of(split), timeout=10, what="nothing left")
        # It was the watchdog: every group it killed was one running.
        assert groups_the_watchdog_killed(split) == {
            entry["pgid"] for entry in split.status().values()
        }


def test_sigterm_stops_the_topology_gracefully_leaving_the_watchdog_nothing_to_kill(tmp_path):
    """Every group is forgotten once gone, stopped or dead: a watchdog that killed the group
    ids it still held at the end could kill another's group, given one of those ids. What
    failed is still said failed after the stop."""
    with split_topology(tmp_path) as split:
        kill_until_failed(split, "leasing-2")
        split.popen.send_signal(signal.SIGTERM)
        assert split.popen.wait(STOP_TIMEOUT_SECONDS) == 0
        assert split.said("Stopped.")
        states = {name: entry["state"] for name, entry in split.status().items()}
        assert states.pop("leasing-2") == "failed"
        assert set(states.values()) == {"stopped"}
        assert nothing_left_of(split)
        assert groups_the_watchdog_killed(split) == set()
