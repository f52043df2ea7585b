"""Requests counted per service by the process that answers them (the dashboard's source
where no load balancer counts them)."""

import os
import time

import pytest

from city import request_counts
from city.request_log import RequestLog

GREET = "/api/greeter/greet"


def greeter_requests() -> int:
    return request_counts.snapshot().get("greeter", request_counts.Totals()).requests


def test_a_forked_process_counts_from_zero_and_the_parent_keeps_its_counts():
    """gunicorn forks its workers from a master that loaded Django (and this module)."""
    request_counts.count(GREET, 200)
    counted_before_fork = greeter_requests()
    started_before_fork = request_counts.STARTED_AT
    time.sleep(0.01)  # so that a new start time differs from the master's
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        fresh = request_counts.snapshot() == {} and started_before_fork < request_counts.STARTED_AT
        os.write(write_end, b"fresh" if fresh else b"stale")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 5)
    os.waitpid(child, 0)
    assert answer == b"fresh"
    assert greeter_requests() == counted_before_fork


@pytest.mark.parametrize(
    ("stats_url", "counted"),
    [("http://127.0.0.1:8404/;csv", 0), ("", 1)],
    ids=["behind HAProxy, which counts", "alone, counting what it answers"],
)
def test_a_process_counts_only_when_no_haproxy_does(settings, stats_url, counted):
    settings.CITY_HAPROXY_STATS_URL = stats_url
    before = greeter_requests()
    log = RequestLog()
    log.end(method="GET", path=GREET, status=200, started=time.perf_counter(), user_id=None)
    assert greeter_requests() == before + counted
