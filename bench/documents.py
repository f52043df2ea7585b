"""Documents through a real Celery worker: how close the pipeline gets to Celery's ceiling.

`python -m bench.documents [--documents N] [--database-url URL]` starts its own
redis-server and a worker (concurrency 2) on free ports, with a fresh database (SQLite in a
temporary directory unless --database-url names an empty PostgreSQL database), and
measures twice, the same way:

- ours: small one-page PDFs uploaded through the service (stored, committed, queued) and
  processed by `documents.process_document` (sniff, checksum, extract, classify,
  thumbnail, save);
- ceiling: a task that does nothing but note when it started, sent the same way.

For each: documents per second end to end for a burst of N (from the first enqueue to the
last finish), and enqueue-to-start latency p50/p95, under that burst and one at a time on
an idle worker. The ratio ours / ceiling is printed; `measure()` returns the figures.
"""

import argparse
import functools
import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import redis
from celery import shared_task

from bench.report import Row
from deploy import processes
from deploy.processes import BIN, REPO

NOOP_TASK = "bench.noop"
NOOP_KEY = "bench:noop:started"
QUEUE = "documents"
WAIT_SECONDS = 300


@shared_task(name=NOOP_TASK, ignore_result=True)
def noop(sent_at: float) -> None:
    """The ceiling: a task that only records when it started."""
    _noop_redis().rpush(NOOP_KEY, json.dumps([sent_at, time.time()]))


@functools.cache
def _noop_redis() -> redis.Redis:
    from city.celery import app

    return redis.Redis.from_url(app.conf.broker_url)


@dataclass(frozen=True)
class Run:
    per_second: float
    burst_p50_ms: float
    burst_p95_ms: float
    idle_p50_ms: float
    idle_p95_ms: float


@dataclass(frozen=True)
class Result:
    """Rounds of ours and of the ceiling, measured alternately on one worker."""

    documents: int
    database: str
    ours: list[Run]
    ceiling: list[Run]

    @property
    def ratio(self) -> float:
        return _median_rate(self.ours) / _median_rate(self.ceiling)


def _median_rate(runs: list[Run]) -> float:
    return statistics.median(run.per_second for run in runs)


def measure(
    *, documents: int = 200, idle_samples: int = 20, rounds: int = 3, database_url: str = ""
) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-documents-") as tmp:
        root = Path(tmp)
        with processes.redis_server(root, program=_redis_program()) as broker_url:
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "city.settings.production",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "DATABASE_URL": database_url or f"sqlite:///{root / 'bench.sqlite3'}",
                "CELERY_BROKER_URL": broker_url,
                "MEDIA_ROOT": str(root / "media"),
                "LOG_LEVEL": "WARNING",
            }
            subprocess.run(
                [str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"],
                env=env,
                cwd=REPO,
                check=True,
            )
            os.environ.update(env)
            import django

            django.setup()
            with worker(env, root / "worker.log"):
                ours, ceiling = [], []
                for _ in range(rounds):
                    ours.append(_measure_ours(documents, idle_samples))
                    ceiling.append(_measure_ceiling(documents, idle_samples, broker_url))
    return Result(
        documents=documents,
        database=env["DATABASE_URL"].partition(":")[0],
        ours=ours,
        ceiling=ceiling,
    )


def _measure_ours(count: int, idle_samples: int) -> Run:
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.documents.models import Document
    from apps.documents.services import document_upload

    owner = get_user_model().objects.create_user(f"bench-{secrets.token_hex(4)}")
    serial = iter(range(10**9))

    def send() -> int:
        n = next(serial)
        data = _pdf(f"Bench document {n}: lease agreement between landlord and tenant")
        upload = document_upload(owner=owner, file=SimpleUploadedFile(f"{n}.pdf", data))
        return upload.document.pk

    def finished(ids: list[int]) -> list[tuple[float, float, float]] | None:
        rows = Document.objects.filter(pk__in=ids, status__in=["processed", "failed"])
        found = list(rows.values_list("queued_at", "processing_started_at", "processed_at"))
        if len(found) < len(ids):
            return None
        failed = Document.objects.filter(pk__in=ids, status="failed").count()
        if failed:
            raise RuntimeError(f"{failed} bench documents failed; see the worker log")
        return [(q.timestamp(), s.timestamp(), p.timestamp()) for q, s, p in found]

    return _run(send, finished, count, idle_samples)


def _measure_ceiling(count: int, idle_samples: int, broker_url: str) -> Run:
    from city.celery import app

    client = redis.Redis.from_url(broker_url)
    client.delete(NOOP_KEY)
    sent = 0  # also the length of NOOP_KEY once every task sent has started

    def send() -> int:
        nonlocal sent
        app.send_task(NOOP_TASK, args=(time.time(),), queue=QUEUE)
        sent += 1
        return sent

    def finished(ids: list[int]) -> list[tuple[float, float, float]] | None:
        if client.llen(NOOP_KEY) < ids[-1]:
            return None
        rows = [json.loads(raw) for raw in client.lrange(NOOP_KEY, ids[0] - 1, ids[-1] - 1)]
        return [(queued, started, started) for queued, started in rows]

    return _run(send, finished, count, idle_samples)


def _run(
    send: Callable[[], int],
    finished: Callable[[list[int]], list[tuple[float, float, float]] | None],
    count: int,
    idle_samples: int,
) -> Run:
    """A warm-up, a burst of `count`, then `idle_samples` one at a time."""
    _wait(finished, [send() for _ in range(4)])
    burst = _wait(finished, [send() for _ in range(count)])
    first_queued = min(queued for queued, _, _ in burst)
    last_done = max(done for _, _, done in burst)
    idle = [_wait(finished, [send()])[0] for _ in range(idle_samples)]
    burst_ms = _latencies_ms(burst)
    idle_ms = _latencies_ms(idle)
    return Run(
        per_second=round(count / (last_done - first_queued), 1),
        burst_p50_ms=_percentile(burst_ms, 50),
        burst_p95_ms=_percentile(burst_ms, 95),
        idle_p50_ms=_percentile(idle_ms, 50),
        idle_p95_ms=_percentile(idle_ms, 95),
    )


def _wait(finished, ids: list[int]) -> list[tuple[float, float, float]]:
    deadline = time.monotonic() + WAIT_SECONDS
    while (rows := finished(ids)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(ids)} tasks not done after {WAIT_SECONDS} s")
        time.sleep(0.005)
    return rows


def _latencies_ms(rows: list[tuple[float, float, float]]) -> list[float]:
    return [(started - queued) * 1000 for queued, started, _ in rows]


def _percentile(values: list[float], percent: int) -> float:
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[percent - 1], 1)


def _pdf(text: str) -> bytes:
    """A one-page PDF with a line of text, written by hand."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _redis_program() -> str:
    program = shutil.which("redis-server")
    if program is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    return program


@contextmanager
def worker(env: dict, log: Path) -> Iterator[subprocess.Popen]:
    """A worker of concurrency 2 that also knows the no-op task; no heartbeat either, as
    nothing here watches the workers."""
    command = processes.celery_worker_command(
        queues=[QUEUE], concurrency=2, hostname="bench@%h", include="bench.documents"
    )
    command.append("--without-heartbeat")
    with processes.running(
        command, env=env, log=log, ready=lambda: processes.celery_worker_ready(log)
    ) as process:
        yield process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=200, help="burst size (default 200)")
    parser.add_argument("--idle-samples", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="ours and no-op, alternately")
    parser.add_argument("--database-url", default="", help="an empty database (default SQLite)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    result = measure(
        documents=args.documents,
        idle_samples=args.idle_samples,
        rounds=args.rounds,
        database_url=args.database_url,
    )
    if args.json:
        print(json.dumps({**asdict(result), "ratio": round(result.ratio, 3)}))
        return
    print(f"{result.documents} small PDFs, worker concurrency 2, {result.database}")
    header = "per second  burst p50/p95 ms  idle p50/p95 ms"
    print(f"{'':10}{header}")
    for name, runs in (("ours", result.ours), ("no-op", result.ceiling)):
        for run in runs:
            print(
                f"{name:10}{run.per_second:>10}  {run.burst_p50_ms:>8}/{run.burst_p95_ms:<8}"
                f"  {run.idle_p50_ms:>7}/{run.idle_p95_ms}"
            )
    print(f"ratio ours / no-op ceiling (medians): {result.ratio:.3f}")


def run(*, quick: bool, progress) -> list[Row]:
    """The scenario of `python -m bench`: this module in a process of its own (it sets
    Django up for its database), its figures read back as JSON."""
    rounds = 3
    command = [str(BIN / "python"), "-m", "bench.documents", "--json", "--rounds", str(rounds)]
    if quick:
        command += ["--documents", "40", "--idle-samples", "5"]
    result = json.loads(
        subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True).stdout
    )
    progress()
    rows = []
    for variant, key in (
        ("no-op task (ceiling)", "ceiling"),
        ("small PDFs, full pipeline", "ours"),
    ):
        runs = result[key]
        rates = [r["per_second"] for r in runs]
        median = statistics.median(rates)
        ceiling = statistics.median(r["per_second"] for r in result["ceiling"])
        p50, p95 = (statistics.median(r[f"burst_{p}_ms"] for r in runs) for p in ("p50", "p95"))
        rows.append(
            Row(
                scenario=f"documents, worker x2 ({result['database']})",
                variant=variant,
                value=median,
                unit="docs/s",
                low=min(rates),
                high=max(rates),
                reference="no-op task (ceiling)",
                ratio=median / ceiling,
                extra={"note": f"enqueue to start p50 {p50:.0f} ms, p95 {p95:.0f} ms (burst)"},
            )
        )
    return rows


def steps(*, quick: bool) -> int:
    return 1


if __name__ == "__main__":
    main()
