"""The chaos run, short: the split topology under load while each kind of part is killed
(`python -m deploy.chaos`, as `make chaos` runs it), and nothing accepted is lost."""

import json
import os
import subprocess

from deploy.chaos import FAULTS, schedule
from deploy.processes import BIN, REPO

SEED = 4242
DURATION_SECONDS = 30
REPLICAS = ["documents-1", "documents-2", "greeter-1", "greeter-2", "leasing-1", "leasing-2"]


def test_the_same_seed_gives_the_same_schedule_with_every_kind_of_fault():
    first = schedule(SEED, DURATION_SECONDS, REPLICAS)
    assert first == schedule(SEED, DURATION_SECONDS, REPLICAS)
    assert first != schedule(SEED + 1, DURATION_SECONDS, REPLICAS)
    assert {fault.kind for fault in first} == set(FAULTS)
    assert all(0 < fault.at < DURATION_SECONDS for fault in first)
    stops = {fault.signal for fault in schedule(SEED, 120, REPLICAS) if fault.kind == "redis-stop"}
    assert stops == {"SIGTERM", "SIGKILL"}


def test_a_short_chaos_run_loses_nothing_and_fails_no_get(tmp_path):
    figures_path = tmp_path / "chaos.json"
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    run = subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "deploy.chaos",
            f"--seed={SEED}",
            f"--duration={DURATION_SECONDS}",
            f"--state-dir={tmp_path / 'state'}",
            f"--json={figures_path}",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # a bound only a hang reaches
    )
    report = f"{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    assert figures_path.exists(), report  # the run got as far as its table
    figures = json.loads(figures_path.read_text())
    injected = {f["kind"] for f in figures["faults"] if f["result"].startswith(("SIG", "stalled"))}
    assert injected == set(FAULTS), report
    assert sum(figures["restarts"].values()) >= 4, report  # a replica, the worker, relay, Redis
    assert figures["requests"] > 100, report
    assert figures["race_conflicts"] > 0, report  # races were run, and lost
    assert figures["uploads_accepted"] > 0, report
    assert figures["leases_activated"] > 0, report
    assert figures["failed_gets"] == {}, report
    assert figures["uploads_not_processed"] == 0, report
    lost_events = ("events_unsent", "events_undelivered", "activated_without_welcome")
    assert [figures[row] for row in lost_events] == [0, 0, 0], report
    assert figures["double_bookings"] == 0, report
    assert all(
        f["status"] in ("502", "503") and f["in_contract"] for f in figures["failed_posts"]
    ), report
    assert figures["hangs"] == 0, report
    assert run.returncode == 0, report
