"""The chaos run: the split topology under a mixed workload while its parts are killed.

    python -m deploy.chaos --seed 7 --duration 120        (or `make chaos SEED=7`)

Starts the split topology as a user does (`python -m deploy.topology`, SQLite in a state
directory of its own, or DATABASE_URL: give it a database of its own), prepares people
and units through the API, and sends a mixed workload (deploy/chaos_workload.py) for
`--duration` seconds. Meanwhile, at moments drawn from a seeded RNG (the same seed gives
the same schedule), it SIGKILLs a replica's process group, the Celery worker's, the outbox
relay, and stops the broker's Redis (SIGTERM or SIGKILL; the supervisor starts it again)
or stalls it (SIGSTOP, then SIGCONT). Then, everything back, it waits for the work to
drain, audits the database (deploy/chaos_audit.py) and prints one table, also written as
JSON (--json). It exits 1 when a goal is missed: a failed GET, a lost upload or event, a
double booking, a failed POST other than a 502/503 in the error contract, a hang, or a
process not back after the run. docs/resilience.md, "The chaos run".
"""

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from city import haproxy_stats
from city.services import SERVICES
from deploy import processes
from deploy.chaos_workload import Outcome, Records, Workload, prepare
from deploy.processes import BIN, REPO, free_port

DEFAULT_JSON = REPO / "test-artifacts" / "chaos.json"
START_TIMEOUT_SECONDS = 120
RECOVERY_TIMEOUT_SECONDS = 90
DRAIN_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 90
# How long a fault waits for its target to be running again (restarted after another).
TARGET_BACK_SECONDS = 20
FAULTS = ("replica", "worker", "relay", "redis-stop", "redis-stall")
FAULT_WEIGHTS = (3, 1, 1, 1, 1)
REPLICA_NAME = re.compile(rf"({'|'.join(SERVICES)})-\d+")
# The chaos topology's settings, on top of deploy.topology's. Limits that would refuse one
# client's steady load are lifted (this run is not a test of them; tests/security is).
# The times that bound the drain are short, each above the one it must outlast: a
# document is read in 15 s at most, a task is killed at 25 s, a message a dead worker had
# taken is delivered again 30 s after (the broker's visibility timeout), and a document
# whose message was lost is queued again 30 s after (the sweep looks every 5 s).
TOPOLOGY_ENV = {
    "CITY_EDGE_RATE_PER_10S": "100000",
    "THROTTLE_ANON": "100000/minute",
    "THROTTLE_REGISTRATION": "100000/hour",
    "DOCUMENTS_UPLOADS_PER_MINUTE": "0",
    "DOCUMENTS_PROCESSING_TIMEOUT_SECONDS": "15",
    "CELERY_TASK_SOFT_TIME_LIMIT": "20",
    "CELERY_TASK_TIME_LIMIT": "25",
    "CELERY_VISIBILITY_TIMEOUT": "30",
    "DOCUMENTS_STALE_AFTER_SECONDS": "30",
    "DOCUMENTS_SWEEP_INTERVAL_SECONDS": "5",
}
MAKE_MANAGER = """
from django.contrib.auth.models import Permission, User
manager = User.objects.get(username={username!r})
manager.user_permissions.add(Permission.objects.get(codename="manage_properties"))
"""
AUDIT = "from deploy.chaos_audit import main; main()"


@dataclass(frozen=True)
class Fault:
    at: float  # seconds into the workload
    kind: str  # one of FAULTS
    target: str  # a process of supervisor.json
    signal: str = "SIGKILL"
    stall_seconds: float = 0.0


def schedule(seed: int, duration: float, replicas: list[str]) -> list[Fault]:
    """When, what and how, from the seed alone: every kind at least once (both ways of
    stopping Redis among them when there is room), at moments spread over the first 85 %
    of the run; the rest is for the last fault's recovery."""
    rng = random.Random(seed)  # noqa: S311 - a schedule to replay, not a secret
    count = max(len(FAULTS), int(duration // 10))
    # One of each, a second Redis stop where there is room (one SIGTERM, one SIGKILL), then
    # replicas most often: there are six of them.
    required = [*FAULTS, "redis-stop"] if count > len(FAULTS) else list(FAULTS)
    more = rng.choices(FAULTS, weights=FAULT_WEIGHTS, k=count - len(required))
    kinds = rng.sample(required, len(required)) + more
    stops = iter(
        rng.sample(["SIGTERM", "SIGKILL"], 2) + rng.choices(["SIGTERM", "SIGKILL"], k=count)
    )
    slot = duration * 0.8 / count
    faults = []
    for index, kind in enumerate(kinds):
        at = round(duration * 0.05 + slot * (index + rng.random() * 0.8), 1)
        if kind == "replica":
            faults.append(Fault(at, kind, rng.choice(replicas)))
        elif kind in ("worker", "relay"):
            faults.append(Fault(at, kind, kind))
        elif kind == "redis-stop":
            faults.append(Fault(at, kind, "redis", signal=next(stops)))
        else:
            stall = round(rng.uniform(2, 6), 1)
            faults.append(Fault(at, kind, "redis", signal="SIGSTOP", stall_seconds=stall))
    return faults


class SplitTopology:
    """`python -m deploy.topology` in a process of its own, as a user starts it."""

    def __init__(self, state: Path):
        self.state = state
        self.port, self.stats_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = state / "topology.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, **TOPOLOGY_ENV}
        env.pop("CITY_SPLIT_REDIS_URL", None)  # the broker killed must be the topology's own
        command = [
            str(BIN / "python"),
            "-m",
            "deploy.topology",
            "--state-dir",
            str(self.state),
            "--port",
            str(self.port),
            "--stats-port",
            str(self.stats_port),
        ]
        # Killed with this run however it ends; it then stops all it started (its watchdog).
        self.popen = processes.start(command, env=env, log=self.log, die_with_parent=True)
        processes.wait_until(self._up, timeout=START_TIMEOUT_SECONDS, what="City is up")

    def _up(self) -> bool:
        if self.popen.poll() is not None:
            raise processes.ProcessFailed(
                f"the topology exited ({self.popen.returncode}):\n{processes.log_tail(self.log)}"
            )
        return "City is up" in self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen:
            processes.stop(self.popen, timeout=STOP_TIMEOUT_SECONDS)

    def processes(self) -> dict[str, dict]:
        """supervisor.json's processes: pid, pgid, state, restarts, last exit code."""
        return json.loads((self.state / "supervisor.json").read_text())["processes"]

    def replicas_up(self) -> set[str]:
        try:
            rows = haproxy_stats.read(f"http://127.0.0.1:{self.stats_port}/;csv", timeout=2)
        except httpx.HTTPError:
            return set()
        return {
            row["svname"] for row in rows if row["pxname"] in SERVICES and row["status"] == "UP"
        }

    def recovered(self) -> bool:
        """Every process running again and every replica back in HAProxy's rotation."""
        running = self.processes()
        replicas = {name for name in running if REPLICA_NAME.fullmatch(name)}
        return (
            all(p["state"] == "running" for p in running.values())
            and replicas <= self.replicas_up()
        )

    def manage(self, *args: str, stdin: str = "") -> str:
        """manage.py against the topology's database; its output."""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "city.settings.production",
            "SECRET_KEY": (self.state / "secret_key").read_text(),
            "DATABASE_URL": os.environ.get("DATABASE_URL")
            or f"sqlite:///{self.state / 'city.sqlite3'}",
            "LOG_LEVEL": "WARNING",
        }
        return processes.manage(*args, env=env, stdin=stdin)

    def audit(self, records: Records, effects: list[dict]) -> dict:
        given = {"accepted_documents": records.accepted_documents, "effects": effects}
        output = self.manage("shell", "-c", AUDIT, stdin=json.dumps(given))
        return json.loads(output.strip().splitlines()[-1])


class FaultInjector(threading.Thread):
    """Injects the schedule's faults at their moments, recording what each did."""

    def __init__(self, topology: SplitTopology, faults: list[Fault], start: float):
        super().__init__(name="faults", daemon=True)
        self.topology, self.faults, self.start_at = topology, faults, start
        self.done: list[dict] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        for fault in self.faults:
            if self.stopping.wait(max(0.0, self.start_at + fault.at - time.monotonic())):
                return
            self.done.append({**asdict(fault), "result": self._inject(fault)})
            print(
                f"  {fault.at:6.1f}s  {fault.kind:11} {fault.target:12} {self.done[-1]['result']}",
                flush=True,
            )

    def _inject(self, fault: Fault) -> str:
        process = self._running(fault.target)
        if process is None:
            return "skipped: not running"
        if fault.kind == "redis-stall":
            os.kill(process["pid"], signal.SIGSTOP)
            try:
                self.stopping.wait(fault.stall_seconds)
            finally:
                os.kill(process["pid"], signal.SIGCONT)
            return f"stalled {fault.stall_seconds} s (pid {process['pid']})"
        if fault.kind == "redis-stop":
            os.kill(process["pid"], signal.Signals[fault.signal])
            return f"{fault.signal} pid {process['pid']}"
        processes.kill_group(process["pgid"])
        return f"SIGKILL group {process['pgid']}"

    def _running(self, target: str) -> dict | None:
        """The target once it runs: one still restarting (the worker exits with Redis) is
        waited for, so every kind of fault is dealt; None if it does not come back soon."""
        deadline = time.monotonic() + TARGET_BACK_SECONDS
        while not self.stopping.is_set() and time.monotonic() < deadline:
            process = self.topology.processes().get(target)
            if process and process["state"] == "running":
                return process
            self.stopping.wait(0.2)
        return None


# --- the report ------------------------------------------------------------------------


def report(
    records: Records, faults: list[dict], audit: dict, restarts: dict, timings: dict
) -> dict:
    outcomes = records.outcomes
    failed = [o for o in outcomes if _failed(o)]
    failed_posts = Counter(
        _post_failure(o) for o in failed if o.method == "POST" and o.error != "hang"
    )
    documents = audit["documents"]
    figures = {
        "requests": len(outcomes),
        "requests_by_operation": dict(Counter(o.operation for o in outcomes)),
        "failed_gets": dict(
            Counter(_answer(o) for o in failed if o.method == "GET" and o.error != "hang")
        ),
        "failed_posts": [
            dict(zip(("status", "code", "in_contract", "retry"), key, strict=True), count=n)
            for key, n in failed_posts.items()
        ],
        "uploads_accepted": documents["accepted"],
        "uploads_not_processed": documents["missing"]
        + documents["unprocessed"]
        + documents["failed"],
        "documents_waiting_anywhere": documents["unprocessed_anywhere"],
        "events_unsent": audit["outbox_unsent"],
        "events_undelivered": audit["outbox_undelivered"],
        "leases_activated": audit["activated_leases"],
        "activated_without_welcome": audit["activated_without_welcome"],
        "lease_races": records.races,
        "race_conflicts": records.race_conflicts,
        "double_bookings": audit["double_bookings"],
        "restarts": restarts,
        "failures": [asdict(o) for o in failed],
        "hangs": sum(o.error == "hang" for o in outcomes),
        **timings,
        "faults": faults,
    }
    figures["goals"] = _goals(figures)
    return figures


def _failed(outcome: Outcome) -> bool:
    ok = (200, 201, 202, 409) if outcome.operation == "lease_send" else (200, 201, 202)
    return outcome.status not in ok


def _answer(outcome: Outcome) -> str:
    return str(outcome.status) if outcome.status else outcome.error


def _post_failure(outcome: Outcome) -> tuple:
    if outcome.status == 503 and not outcome.reached_server:
        retry = "safe: HAProxy answered, no server reached"
    elif outcome.took_effect is False:
        retry = "safe: checked, no effect"
    elif outcome.took_effect:
        retry = "not safe: it took effect"
    else:
        retry = "unknown"
    return (_answer(outcome), outcome.code, outcome.in_contract, retry)


def _goals(figures: dict) -> dict[str, bool]:
    return {
        "no failed GET": not figures["failed_gets"],
        "no lost upload": figures["uploads_not_processed"] == 0,
        "no lost event": figures["events_unsent"] == 0
        and figures["events_undelivered"] == 0
        and figures["activated_without_welcome"] == 0,
        "no double booking": figures["double_bookings"] == 0,
        "failed POSTs are 502/503 in the contract": all(
            failure["status"] in ("502", "503") and failure["in_contract"]
            for failure in figures["failed_posts"]
        ),
        "no hang": figures["hangs"] == 0,
        "every process back": figures["recovery_seconds"] is not None,
    }


def print_table(figures: dict, seed: int) -> None:
    rows = [
        ("requests sent", figures["requests"]),
        ("failed GETs", _counts(figures["failed_gets"]) or 0),
        ("failed POSTs", sum(f["count"] for f in figures["failed_posts"])),
        *(
            (
                f"  {f['status']} {f['code'] or '(not in the contract)'}",
                f"{f['count']}  {f['retry']}",
            )
            for f in figures["failed_posts"]
        ),
        (
            "uploads accepted / not processed",
            f"{figures['uploads_accepted']} / {figures['uploads_not_processed']}",
        ),
        (
            "events unsent / sent, not run (outbox)",
            f"{figures['events_unsent']} / {figures['events_undelivered']}",
        ),
        (
            "leases activated / without a welcome",
            f"{figures['leases_activated']} / {figures['activated_without_welcome']}",
        ),
        ("lease races / 409s", f"{figures['lease_races']} / {figures['race_conflicts']}"),
        ("double bookings", figures["double_bookings"]),
        ("restarts seen", _counts(figures["restarts"]) or 0),
        ("hangs", figures["hangs"]),
        (
            "back / drained after (s)",
            f"{_or_not(figures['recovery_seconds'])} / {_or_not(figures['drain_seconds'])}",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"\nChaos run, seed {seed}:")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    for goal, met in figures["goals"].items():
        print(f"  {'met   ' if met else 'MISSED'}  {goal}")


def _or_not(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:g}"


def _counts(counter: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items()) if value)


# --- the run ---------------------------------------------------------------------------


def run(*, seed: int, duration: float, clients: int, state: Path) -> dict:
    topology = SplitTopology(state)
    print(
        f"Chaos run: seed {seed}, {duration:g} s, {clients} clients; state in {state}", flush=True
    )
    try:
        topology.start()
        replicas = sorted(name for name in topology.processes() if REPLICA_NAME.fullmatch(name))
        faults = schedule(seed, duration, replicas)
        cast = prepare(
            topology.url,
            tenants=6,
            units=3,
            make_manager=lambda username: topology.manage(
                "shell", "-c", MAKE_MANAGER.format(username=username)
            ),
        )
        print("Workload and faults:", flush=True)
        start = time.monotonic()
        injector = FaultInjector(topology, faults, start)
        injector.start()
        try:
            records = Workload(topology.url, cast, seed=seed, threads=clients).run(start + duration)
        finally:
            injector.stopping.set()
            injector.join()
        print(
            "Waiting for every process and replica to be back, then for the work to drain",
            flush=True,
        )
        timings = {"recovery_seconds": _seconds_until(topology.recovered, RECOVERY_TIMEOUT_SECONDS)}
        timings["drain_seconds"] = _seconds_until(
            lambda: _nothing_waiting(topology.audit(records, [])), DRAIN_TIMEOUT_SECONDS, every=2
        )
        checked = [o for o in records.outcomes if _failed(o) and o.effect]
        audit = topology.audit(records, [o.effect for o in checked])
        for outcome, took_effect in zip(checked, audit["effects"], strict=True):
            outcome.took_effect = took_effect
        restarts = {name: p["restarts"] for name, p in topology.processes().items()}
    finally:
        topology.stop()
    return report(records, injector.done, audit, restarts, timings)


def _seconds_until(condition, timeout: float, every: float = 0.5) -> float | None:
    """How long `condition()` took to hold; None if it did not within `timeout`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            return None
        time.sleep(every)
    return round(time.monotonic() - start, 1)


def _nothing_waiting(audit: dict) -> bool:
    """Every accepted document processed, every event sent and every tenant welcomed."""
    documents = audit["documents"]
    waiting = documents["missing"] + documents["unprocessed"] + documents["unprocessed_anywhere"]
    events = audit["outbox_unsent"] + audit["outbox_undelivered"]
    return waiting == 0 and events == 0 and audit["activated_without_welcome"] == 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=None, help="default: a random one, printed")
    parser.add_argument("--duration", type=float, default=120, help="seconds of workload")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--state-dir", type=Path, default=None, help="default: a new temporary one")
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"default: {DEFAULT_JSON.relative_to(REPO)}"
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)  # noqa: S311
    state = args.state_dir or Path(tempfile.mkdtemp(prefix="city-chaos-"))
    state.mkdir(parents=True, exist_ok=True)
    figures = run(seed=seed, duration=args.duration, clients=args.clients, state=state)
    figures = {"seed": seed, "duration_seconds": args.duration, **figures}
    print_table(figures, seed)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nWritten to {args.json}; logs in {state / 'logs'}")
    sys.exit(0 if all(figures["goals"].values()) else 1)


if __name__ == "__main__":
    main()
