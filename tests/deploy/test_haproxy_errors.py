"""HAProxy's own answers are in City's error format too: 503 when no replica answers (safe
to send again: only a GET, HEAD or OPTIONS, which HAProxy retries, may have reached one),
502 when a replica died with the request."""

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from city import haproxy_stats
from deploy.haproxy.render import Replica
from tests import servers
from tests.contract import error_of


class _DiesWithRequests(socketserver.BaseRequestHandler):
    """Healthy to HAProxy's checks; closes the connection on any other request unanswered,
    as a replica SIGKILLed in the middle of one does."""

    def handle(self) -> None:
        request = self.request.recv(65536)
        if request.startswith(b"GET /healthz "):
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        self.request.shutdown(socket.SHUT_RDWR)


class _AnswersOne503AndGoesAway(socketserver.BaseRequestHandler):
    """Healthy to HAProxy's checks; answers the first other request 503 and stops listening,
    as a replica shutting down does."""

    def handle(self) -> None:
        request = self.request.recv(65536)
        if request.startswith(b"GET /healthz "):
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            return
        self.server.requests.append(request.split(b"\r\n", 1)[0])
        self.server.socket.close()
        self.request.sendall(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )


@contextmanager
def serving(handler: type[socketserver.BaseRequestHandler]) -> Iterator[socketserver.TCPServer]:
    """`handler` on a loopback port, one connection at a time, until the block ends."""
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as server:
        server.requests = []
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()


@contextmanager
def replica_that_dies_with_requests() -> Iterator[str]:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _DiesWithRequests) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()


def test_no_replica_up_is_a_503_in_the_error_contract(tmp_path):
    with servers.haproxy(tmp_path, greeter=[]) as edge:
        answer = httpx.get(f"{edge.url}/api/greeter/greet?name=Ada", timeout=10)
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/json"
    assert error_of(answer)["code"] == "unavailable"


def checked_healthy(edge: servers.Edge, replica: str) -> bool:
    rows = haproxy_stats.read(edge.stats_csv, timeout=2)
    return any(row["svname"] == replica and row["check_status"] == "L7OK" for row in rows)


def test_a_get_that_reached_a_replica_can_still_get_haproxys_503_which_says_so(tmp_path):
    with serving(_AnswersOne503AndGoesAway) as replica:
        address = f"127.0.0.1:{replica.server_address[1]}"
        with servers.haproxy(tmp_path, greeter=[Replica("greeter-1", address)]) as edge:
            servers.wait_until(
                lambda: checked_healthy(edge, "greeter-1"), timeout=10, what="a health check"
            )
            answer = httpx.get(f"{edge.url}/api/greeter/greet?name=Ada", timeout=10)
    # HAProxy retried the replica's 503 and found no replica: its own 503 answers.
    assert replica.requests == [b"GET /api/greeter/greet?name=Ada HTTP/1.1"]
    assert answer.status_code == 503
    error = error_of(answer)
    assert error["code"] == "unavailable"
    assert "GET, HEAD or OPTIONS request, safe to repeat, may have reached one" in error["message"]


def test_a_replica_dying_with_a_post_is_a_502_in_the_error_contract(tmp_path):
    with (
        replica_that_dies_with_requests() as address,
        servers.haproxy(tmp_path, greeter=[Replica("greeter-1", address)]) as edge,
    ):
        answer = httpx.post(f"{edge.url}/api/greeter/newcomers/", json={}, timeout=10)
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/json"
    assert error_of(answer)["code"] == "bad_gateway"
