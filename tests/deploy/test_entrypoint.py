"""The image's entrypoint (deploy/docker-entrypoint.sh), run by bash on this machine: it
waits for CITY_WAIT_FOR, gives up after CITY_WAIT_SECONDS with a message that says what it
waited for, and a connection attempt that hangs cannot hold it past that deadline."""

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests import servers

ENTRYPOINT = servers.REPO / "deploy" / "docker-entrypoint.sh"
# A generous bound for a run that should end within seconds: reached, the test fails.
RUN_TIMEOUT_SECONDS = 60


def entrypoint(*command: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["bash", str(ENTRYPOINT), *command],
        env=servers.subprocess_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_SECONDS)
    return process.returncode, stdout, stderr


@contextmanager
def listening(address: tuple[str, int] = ("127.0.0.1", 0), backlog: int = 8) -> Iterator[str]:
    with socket.create_server(address, backlog=backlog) as server:
        host, port = server.getsockname()[:2]
        yield f"{host}:{port}"


@contextmanager
def dropping_connections() -> Iterator[str]:
    """host:port whose accept queue is full: the kernel drops further connection attempts
    without answering, so they hang as they do behind a firewall that drops packets."""
    with listening(backlog=0) as target:
        host, port = target.split(":")
        queued = [socket.socket() for _ in range(3)]
        for client in queued:
            client.setblocking(False)
            client.connect_ex((host, int(port)))
        try:
            yield target
        finally:
            for client in queued:
                client.close()


def test_the_command_runs_as_the_replica_once_every_target_accepts():
    with listening() as database, listening() as broker:
        process = entrypoint(
            "sh",
            "-c",
            'echo "$CITY_INSTANCE"',
            CITY_WAIT_FOR=f"{database} {broker}",
            HOSTNAME="greeter-7",
        )
        returncode, stdout, stderr = finished(process)

    assert (returncode, stdout.strip()) == (0, "greeter-7"), stderr


def test_it_waits_for_a_target_that_starts_listening_later():
    with servers.address_nobody_listens_on() as database:
        process = entrypoint("echo", "started", CITY_WAIT_FOR=database)
        time.sleep(2)  # several refused tries
        assert process.poll() is None, "the command ran before the database listened"

    host, port = database.split(":")
    with listening((host, int(port))):
        returncode, stdout, stderr = finished(process)

    assert (returncode, stdout.strip()) == (0, "started"), stderr


def test_it_gives_up_after_the_deadline_and_says_on_what():
    with servers.address_nobody_listens_on() as database:
        process = entrypoint("echo", "started", CITY_WAIT_FOR=database, CITY_WAIT_SECONDS="2")
        returncode, stdout, stderr = finished(process)

    assert returncode == 1
    assert stdout == ""
    assert f"docker-entrypoint: {database} is not reachable after 2s" in stderr


def test_a_connection_that_hangs_does_not_outlast_the_deadline():
    # Without a bound on each try, the first one would hang for the kernel's two minutes
    # of retransmissions, and `finished` would fail the test.
    with dropping_connections() as database:
        process = entrypoint("echo", "started", CITY_WAIT_FOR=database, CITY_WAIT_SECONDS="3")
        returncode, stdout, stderr = finished(process)

    assert returncode == 1
    assert stdout == ""
    assert f"{database} is not reachable after 3s" in stderr
