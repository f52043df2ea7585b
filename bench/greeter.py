"""The greeter against the classic Flask microservice and a bare WSGI callable."""

from bench.harness import Load, Server, compare, production_env
from bench.report import Row, rows_from_results

GREET = "/api/greeter/greet?name=Ada&lang=fr"
FLASK = "flask reference"

CITY = "city.wsgi:application"

SERVERS = [
    Server("city greeter", CITY, production_env(DJANGO_SETTINGS_MODULE="city.settings.greeter")),
    Server(
        "city combined", CITY, production_env(DJANGO_SETTINGS_MODULE="city.settings.production")
    ),
    # The same greeter with every request through Django's handler and DRF (no hot route).
    Server(
        "city greeter, all Django",
        CITY,
        production_env(DJANGO_SETTINGS_MODULE="city.settings.greeter", CITY_HOT_ROUTES="false"),
    ),
    Server(FLASK, "bench.reference.flask_greeter:app"),
    Server("bare wsgi", "bench.reference.bare_wsgi:app"),
]


def run(*, quick: bool, progress) -> list[Row]:
    # The short run keeps the headline case (32 connections) and shortens each round.
    loads = [Load(GREET, 32, 1)] if quick else [Load(GREET, 1, 5), Load(GREET, 32, 5)]
    results = compare(SERVERS, loads, rounds=3 if quick else 5, progress=progress)
    rows = []
    for load in loads:
        rows += rows_from_results(f"greeter c={load.connections}", results[load], reference=FLASK)
    return rows


def steps(*, quick: bool) -> int:
    return (3 if quick else 10) * len(SERVERS)
