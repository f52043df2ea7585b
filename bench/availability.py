"""How the available-units search grows with the data: 10,000 units, then 100,000.

Seeds units with ten leases each (bulk inserts, through the real schema with its
double-booking constraint), times the search as the API runs it (the count and the first
page, cheapest first) and prints the ratio of the two sizes: the cost of ten times more data.

    python bench/availability.py                       # a temporary SQLite file
    python bench/availability.py --postgres postgres://postgres@127.0.0.1:5432/city_bench

The PostgreSQL database is dropped and created anew, so its name must start with
`city_bench`; the development database is never touched.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from tqdm import tqdm

REPO = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000)
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
    parser.add_argument(
        "--sizes", type=int, nargs=2, default=SIZES, metavar=("SMALL", "LARGE"), help="units"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="city-bench-") as tmp:
        os.environ["DATABASE_URL"] = (
            _fresh_postgres(args.postgres) if args.postgres else f"sqlite:///{tmp}/bench.sqlite3"
        )
        _setup_django()
        _run(sizes=args.sizes, repeat=args.repeat, rng=random.Random(args.seed))


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


def _run(*, sizes: tuple[int, int], repeat: int, rng: random.Random) -> None:
    from django.db import connection

    print(f"database: {connection.vendor} {_server_version(connection)}")
    seeded, timings = 0, {}
    for size in sizes:
        _seed(first=seeded, count=size - seeded, rng=rng)
        seeded = size
        _analyze(connection)
        timings[size] = {name: _time(search, repeat) for name, search in SEARCHES.items()}
    small, large = sizes
    print(
        f"\n{'search':34} {'units':>8} {'leases':>10} {'page ms':>8} {'count ms':>9} {'found':>7}"
    )
    for name in SEARCHES:
        for size in sizes:
            page, count, found = timings[size][name]
            print(
                f"{name:34} {size:>8,} {size * LEASES_PER_UNIT:>10,}"
                f" {page:>8.2f} {count:>9.2f} {found:>7,}"
            )
        page_ratio, count_ratio = (
            timings[large][name][i] / timings[small][name][i] for i in (0, 1)
        )
        print(
            f"{'':34} {large // small}x the data: page {page_ratio:.2f}x,"
            f" count {count_ratio:.2f}x the time\n"
        )


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


def _time(search: dict, repeat: int) -> tuple[float, float, int]:
    """Median milliseconds of the API's query (the first page, cheapest first) and, for
    comparison, of counting every match; and how many match."""
    from apps.leasing.rest.filters import AvailableUnitFilter
    from apps.leasing.selectors import units_available

    units = AvailableUnitFilter(search, queryset=units_available(start=PERIOD[0], end=PERIOD[1])).qs

    def median_ms(query) -> float:
        query()  # warm the caches
        runs = []
        for _ in range(repeat):
            began = time.perf_counter()
            query()
            runs.append((time.perf_counter() - began) * 1000)
        return statistics.median(runs)

    page = median_ms(lambda: list(units.order_by("monthly_rent", "id")[: PAGE + 1]))
    return page, median_ms(units.count), units.count()


if __name__ == "__main__":
    main()
