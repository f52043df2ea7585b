"""Where the dashboard reads the running city from.

- Replicas and their traffic: HAProxy's stats (CSV on its stats port) where the
  deployment has a load balancer in front (CITY_HAPROXY_STATS_URL), else this process.
- Queues and workers: the broker (Redis) and the workers' answers to a broadcast.
- Documents: the documents service, through its api.py (in-process or over HTTP).
- Processes: the split topology's supervisor.json (CITY_SUPERVISOR_STATUS), where it runs.

A source that cannot be read raises SourceUnavailable, with a reason a person can act on.
"""

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from django.conf import settings
from django.db import DatabaseError

from apps.documents.api import get_processing_counts
from city import haproxy_stats, request_counts
from city.celery import app as celery_app
from city.errors import CityError
from city.request_counts import Totals
from city.services import SERVICES

SOURCE_TIMEOUT_SECONDS = 2
WORKER_REPLY_SECONDS = 0.5  # how long live workers have to answer the broadcast


class SourceUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Replica:
    name: str
    address: str  # "" where the replica is this process
    status: str  # HAProxy's word: UP, DOWN, DRAIN, MAINT, NOLB ("UP 1/2" while it changes)
    healthy: bool  # takes new requests
    check: str  # the last health check's result ("L7OK", "L4CON"...), "" if none
    since_seconds: int | None  # in this status for (for this process: its uptime)


@dataclass(frozen=True)
class TrafficReadings:
    source: str  # "haproxy" or "process"
    replicas: dict[str, list[Replica]]  # per service; no entry where nothing is known
    totals: dict[str, Totals]  # requests per service, counted since `counted_since`
    counted_since: float | None  # when counting started, when known (this process)


def traffic() -> TrafficReadings:
    if settings.CITY_HAPROXY_STATS_URL:
        return traffic_from_haproxy(settings.CITY_HAPROXY_STATS_URL)
    return traffic_from_this_process()


def traffic_from_haproxy(csv_url: str) -> TrafficReadings:
    try:
        edges = haproxy_stats.read_every_edge(csv_url, timeout=SOURCE_TIMEOUT_SECONDS)
    except haproxy_stats.StatsUnavailable as error:
        raise SourceUnavailable(f"HAProxy's stats at {csv_url}: {error}") from error
    return merged_views(list(edges.values()))


def merged_views(edges: list[list[dict[str, str]]]) -> TrafficReadings:
    """Every HAProxy's view (its stats rows), added up: requests summed over them, and each
    replica, by its address (each HAProxy names the replicas it finds by DNS in its own
    order), as the HAProxy that finds it least healthy sees it: that one sends it nothing."""
    replicas: dict[str, dict[str, Replica]] = {name: {} for name in SERVICES}
    totals = dict.fromkeys(SERVICES, Totals())
    for row in (row for rows in edges for row in rows):
        service = row["pxname"]
        if service not in SERVICES or row["svname"] == "FRONTEND":
            continue
        if row["svname"] == "BACKEND":
            totals[service] += Totals(int(row["req_tot"] or 0), int(row["hrsp_5xx"] or 0))
        elif not row["status"].startswith("MAINT (resolution)"):  # a DNS slot left empty
            replica = _replica_of(row)
            key = replica.address or replica.name
            known = replicas[service].get(key)
            if known is None or (known.healthy and not replica.healthy):
                replicas[service][key] = replica
    return TrafficReadings(
        "haproxy",
        {service: list(by_address.values()) for service, by_address in replicas.items()},
        totals,
        counted_since=None,
    )


def _replica_of(row: dict[str, str]) -> Replica:
    status = row["status"]
    return Replica(
        name=row["svname"],
        address=row.get("addr", ""),
        status=status,
        healthy=status.startswith("UP"),
        check=row["check_status"].lstrip("* "),
        since_seconds=int(row["lastchg"]) if row["lastchg"] else None,
    )


def traffic_from_this_process() -> TrafficReadings:
    uptime = int(time.time() - request_counts.STARTED_AT)
    here = Replica(this_process(), "", "UP", healthy=True, check="", since_seconds=uptime)
    counted = request_counts.snapshot()
    return TrafficReadings(
        "process",
        replicas={name: [here] for name in settings.CITY_SERVICES},
        totals={name: counted.get(name, Totals()) for name in SERVICES},
        counted_since=request_counts.STARTED_AT,
    )


def this_process() -> str:
    return settings.CITY_INSTANCE or f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Queue:
    name: str
    depth: int  # messages waiting (not those a worker holds)
    consumers: int  # live workers that consume it


@dataclass(frozen=True)
class Worker:
    name: str
    queues: list[str]


@dataclass(frozen=True)
class QueueReadings:
    mode: str  # "broker", or "in-process" where tasks run eagerly (no broker configured)
    queues: list[Queue]
    workers: list[Worker]


def queues() -> QueueReadings:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return QueueReadings("in-process", [], [])
    names = [service.queue for service in SERVICES.values()]  # every task goes to one
    depths = _queue_depths(names)
    workers = [
        Worker(name, sorted(queue["name"] for queue in consumed))
        for name, consumed in sorted(_active_queues().items())
    ]
    return QueueReadings(
        "broker",
        [
            Queue(name, depth, consumers=sum(name in worker.queues for worker in workers))
            for name, depth in zip(names, depths, strict=True)
        ],
        workers,
    )


def _queue_depths(names: list[str]) -> list[int]:
    """Messages waiting in each queue: with Redis as the broker, a queue is a list."""
    broker = redis.Redis.from_url(
        settings.CELERY_BROKER_URL,
        socket_timeout=SOURCE_TIMEOUT_SECONDS,
        socket_connect_timeout=SOURCE_TIMEOUT_SECONDS,
    )
    try:
        with broker.pipeline(transaction=False) as pipeline:
            for name in names:
                pipeline.llen(name)
            return pipeline.execute()
    except redis.RedisError as error:
        raise SourceUnavailable(f"The broker does not answer: {error}") from error
    finally:
        broker.close()


def _active_queues() -> dict[str, list[dict]]:
    """The live workers and the queues each consumes (those that answer in time)."""
    return celery_app.control.inspect(timeout=WORKER_REPLY_SECONDS).active_queues() or {}


@dataclass(frozen=True)
class SupervisedProcess:
    name: str
    state: str  # running, backoff (to be restarted), failed, stopped
    restarts: int
    last_exit_code: int | None  # negative: the signal that ended it
    last_exit: str | None  # the same, for people: "exit code 1", "SIGKILL"
    since_seconds: int | None  # running (or last started) for


def supervised_processes(path: str) -> list[SupervisedProcess]:
    """The processes the split topology's supervisor keeps running, from its status file."""
    try:
        status = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise SourceUnavailable(f"The supervisor's status at {path}: {error}") from error
    now = time.time()
    return [
        SupervisedProcess(
            name=name,
            state=entry["state"],
            restarts=entry["restarts"],
            last_exit_code=entry["last_exit_code"],
            last_exit=entry["last_exit"],
            since_seconds=int(now - entry["started_at"]) if entry["started_at"] else None,
        )
        for name, entry in status["processes"].items()
    ]


def document_counts() -> dict[str, int]:
    try:
        return get_processing_counts()
    except CityError as error:  # the documents service, elsewhere, did not answer
        raise SourceUnavailable(str(error)) from error
    except DatabaseError as error:
        raise SourceUnavailable(f"The database does not answer: {error}") from error
