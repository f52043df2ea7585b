"""HAProxy's statistics, read from its stats page as CSV (`<stats url>/;csv`).

One row per frontend, backend and server: `pxname` names the proxy (a backend is a
service), `svname` the server (a replica), or FRONTEND / BACKEND for the proxy's totals.
"""

import csv

import httpx


def read(csv_url: str, *, timeout: float) -> list[dict[str, str]]:
    """Every row of the stats CSV; raises httpx.HTTPError when HAProxy does not answer."""
    response = httpx.get(csv_url, timeout=timeout)
    response.raise_for_status()
    header, _, rows = response.text.partition("\n")
    return list(csv.DictReader(rows.splitlines(), fieldnames=header.lstrip("# ").split(",")))
