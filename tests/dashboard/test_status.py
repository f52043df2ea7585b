"""/api/city/status/ and the page: each panel read from its own source, real where the
source is a server (Redis, a Celery worker, HAProxy in front of gunicorn)."""

import os
import re
import socket
import time
from datetime import timedelta

import httpx
import pytest
import redis
from django.utils import timezone
from rest_framework.test import APIClient

from apps.dashboard import sources
from apps.dashboard.templatetags.dashboard import duration, per_second, percent
from city import request_counts
from city.celery import app as celery_app
from city.models import OutboxEvent
from city.request_counts import Totals
from deploy.topology import Process, Settings, Topology
from tests import servers
from tests.contract import error_of
from tests.dashboard.conftest import read_status

STATUS = "/api/city/status/"
STATUS_FIELDS = {
    "generated_at",
    "deployment",
    "services",
    "queues",
    "documents",
    "outbox",
    "processes",
}
SERVICE_NAMES = ["greeter", "documents", "leasing"]
GREET = "/api/greeter/greet"
GREETING_COUNTS = "/api/greeter/greetings/counts/"  # reads the greeter's counter store
UNITS_AVAILABLE = "/api/leasing/units/available/"


def by_name(rows: list[dict]) -> dict[str, dict]:
    return {row["name"]: row for row in rows}


def page_section(html: str, panel: str) -> str:
    """The page's <section> of one panel."""
    start = html.index(f'data-panel="{panel}"')
    return html[start : html.index("</section>", start)]


# --- the combined deployment: every service here, tasks in-process ---------------------


def test_services_panel_shows_this_process_as_the_one_healthy_replica_of_every_service(api, db):
    """Without a load balancer, this process is every installed service's one replica."""
    status = read_status(api)
    here = f"{socket.gethostname()}:{os.getpid()}"
    assert status["deployment"] == {
        "services": SERVICE_NAMES,
        "instance": here,
        "load_balancer": False,
    }
    panel = status["services"]
    assert (panel["available"], panel["source"]) == (True, "process")
    assert [service["name"] for service in panel["services"]] == SERVICE_NAMES
    for service in panel["services"]:
        assert service["installed"] is True
        [replica] = service["replicas"]
        uptime = replica.pop("since_seconds")
        assert replica == {
            "name": here,
            "address": "",
            "status": "UP",
            "healthy": True,
            "check": "",
        }
        assert isinstance(uptime, int)
        assert uptime >= 0


def test_queues_panel_says_tasks_run_in_process(api, db):
    """No broker configured: no queues to read, and the panel says why."""
    assert read_status(api)["queues"] == {
        "available": True,
        "mode": "in-process",
        "queues": [],
        "workers": [],
    }


def test_documents_panel_counts_every_owners_documents_by_status(api, documents_in_every_status):
    """The counts come from the database, every status named, with their sum."""
    assert read_status(api)["documents"] == {
        "available": True,
        "counts": documents_in_every_status,
        "total": 4,
    }


def test_page_shows_every_panel_available_with_the_document_counts(
    client, documents_in_every_status
):
    """The page is rendered from the same status, with the counts written out."""
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for panel in ("services", "queues", "documents", "outbox", "processes"):
        assert f'data-panel="{panel}" data-available="true"' in html
    assert "No broker: tasks run in the process that sends them." in page_section(html, "queues")
    documents = page_section(html, "documents")
    for name, count in documents_in_every_status.items():
        assert f'<div data-count="{name}"><dt>{name}</dt><dd>{count}</dd></div>' in documents
    assert "4 in all." in documents
    assert "Unavailable" not in html


def test_outbox_panel_shows_the_events_waiting_in_flight_and_given_up_on(client, api, db):
    assert read_status(api)["outbox"] == {
        "available": True,
        "pending": 0,
        "oldest_seconds": None,
        "undelivered": 0,
        "dead_lettered": 0,
    }
    outbox = page_section(client.get("/").content.decode(), "outbox")
    assert "Every event between services has been sent." in outbox
    assert "0 sent, not yet run by a worker." in outbox
    assert "given up on" not in outbox
    now = timezone.now()
    for age in (timedelta(minutes=5), timedelta(seconds=3)):
        event = OutboxEvent.objects.create(task="greeter.welcome_resident", next_attempt_at=now)
        OutboxEvent.objects.filter(pk=event.pk).update(created_at=now - age)
    for _ in range(3):
        OutboxEvent.objects.create(
            task="greeter.welcome_resident", next_attempt_at=now, sent_at=now
        )
    OutboxEvent.objects.filter(pk=OutboxEvent.objects.last().pk).update(dead_lettered_at=now)
    panel = read_status(api)["outbox"]
    assert (panel["pending"], panel["oldest_seconds"] // 60) == (2, 5)
    assert (panel["undelivered"], panel["dead_lettered"]) == (2, 1)
    outbox = page_section(client.get("/").content.decode(), "outbox")
    assert "2 events between services waiting to be sent, the oldest for 5 min." in outbox
    assert "2 sent, not yet run by a worker." in outbox
    assert "1 event given up on: sent again and again, never run" in outbox


def test_processes_panel_shows_the_split_topologys_restarts(client, api, db, settings, tmp_path):
    unsupervised = read_status(api)["processes"]
    assert unsupervised == {"available": True, "supervised": False, "processes": []}
    assert "The orchestrator (compose, Kubernetes) restarts" in page_section(
        client.get("/").content.decode(), "processes"
    )
    topology = Topology(Settings(state_dir=tmp_path))  # its status file, as it writes it
    seen = [("greeter-1", "running", 1, -9), ("beat", "failed", 5, 1)]
    for name, state, restarts, exit_code in seen:
        topology.processes[name] = Process(
            name,
            [],
            {},
            tmp_path / f"{name}.log",
            state=state,
            restarts=restarts,
            last_exit_code=exit_code,
            started_at=time.time() - 125,
        )
    topology.write_status()
    settings.CITY_SUPERVISOR_STATUS = str(topology.status_path)

    panel = read_status(api)["processes"]
    assert panel["supervised"] is True
    fields = ("name", "state", "restarts", "last_exit_code")
    assert [tuple(process[f] for f in fields) for process in panel["processes"]] == seen
    assert [process["last_exit"] for process in panel["processes"]] == ["SIGKILL", "exit code 1"]
    assert all(p["since_seconds"] >= 125 for p in panel["processes"])
    page = page_section(client.get("/").content.decode(), "processes")
    assert '<td>greeter-1</td><td>running</td><td class="number">1</td><td>SIGKILL</td>' in page
    assert '<td>beat</td><td>failed</td><td class="number">5</td><td>exit code 1</td>' in page


def test_a_supervisor_status_that_cannot_be_read_turns_only_the_processes_panel_unavailable(
    api, db, settings, tmp_path
):
    settings.CITY_SUPERVISOR_STATUS = str(tmp_path / "supervisor.json")
    status = read_status(api)
    assert status["processes"]["available"] is False
    assert str(tmp_path / "supervisor.json") in status["processes"]["reason"]
    assert status["outbox"]["available"] is True


# --- requests counted by this process ----------------------------------------------------


def send_traffic(api, settings, *, greets: int, failing: int, leasing: int) -> None:
    """`greets` greetings, `failing` greeter requests answered 500 (its counter store, a
    Redis nobody runs, does not answer) and `leasing` requests to the leasing service."""
    for _ in range(greets):
        assert api.get(GREET, {"name": "Ada"}).status_code == 200
    settings.CITY_REDIS_URL = f"redis://127.0.0.1:{servers.free_port()}/0"
    for _ in range(failing):
        assert APIClient(raise_request_exception=False).get(GREETING_COUNTS).status_code >= 500
    for _ in range(leasing):
        assert api.get(UNITS_AVAILABLE).status_code < 500


def test_requests_are_counted_for_the_service_they_went_to_and_5xx_as_errors(api, db, settings):
    """This process's counters grow by exactly the requests each service answered."""
    before = request_counts.snapshot()
    send_traffic(api, settings, greets=4, failing=1, leasing=3)
    after = request_counts.snapshot()

    def added(service: str) -> Totals:
        then, now = before.get(service, Totals()), after.get(service, Totals())
        return Totals(now.requests - then.requests, now.errors - then.errors)

    assert added("greeter") == Totals(requests=5, errors=1)
    assert added("leasing") == Totals(requests=3, errors=0)
    assert added("documents") == Totals(requests=0, errors=0)


def test_services_panel_rates_are_over_the_minute_between_two_readings(api, db, settings, clock):
    """Two looks a minute apart: requests per second and the share of 5xx in between."""
    read_status(api)
    send_traffic(api, settings, greets=5, failing=1, leasing=3)
    clock.advance(60)
    panel = read_status(api)["services"]
    assert panel["window_seconds"] == 60
    rates = {
        name: (service["requests_per_second"], service["error_rate"])
        for name, service in by_name(panel["services"]).items()
    }
    assert rates == {"greeter": (0.1, 0.1667), "documents": (0.0, None), "leasing": (0.05, 0.0)}


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/greeter/greet", "greeter"),
        ("/api/leasing/units/", "leasing"),
        ("/api/documents/counts/", "documents"),
        ("/api/greeter/", "greeter"),
        ("/api/greeter", "platform"),  # nothing after the service's name
        ("/api/unknown/x", "platform"),
        ("/api/schema/", "platform"),
        ("/", "platform"),
        ("/admin/", "platform"),
        ("/healthz", "platform"),
    ],
)
def test_service_of_a_path(path, service):
    """/api/<service>/... is that service's; anything else is the platform's."""
    assert request_counts.service_of(path) == service


def test_a_5xx_counts_as_an_error_and_a_4xx_does_not():
    """The client's mistakes are not the server's errors."""
    before = request_counts.snapshot().get("leasing", Totals())
    request_counts.count("/api/leasing/units/", 503)
    request_counts.count("/api/leasing/units/", 499)
    after = request_counts.snapshot()["leasing"]
    assert (after.requests - before.requests, after.errors - before.errors) == (2, 1)


# --- a source that is down turns only its panel unavailable -----------------------------


@pytest.fixture
def haproxy_stats_not_answering(settings) -> str:
    """The dashboard reads HAProxy's stats at a loopback port nobody listens on."""
    url = f"http://127.0.0.1:{servers.free_port()}/;csv"
    settings.CITY_HAPROXY_STATS_URL = url
    return url


def test_haproxy_not_answering_turns_only_the_services_panel_unavailable(
    api, db, haproxy_stats_not_answering
):
    """The reason names the stats URL; the queues and documents panels are unaffected."""
    status = read_status(api)
    assert status["deployment"]["load_balancer"] is True
    assert status["services"]["available"] is False
    assert haproxy_stats_not_answering in status["services"]["reason"]
    assert status["queues"]["available"] is True
    assert status["documents"]["available"] is True


def test_an_unavailable_services_panel_has_only_available_and_reason(
    api, db, haproxy_stats_not_answering
):
    """As the serializer's docstring says of every panel whose source is down."""
    assert set(read_status(api)["services"]) == {"available", "reason"}


def test_broker_going_down_turns_only_the_queues_panel_unavailable(api, client, db, broker):
    """A broker that stops while the dashboard is used: the API and the page say so in
    the queues panel alone, and still answer 200."""
    before = read_status(api)["queues"]
    assert (before["available"], before["mode"]) == (True, "broker")
    redis.Redis.from_url(broker).shutdown(nosave=True)  # the broker stops

    status = read_status(api)
    queues = status["queues"]
    assert set(queues) == {"available", "reason"}
    assert queues["available"] is False
    assert queues["reason"].startswith("The broker does not answer:")
    assert status["services"]["available"] is True
    assert status["documents"]["available"] is True

    response = client.get("/")
    assert response.status_code == 200
    section = page_section(response.content.decode(), "queues")
    assert section.startswith('data-panel="queues" data-available="false"')
    assert '<p class="unavailable">Unavailable</p>' in section
    assert "The broker does not answer:" in section


def test_documents_service_out_of_reach_turns_only_the_documents_panel_unavailable(
    api, db, settings
):
    """Documents deployed elsewhere and down: its panel says so, the rest is read here."""
    settings.CITY_SERVICES = ["greeter", "leasing"]  # documents is elsewhere...
    settings.CITY_PEER_URL = f"http://127.0.0.1:{servers.free_port()}"  # ...and down
    status = read_status(api)
    documents = status["documents"]
    assert set(documents) == {"available", "reason"}
    assert documents["reason"].startswith("The documents service is unavailable")
    services = by_name(status["services"]["services"])
    assert (services["documents"]["installed"], services["documents"]["replicas"]) == (False, [])
    assert status["queues"]["available"] is True


# --- queues on a real broker, with a real worker -----------------------------------------


def test_queues_panel_shows_live_workers_and_the_messages_waiting(
    api, broker, worker_env, tmp_path
):
    """A worker consuming greeter, three messages nobody consumes on documents."""
    with servers.celery_worker(queues=["greeter"], env=worker_env, log=tmp_path / "worker.log"):
        for document_id in (1, 2, 3):  # nothing consumes the documents queue here
            celery_app.send_task(
                "documents.process_document", args=[document_id], queue="documents"
            )
        panels = []

        def worker_answered() -> bool:
            panels.append(read_status(api)["queues"])
            return bool(panels[-1]["workers"])

        servers.wait_until(worker_answered, what="the worker to answer the broadcast")
    panel = panels[-1]
    assert (panel["available"], panel["mode"]) == (True, "broker")
    [worker] = panel["workers"]
    assert re.fullmatch(rf"test-[0-9a-f]{{6}}@{re.escape(socket.gethostname())}", worker["name"])
    assert worker["queues"] == ["greeter"]
    assert {queue["name"]: (queue["depth"], queue["consumers"]) for queue in panel["queues"]} == {
        "greeter": (0, 1),
        "documents": (3, 0),
        "leasing": (0, 0),
    }


# --- HAProxy in front: replicas and traffic read from its stats --------------------------


@pytest.fixture
def edge(settings, haproxy_in_front_of_greeter):
    settings.CITY_HAPROXY_STATS_URL = haproxy_in_front_of_greeter.stats_csv
    return haproxy_in_front_of_greeter


def test_services_panel_from_haproxy_shows_each_replicas_health(api, db, edge):
    """Replicas as HAProxy's checks see them: one answering, one nobody listens on."""
    status = read_status(api)
    assert status["deployment"]["load_balancer"] is True
    panel = status["services"]
    assert (panel["available"], panel["source"]) == (True, "haproxy")
    services = by_name(panel["services"])
    greeter = by_name(services["greeter"]["replicas"])
    assert greeter.keys() == {"greeter-1", "greeter-2"}
    running, nobody = greeter["greeter-1"], greeter["greeter-2"]
    assert (running["address"], running["status"], running["healthy"]) == (
        edge.greeter_1,
        "UP",
        True,
    )
    assert running["check"] == "L7OK"
    assert (nobody["status"], nobody["healthy"], nobody["check"]) == ("DOWN", False, "L4CON")
    assert isinstance(nobody["since_seconds"], int)
    assert services["documents"]["replicas"] == services["leasing"]["replicas"] == []


def test_requests_through_haproxy_are_counted_on_the_greeter_backend(api, db, edge, clock):
    """HAProxy's backend totals grow by the requests sent through it, and the panel's
    rate over the next minute is read from them."""
    before = sources.traffic_from_haproxy(edge.stats_csv).totals["greeter"]
    read_status(api)
    with httpx.Client(base_url=edge.url, timeout=10) as http:
        for _ in range(6):
            assert http.get(GREET, params={"name": "Ada"}).status_code == 200
    after = sources.traffic_from_haproxy(edge.stats_csv).totals["greeter"]
    assert (after.requests - before.requests, after.errors - before.errors) == (6, 0)

    clock.advance(60)
    greeter = by_name(read_status(api)["services"]["services"])["greeter"]
    assert (greeter["requests_per_second"], greeter["error_rate"]) == (0.1, 0.0)


# --- what the endpoint accepts ------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writing_to_the_status_is_405_in_the_error_contract(api, method):
    """The status is read-only."""
    response = getattr(api, method)(STATUS, {}, format="json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_unknown_query_parameters_are_ignored(api, db):
    """Parameters the endpoint does not know change nothing."""
    response = api.get(STATUS, {"verbose": "yes", "page": "2"})
    assert response.status_code == 200
    assert set(response.json()) == STATUS_FIELDS


def test_format_json_answers_json(api, db):
    """?format=json, as a browser can ask for it."""
    response = api.get(STATUS, {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["documents"]["available"] is True


def test_a_browser_asking_for_html_gets_the_browsable_api(api, db):
    """Accept: text/html gives DRF's browsable page of the same answer."""
    response = api.get(STATUS, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "City Status" in response.content.decode()


def test_the_schema_documents_the_status_and_the_document_counts(api):
    """Both GET-only endpoints, each with its response component."""
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()

    def answer_of(path: str) -> dict:
        assert set(schema["paths"][path]) == {"get"}
        return schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]

    assert answer_of(STATUS)["schema"] == {"$ref": "#/components/schemas/CityStatus"}
    assert answer_of("/api/documents/counts/")["schema"] == {
        "$ref": "#/components/schemas/ProcessingCounts"
    }
    components = schema["components"]["schemas"]
    assert set(components["CityStatus"]["properties"]) == STATUS_FIELDS
    assert set(components["ProcessingCounts"]["properties"]) == {"counts", "total"}


# --- how the page writes its figures ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"), [(None, "—"), (0.0, "0.0"), (2.0, "2.0"), (12.345, "12.3")]
)
def test_per_second_has_one_decimal_and_a_dash_for_none(value, shown):
    assert per_second(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"), [(None, "—"), (0.0, "0.0 %"), (0.1667, "16.7 %"), (1.0, "100.0 %")]
)
def test_percent_of_a_share_has_one_decimal_and_a_dash_for_none(value, shown):
    assert percent(value) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "—"),
        (0, "0 s"),
        (59, "59 s"),
        (60, "1 min"),
        (3_599, "59 min"),
        (3_600, "1 h"),
        (86_399, "23 h"),
        (86_400, "1 d"),
        (200_000, "2 d"),
    ],
)
def test_duration_is_in_the_largest_unit_that_fits(seconds, shown):
    """Whole units, rounded down; None is a dash."""
    assert duration(seconds) == shown
