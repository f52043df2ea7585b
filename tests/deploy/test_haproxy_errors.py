"""HAProxy's own answers are in City's error format too: 503 when no replica is up (the
request reached none, so it is safe to send again), 502 when a replica died with it."""

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

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


def test_a_replica_dying_with_a_post_is_a_502_in_the_error_contract(tmp_path):
    with (
        replica_that_dies_with_requests() as address,
        servers.haproxy(tmp_path, greeter=[Replica("greeter-1", address)]) as edge,
    ):
        answer = httpx.post(f"{edge.url}/api/greeter/newcomers/", json={}, timeout=10)
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/json"
    assert error_of(answer)["code"] == "bad_gateway"
