"""Who sent a request: the client's address, through the proxies City trusts only."""

import ipaddress
from functools import cache

from django.conf import settings


def client_address(request) -> str | None:
    """The address of the client that sent `request` (AXES_CLIENT_IP_CALLABLE; the login
    throttle's identity).

    The connection's address, unless it is one of CITY_TRUSTED_PROXIES (addresses or
    networks of the load balancers in front, e.g. HAProxy's): then X-Forwarded-For, which
    each proxy appends the address it saw to, is read from the right, past the trusted
    proxies, to the first address that is not one of them. What a client writes into the
    header itself stands to the left of that and is never read, and with no trusted
    proxies (the default) the header is ignored altogether: a client that reaches the
    server directly cannot choose its address.
    """
    request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    remote = request.META.get("REMOTE_ADDR", "")
    if _address(remote) is None:
        return None  # not an IP connection (a Unix socket): no address to tell clients apart
    trusted = _trusted_proxies(tuple(settings.CITY_TRUSTED_PROXIES))
    if not _within(remote, trusted):
        return remote
    nearest = remote
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        hop = hop.strip()
        if not _within(hop, trusted):
            # The first address no proxy of ours holds: the client (a value that is no
            # address at all was not written by a proxy: the nearest one is all we know).
            address = _address(hop)
            return str(address) if address else nearest
        nearest = hop
    return nearest


@cache
def _trusted_proxies(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(text: str, networks: tuple) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in networks)
