"""HAProxy's configuration for City, made from the service registry (city/services.py).

One function for every topology: the process topology names each replica's address;
containers and clusters name one DNS name per service that resolves to its replicas
(`server-template`), so scaling out needs no configuration change.

    python -m deploy.haproxy.render > deploy/haproxy/haproxy.cfg   # the containers' one
    python -m deploy.haproxy.render --dns-domain .city.svc.cluster.local \
        > deploy/k8s/base/haproxy.cfg                              # Kubernetes' one

Anonymous requests are rate-limited per client here, at the edge, where one limit covers
every replica: CITY_EDGE_RATE_PER_10S, read by HAProxy from its environment when it starts
(default below), is how many a client may send in any 10 s; past it HAProxy answers 429
in City's error format with Retry-After, and the request never reaches a service.
"""

import argparse
from dataclasses import dataclass

from city.services import SERVICES

# Refused at the edge, before a byte reaches Django; Django checks the size again.
MAX_BODY_BYTES = 25 * 1024 * 1024
TOO_LARGE = (
    '{"error":{"code":"too_large","message":"The request body is larger than '
    f'{MAX_BODY_BYTES // (1024 * 1024)} MB.","details":{{"limit_bytes":{MAX_BODY_BYTES}}}}}}}'
)
# Anonymous requests one client (one source address) may send in any 10 s, by default.
EDGE_RATE_PER_10S = 100
EDGE_RATE_PERIOD_SECONDS = 10
THROTTLED = (
    '{"error":{"code":"throttled","message":"Too many requests from this client; try again '
    f'in {EDGE_RATE_PERIOD_SECONDS} seconds.","details":{{"retry_after":{EDGE_RATE_PERIOD_SECONDS},'
    '"limit":%[env(CITY_EDGE_RATE_PER_10S)],'
    f'"period_seconds":{EDGE_RATE_PERIOD_SECONDS}}}}}}}'
)
DNS_REPLICAS_MAX = 10  # server slots a DNS name may fill: the most replicas of one service


@dataclass(frozen=True)
class Replica:
    name: str
    address: str  # host:port


def render(
    *,
    bind: str,
    stats_bind: str,
    replicas: dict[str, list[Replica]] | None = None,
    dns_port: int = 8000,
    dns_domain: str = "",
    admin_socket: str | None = None,
) -> str:
    """The configuration. `replicas` names each service's replicas; without it, each
    service is found by DNS under its own name followed by `dns_domain` (port `dns_port`).
    HAProxy's resolver asks for a name as written, without resolv.conf's search domains:
    Docker's DNS answers `greeter`, a Kubernetes cluster's only the full name
    (dns_domain ".city.svc.cluster.local"). `admin_socket` opens HAProxy's runtime API
    there (to drain a replica before restarting it)."""
    socket = f"    stats socket {admin_socket} mode 600 level admin\n" if admin_socket else ""
    parts = [_GLOBAL + socket, _DEFAULTS, _frontend(bind), _stats(stats_bind)]
    if replicas is None:
        parts.append(_RESOLVERS)
    for name in SERVICES:
        servers = _servers(name, replicas, f"{dns_domain}:{dns_port}")
        parts.append(f"backend {name}\n{_BACKEND_CHECKS}{servers}")
    # Pages every deployment serves (admin, schema, docs, probes): any replica will do.
    every = "".join(_servers(name, replicas, f"{dns_domain}:{dns_port}") for name in SERVICES)
    parts.append(f"backend platform\n{_BACKEND_CHECKS}{every}")
    return "\n".join(parts)


def _servers(service: str, replicas: dict[str, list[Replica]] | None, dns_suffix: str) -> str:
    if replicas is None:
        return (
            f"    server-template {service}- 1-{DNS_REPLICAS_MAX} {service}{dns_suffix} check "
            "resolvers dns init-addr none\n"
        )
    return "".join(f"    server {r.name} {r.address} check\n" for r in replicas[service])


def _frontend(bind: str) -> str:
    routes = "".join(
        f"    use_backend {name} if {{ path_beg /{service.url_prefix} }}\n"
        for name, service in SERVICES.items()
    )
    return f"""frontend city
    bind {bind}
    # The request id: the client's when it sends one, else made here; every service logs it.
    unique-id-format %{{+X}}o%ci-%cp-%Ts-%rt-%pid
    http-request set-header X-Request-ID %[unique-id] unless {{ req.hdr(x-request-id) -m found }}
    http-request capture req.hdr(x-request-id) len 128
    # Anonymous requests (no Authorization header, no session cookie), and every greeting
    # (which ignores credentials), are counted per client address over 10 s; past the rate
    # they are refused here. Requests with credentials are limited per user by the services
    # (throttles in the shared cache), and calls between services, which come through here
    # from the services' own addresses, carry the caller's credentials.
    stick-table type ipv6 size 100k expire {EDGE_RATE_PERIOD_SECONDS * 3}s store http_req_rate({EDGE_RATE_PERIOD_SECONDS}s)
    acl greeting path /{SERVICES["greeter"].url_prefix}greet
    acl credentials req.hdr(authorization) -m found
    acl credentials req.cook(sessionid) -m found
    http-request track-sc0 src if greeting || !credentials
    # Only a request counted above has a rate.
    http-request return status 429 content-type application/json hdr Retry-After {EDGE_RATE_PERIOD_SECONDS} lf-string '{THROTTLED}' if {{ sc_http_req_rate(0) gt "${{CITY_EDGE_RATE_PER_10S}}" }}
    # Uploads over the limit are refused here, in City's error format.
    http-request return status 413 content-type application/json string '{TOO_LARGE}' if {{ req.hdr_val(content-length) gt {MAX_BODY_BYTES} }}
    # A request that reached a server is retried elsewhere only when repeating it is safe.
    http-request disable-l7-retry unless METH_GET || METH_OPTIONS
    # HAProxy is the edge: what a client says about the scheme is replaced, never trusted.
    http-request set-header X-Forwarded-Proto https if {{ ssl_fc }}
    http-request set-header X-Forwarded-Proto http unless {{ ssl_fc }}
    option forwardfor
{routes}    default_backend platform
"""  # noqa: E501 - configuration lines are as long as they are


_GLOBAL = f"""global
    log stdout format raw local0 info
    maxconn 4096
    # The edge's rate limit, unless the environment sets it (see the module's docstring).
    presetenv CITY_EDGE_RATE_PER_10S {EDGE_RATE_PER_10S}
"""

# Timeouts: connect is short (a local network; a dead server is skipped quickly), server
# waits a little past gunicorn's 30 s worker timeout, and idle keep-alive connections
# (client side) close before gunicorn's 75 s so the server never closes one first.
_DEFAULTS = """defaults
    mode http
    log global
    # JSON lines; retries is a string, as HAProxy writes "+3" for a request redispatched.
    log-format '{"source":"haproxy","request_id":"%[capture.req.hdr(0)]","method":"%HM","path":"%HPO","status":%ST,"backend":"%b","server":"%s","duration_ms":%Ta,"retries":"%rc","termination":"%ts"}'
    option dontlognull
    # The services log every request with its request id; the edge logs what they cannot
    # see: errors, retries, redispatches, refused requests.
    option dontlog-normal
    timeout connect 2s
    timeout client 60s
    timeout server 35s
    timeout http-request 10s
    timeout http-keep-alive 30s
    timeout queue 10s
    # Failed attempts go to another replica: connection refused, a replica dying with the
    # request (empty response), or one that answers 502/503 while shutting down.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout 502 503 504
    # Keep-alive to the replicas: a connection is reused by the next request, safely.
    http-reuse safe
    # HAProxy's own errors in City's error format, like every answer a client gets. Its 503
    # can follow a replica's own 503 to a request it retries (GET, HEAD, OPTIONS), when no
    # replica takes the retry; any other request answered 503 here reached none.
    http-error status 502 content-type application/json string '{"error":{"code":"bad_gateway","message":"The service failed while answering; the request may have taken effect.","details":{}}}'
    http-error status 503 content-type application/json string '{"error":{"code":"unavailable","message":"No server could answer; try again shortly. Only a GET, HEAD or OPTIONS request, safe to repeat, may have reached one.","details":{}}}'
    http-error status 504 content-type application/json string '{"error":{"code":"gateway_timeout","message":"The service did not answer in time; the request may have taken effect.","details":{}}}'
"""  # noqa: E501 - the log format is one line

# Every 1 s a replica's /healthz (no I/O) is asked; 2 failures (2 s) take it out of
# rotation, 2 successes bring it back: a dead replica gets new traffic for at most ~2 s,
# and those requests are retried elsewhere (retry-on, redispatch) rather than lost.
_BACKEND_CHECKS = """    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 1s fall 2 rise 2 maxconn 64
"""

_RESOLVERS = """resolvers dns
    parse-resolv-conf
    hold valid 5s
    accepted_payload_size 8192
"""


def _stats(bind: str) -> str:
    return f"""frontend stats
    bind {bind}
    stats enable
    stats uri /
    stats refresh 5s
    stats show-legends
"""


def main() -> None:
    parser = argparse.ArgumentParser(description="Print City's HAProxy configuration.")
    parser.add_argument("--bind", default="*:8080")
    parser.add_argument("--stats-bind", default="*:8404")
    parser.add_argument(
        "--dns-domain",
        default="",
        help="after each service's DNS name, e.g. .city.svc.cluster.local",
    )
    args = parser.parse_args()
    print(render(bind=args.bind, stats_bind=args.stats_bind, dns_domain=args.dns_domain), end="")


if __name__ == "__main__":
    main()
