"""Several HAProxy replicas behind one name (Kubernetes' headless Service): the dashboard
reads every one of them and adds their views up."""

import socket

import httpx
import pytest

from apps.dashboard import sources
from city import haproxy_stats
from deploy.haproxy.render import Replica
from tests import servers

EDGES_NAME = "edges.city.test"
GREET = "/api/greeter/greet?name=Ada"


@pytest.fixture(scope="module")
def second_edge(tmp_path_factory, haproxy_in_front_of_greeter):
    """Another HAProxy on 127.0.0.2, with the first's stats port, that finds greeter-1 at
    an address nobody listens on: to it, greeter-1 is down."""
    first = haproxy_in_front_of_greeter
    root = tmp_path_factory.mktemp("second-edge")
    with servers.address_nobody_listens_on() as nowhere:
        replicas = [Replica("greeter-1", nowhere), Replica("greeter-2", first.greeter_1)]
        stats_port = httpx.URL(first.stats_csv).port
        with servers.haproxy(
            root, greeter=replicas, host="127.0.0.2", stats_port=stats_port
        ) as edge:
            servers.wait_until(
                lambda: _sees_greeter_1_down(edge.stats_csv), what="the second HAProxy's checks"
            )
            yield edge.url


def _sees_greeter_1_down(stats_csv: str) -> bool:
    replicas = {r.name: r for r in sources.traffic_from_haproxy(stats_csv).replicas["greeter"]}
    return not replicas["greeter-1"].healthy and replicas["greeter-2"].healthy


@pytest.fixture
def both_edges(monkeypatch, haproxy_in_front_of_greeter, second_edge) -> str:
    """A name that resolves to both HAProxy replicas, as a headless Service's does."""
    resolve = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != EDGES_NAME:
            return resolve(host, port, *args, **kwargs)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in ("127.0.0.1", "127.0.0.2")
        ]

    monkeypatch.setattr(haproxy_stats.socket, "getaddrinfo", getaddrinfo)
    port = httpx.URL(haproxy_in_front_of_greeter.stats_csv).port
    return f"http://{EDGES_NAME}:{port}/;csv"


def test_every_haproxy_is_read_and_their_requests_add_up(
    both_edges, haproxy_in_front_of_greeter, second_edge
):
    before = sources.traffic_from_haproxy(both_edges).totals["greeter"]
    with (
        httpx.Client(base_url=haproxy_in_front_of_greeter.url) as first,
        httpx.Client(base_url=second_edge, headers={"Host": "localhost"}) as second,
    ):
        for _ in range(4):
            assert first.get(GREET).status_code == 200
        for _ in range(3):
            assert second.get(GREET).status_code == 200
    after = sources.traffic_from_haproxy(both_edges).totals["greeter"]
    assert after.requests - before.requests == 7


def test_replicas_are_told_apart_by_address_not_by_each_haproxys_names(
    both_edges, haproxy_in_front_of_greeter
):
    """The running gunicorn is greeter-1 to one HAProxy and greeter-2 to the other: one
    replica, healthy, beside the two addresses nobody listens on."""
    replicas = sources.traffic_from_haproxy(both_edges).replicas["greeter"]
    by_address = {replica.address: replica.healthy for replica in replicas}
    assert len(replicas) == len(by_address) == 3
    assert by_address.pop(haproxy_in_front_of_greeter.greeter_1) is True
    assert set(by_address.values()) == {False}


def stats_row(service: str, server: str, address: str, status: str) -> dict[str, str]:
    """A server's row of HAProxy's stats CSV, with the columns the dashboard reads."""
    check = "L7OK" if status == "UP" else "L4CON"
    return {
        "pxname": service,
        "svname": server,
        "addr": address,
        "status": status,
        "check_status": check,
        "lastchg": "12",
        "req_tot": "",
        "hrsp_5xx": "",
    }


def test_a_replica_shows_as_the_haproxy_that_finds_it_least_healthy():
    """Whichever HAProxy is read first, a replica one of them takes out shows as out."""
    up = [stats_row("greeter", "greeter-1", "10.0.0.7:8000", "UP")]
    down = [stats_row("greeter", "greeter-3", "10.0.0.7:8000", "DOWN")]
    for edges in ([up, down], [down, up]):
        (replica,) = sources.merged_views(edges).replicas["greeter"]
        assert (replica.status, replica.healthy) == ("DOWN", False)


def test_one_haproxy_that_does_not_answer_makes_the_panel_unavailable(monkeypatch):
    """Half the traffic is no traffic figure: the panel says which address failed."""
    monkeypatch.setattr(
        haproxy_stats.socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.3", port))
        ],
    )
    with pytest.raises(sources.SourceUnavailable, match=r"the HAProxy at 127\.0\.0\.3 does not"):
        sources.traffic_from_haproxy(f"http://{EDGES_NAME}:{servers.free_port()}/;csv")


def test_a_name_with_both_address_families_reads_each_haproxy_once(
    monkeypatch, haproxy_in_front_of_greeter
):
    """A name with an IPv4 and an IPv6 address (localhost, a dual-stack cluster) names each
    HAProxy twice, and HAProxy listens on IPv4 only here: IPv4 is read, once."""
    port = httpx.URL(haproxy_in_front_of_greeter.stats_csv).port
    monkeypatch.setattr(
        haproxy_stats.socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ],
    )
    edges = haproxy_stats.read_every_edge(f"http://{EDGES_NAME}:{port}/;csv", timeout=2)
    assert list(edges) == ["127.0.0.1"]
