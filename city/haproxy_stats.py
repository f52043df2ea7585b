"""HAProxy's statistics, read from its stats page as CSV (`<stats url>/;csv`).

One row per frontend, backend and server: `pxname` names the proxy (a backend is a
service), `svname` the server (a replica), or FRONTEND / BACKEND for the proxy's totals.
"""

import csv
import socket

import httpx


def read(csv_url: str, *, timeout: float) -> list[dict[str, str]]:
    """Every row of the stats CSV; raises httpx.HTTPError when HAProxy does not answer."""
    response = httpx.get(csv_url, timeout=timeout)
    response.raise_for_status()
    header, _, rows = response.text.partition("\n")
    return list(csv.DictReader(rows.splitlines(), fieldnames=header.lstrip("# ").split(",")))


class StatsUnavailable(Exception):
    pass


def read_every_edge(csv_url: str, *, timeout: float) -> dict[str, list[dict[str, str]]]:
    """The stats of every HAProxy the URL's host name resolves to, by address.

    Several HAProxy replicas (a headless Service in Kubernetes) each count their own
    requests and check every replica themselves: one read would see only one of them.
    Raises StatsUnavailable when the name does not resolve or one does not answer."""
    url = httpx.URL(csv_url)
    try:
        found = socket.getaddrinfo(url.host, url.port or 80, type=socket.SOCK_STREAM)
    except OSError as error:
        raise StatsUnavailable(f"{url.host} does not resolve: {error}") from error
    # One family: a name with both (localhost; a dual-stack cluster) names each HAProxy
    # twice, and HAProxy may listen on only one of them.
    ipv4 = {address[4][0] for address in found if address[0] == socket.AF_INET}
    edges = {}
    for address in sorted(ipv4 or {address[4][0] for address in found}):
        try:
            edges[address] = read(str(url.copy_with(host=address)), timeout=timeout)
        except httpx.HTTPError as error:
            raise StatsUnavailable(f"the HAProxy at {address} does not answer: {error}") from error
    return edges
