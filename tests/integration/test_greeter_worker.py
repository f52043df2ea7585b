"""The greeter's task on a real Celery worker process, over a real Redis."""

import json

import structlog

from apps.greeter.models import Welcome
from city.tasks import send_task_on_commit
from tests import servers
from tests.factories import NewcomerFactory


def json_lines(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_welcome_sent_by_name_is_recorded_once_and_logged_with_its_request_id(worker_env, tmp_path):
    user = NewcomerFactory(language="fr").user
    log = tmp_path / "worker.log"
    with servers.celery_worker(queues=["greeter"], env=worker_env, log=log):
        structlog.contextvars.bind_contextvars(request_id="req-welcome-1")
        try:
            for _ in range(2):  # delivered twice, welcomed once
                send_task_on_commit("greeter.welcome_resident", args=(user.pk, 41))
        finally:
            structlog.contextvars.clear_contextvars()

        def handled() -> list[dict]:
            return [line for line in json_lines(log) if line["event"] == "tenant_welcomed"]

        servers.wait_until(lambda: len(handled()) == 2, what="both deliveries handled")
    welcome = Welcome.objects.get(lease_id=41)
    assert welcome.user == user
    assert welcome.message.startswith("Bienvenue chez vous")
    assert [line["created"] for line in handled()] == [True, False]
    assert {line["request_id"] for line in handled()} == {"req-welcome-1"}
    assert {line["task"] for line in handled()} == {"greeter.welcome_resident"}
