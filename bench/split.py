"""The split topology's costs: HAProxy in front, and scaling out to a second replica."""

from bench.greeter import CITY, GREET
from bench.harness import Load, Server, compare, production_env
from bench.report import Row, rows_from_results

ENV = production_env(DJANGO_SETTINGS_MODULE="city.settings.greeter")
DIRECT = "2 workers, direct"
ONE_REPLICA = "1 replica (1 worker) behind HAProxy"

SERVERS = [
    Server(DIRECT, CITY, ENV, workers=2),
    Server("2 replicas (1 worker each) behind HAProxy", CITY, ENV, workers=1, replicas=2),
    Server(ONE_REPLICA, CITY, ENV, workers=1, replicas=1),
]


def run(*, quick: bool, progress) -> list[Row]:
    load = Load(GREET, 32, 1 if quick else 5)
    results = compare(SERVERS, [load], rounds=3 if quick else 5, progress=progress)[load]
    overhead = rows_from_results("HAProxy overhead c=32", results, reference=DIRECT)
    scale_out = rows_from_results("1 vs 2 replicas c=32", results, reference=ONE_REPLICA)
    return [row for row in overhead if row.variant != ONE_REPLICA] + [
        row for row in scale_out if row.variant != DIRECT
    ]


def steps(*, quick: bool) -> int:
    return (3 if quick else 5) * len(SERVERS)
