"""How the available-units search grows with the data: 1,000 units, 10,000, 100,000.

Seeds units with ten leases each (bulk inserts, through the real schema with its
double-booking constraint), times the search as the API runs it (the first page, cheapest
first; and, for comparison, counting every match) and prints the ratio of each size to the
one before: the cost of ten times more data.

    python -m bench.availability                       # a temporary SQLite file
    python -m bench.availability --postgres postgres://postgres@127.0.0.1:5432/city_bench

The PostgreSQL database is dropped and created anew, so its name must start with
`city_bench`; the development database is never touched.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from tqdm import tqdm

from bench.report import Row

REPO = Path(__file__).resolve().parent.parent
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
LEASES_PER_UNIT = 10
UNITS_PER_PROPERTY = 10
BATCH = 5_000
CITIES = ["Lyon", "Nantes", "Lille", "Nice", "Rennes", "Dijon", "Brest", "Metz", "Tours", "Pau"]
# The searches timed: a whole-market one and a narrow one, both for a spring in 2026.
SEARCHES = {
    "any unit": {},
    "Lyon, 2+ bedrooms, rent <= 1200": {"city": "Lyon", "bedrooms": 2, "max_rent": 1200},
}
PERIOD = (date(2026, 3, 1), date(2026, 6, 1))
TODAY = date(2025, 12, 1)
PAGE = 50  # the API's page size (a cursor page reads one more row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL URL (db city_bench…)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per search")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="units, ascending")
    parser.add_argument("--json", action="store_true", help="print the timings as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="city-bench-") as tmp:
        os.environ["DATABASE_URL"] = (
            _fresh_postgres(args.postgres) if args.postgres else f"sqlite:///{tmp}/bench.sqlite3"
        )
        _setup_django()
        timings = _measure(sizes=args.sizes, repeat=args.repeat, rng=random.Random(args.seed))
    if args.json:
        print(json.dumps(timings))
    else:
        _print(timings, sizes=args.sizes)


def _fresh_postgres(url: str) -> str:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("city_bench"):
        sys.exit(f"Refusing to drop '{name}': the bench database's name starts with city_bench.")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url


def _setup_django() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="city.settings.dev", DEBUG="false", LOG_LEVEL="WARNING"
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _measure(*, sizes: tuple[int, ...], repeat: int, rng: random.Random) -> dict:
    """Seed up to each size in turn and time every search there."""
    from django.db import connection

    seeded, timings = 0, {}
    for size in sizes:
        _seed(first=seeded, count=size - seeded, rng=rng)
        seeded = size
        _analyze(connection)
        timings[size] = {name: _time(search, repeat) for name, search in SEARCHES.items()}
    version = _server_version(connection).split()[0]
    return {"database": f"{connection.vendor} {version}", "timings": timings}


def _print(result: dict, *, sizes: tuple[int, ...]) -> None:
    """Each search at each size; the ratios are to the size before."""
    timings = result["timings"]
    print(f"database: {result['database']}")
    print(
        f"\n{'search':34} {'units':>8} {'leases':>10} {'page ms':>8} {'ratio':>6}"
        f" {'count ms':>9} {'ratio':>6} {'found':>7}"
    )
    for name in SEARCHES:
        before = None
        for size in sizes:
            found = timings[size][name]
            page_ratio, count_ratio = (
                f"{found[key] / before[key]:.2f}x" if before else ""
                for key in ("page_ms", "count_ms")
            )
            print(
                f"{name:34} {size:>8,} {size * LEASES_PER_UNIT:>10,} {found['page_ms']:>8.2f}"
                f" {page_ratio:>6} {found['count_ms']:>9.2f} {count_ratio:>6} {found['found']:>7,}"
            )
            before = found
        print()


def run(*, quick: bool, progress) -> list[Row]:
    """The scenario of `python -m bench`: SQLite, and PostgreSQL when BENCH_POSTGRES_URL
    names a city_bench… database; each in a process of its own, read back as JSON, and
    reported in one section, each size against the one ten times smaller."""
    sizes = QUICK_SIZES if quick else SIZES
    rows = []
    postgres_url = os.environ.get("BENCH_POSTGRES_URL", "")
    for postgres in ["", postgres_url] if postgres_url else [""]:
        command = [
            sys.executable,
            "-m",
            "bench.availability",
            "--json",
            "--sizes",
            *map(str, sizes),
        ]
        command += ["--postgres", postgres] if postgres else []
        output = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
        rows += _rows(json.loads(output.stdout), sizes)
        progress()
    return rows


def steps(*, quick: bool) -> int:
    return 2 if os.environ.get("BENCH_POSTGRES_URL") else 1


def _rows(result: dict, sizes: tuple[int, ...]) -> list[Row]:
    """A row per search and size; its ratio is to the same search at the size before."""
    database = result["database"]
    rows = []
    for name in SEARCHES:
        before = None
        for size in sizes:
            timing = result["timings"][str(size)][name]
            variant = f"{database}, {name}, {size:,} units"
            rows.append(
                Row(
                    scenario="availability, first page",
                    variant=variant,
                    value=timing["page_ms"],
                    unit="ms",
                    low=timing["page_low"],
                    high=timing["page_high"],
                    reference=before.variant if before else None,
                    ratio=timing["page_ms"] / before.value if before else None,
                    extra={"note": f"count {timing['count_ms']:.1f} ms, {timing['found']:,} found"},
                )
            )
            before = rows[-1]
    return rows


def _server_version(connection) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sqlite_version()" if connection.vendor == "sqlite" else "SHOW server_version"
        )
        return cursor.fetchone()[0]


def _seed(*, first: int, count: int, rng: random.Random) -> None:
    """Units first..first+count (explicit ids), their properties and ten leases per unit."""
    from django.contrib.auth import get_user_model

    from apps.leasing.models import Lease, Property, Unit

    users = get_user_model().objects
    manager, _ = users.get_or_create(username="bench-manager")
    if not users.filter(username="bench-tenant-0").exists():
        users.bulk_create(get_user_model()(username=f"bench-tenant-{n}") for n in range(1000))
    tenants = list(users.filter(username__startswith="bench-tenant-").values_list("pk", flat=True))
    progress = tqdm(total=count, unit="unit", desc=f"seeding to {first + count:,} units")
    for batch_start in range(first, first + count, BATCH):
        ids = range(batch_start + 1, min(batch_start + BATCH, first + count) + 1)
        Property.objects.bulk_create(
            Property(
                id=_property_of(unit_id),
                manager=manager,
                name=f"House {_property_of(unit_id)}",
                address=f"{unit_id} Main Street",
                city=rng.choice(CITIES),
            )
            for unit_id in ids
            if (unit_id - 1) % UNITS_PER_PROPERTY == 0
        )
        Unit.objects.bulk_create(
            Unit(
                id=unit_id,
                property_id=_property_of(unit_id),
                label=f"U{unit_id}",
                bedrooms=rng.randint(0, 5),
                area_m2=Decimal(rng.randint(18, 160)),
                monthly_rent=Decimal(rng.randint(350, 3000)),
                deposit=Decimal(1000),
                currency="EUR",
                active=rng.random() > 0.05,
            )
            for unit_id in ids
        )
        Lease.objects.bulk_create(
            (lease for unit_id in ids for lease in _leases(unit_id, tenants, rng)),
            batch_size=BATCH,
        )
        progress.update(len(ids))
    progress.close()


def _property_of(unit_id: int) -> int:
    return (unit_id - 1) // UNITS_PER_PROPERTY + 1


def _leases(unit_id: int, tenants: list[int], rng: random.Random):
    """Ten back-to-back leases from 2021 on: the past ones ended, the rest holding the unit."""
    from apps.leasing.models import Lease

    start = date(2021, 1, 1) + timedelta(days=rng.randint(0, 90))
    for n in range(LEASES_PER_UNIT):
        open_ended = n == LEASES_PER_UNIT - 1 and rng.random() < 0.1
        end = None if open_ended else start + timedelta(days=rng.randint(60, 300))
        if end is not None and end <= TODAY:
            status = Lease.Status.ENDED
        else:
            status = Lease.Status.ACTIVE if start <= TODAY else Lease.Status.PENDING_SIGNATURE
        yield Lease(
            unit_id=unit_id,
            tenant_id=rng.choice(tenants),
            start_date=start,
            end_date=end,
            monthly_rent=Decimal(900),
            deposit=Decimal(1000),
            currency="EUR",
            due_day=start.day,
            status=status,
        )
        if end is None:
            return
        start = end + timedelta(days=rng.randint(0, 30))


def _analyze(connection) -> None:
    """Fresh planner statistics, as autovacuum (PostgreSQL) or a DBA (SQLite) would keep."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _time(search: dict, repeat: int) -> dict:
    """Milliseconds of the API's query (the first page, cheapest first: median, min, max)
    and, for comparison, of counting every match (median); and how many match."""
    from apps.leasing.rest.filters import AvailableUnitFilter
    from apps.leasing.selectors import units_available

    units = AvailableUnitFilter(search, queryset=units_available(start=PERIOD[0], end=PERIOD[1])).qs

    def runs_ms(query) -> list[float]:
        query()  # warm the caches
        runs = []
        for _ in range(repeat):
            began = time.perf_counter()
            query()
            runs.append((time.perf_counter() - began) * 1000)
        return runs

    page = runs_ms(lambda: list(units.order_by("monthly_rent", "id")[: PAGE + 1]))
    return {
        "page_ms": statistics.median(page),
        "page_low": min(page),
        "page_high": max(page),
        "count_ms": statistics.median(runs_ms(units.count)),
        "found": units.count(),
    }


if __name__ == "__main__":
    main()
