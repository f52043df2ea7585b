"""Events between services reach their consumers through a broker that was down, stalled,
or a relay that was killed: real Redis, gunicorn, Celery worker and relay processes."""

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import pytest
import redis
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.authtoken.models import Token

from apps.documents import services as documents
from apps.documents.models import Document, ProcessingAttempt
from apps.greeter.models import Welcome
from apps.leasing import services as leasing
from city.models import OutboxEvent
from city.tasks import send_task_on_commit
from tests import servers
from tests.deploy.clients import as_user, ok, register
from tests.factories import LeaseFactory, UserFactory

WAIT_SECONDS = 90  # a bound so a broken run fails instead of hanging; never a measure
SEND_TIMEOUT_SECONDS = 2  # the default CELERY_BROKER_SEND_TIMEOUT_SECONDS
# The client's hang guard: the send timeout and a generous margin, well under the pause.
CLIENT_TIMEOUT_SECONDS = SEND_TIMEOUT_SECONDS + 6
# Longer than the client waits; a pause of ALL cannot be ended early (UNPAUSE waits too).
PAUSE_MILLISECONDS = (CLIENT_TIMEOUT_SECONDS + 4) * 1000
# Quick retries and claims, so a test waits seconds where production waits minutes.
RELAY_SETTINGS = {
    "OUTBOX_RETRY_MAX_SECONDS": "1",
    "OUTBOX_CLAIM_SECONDS": "3",
    "OUTBOX_POLL_SECONDS": "0.2",
}


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def stopped_broker(tmp_path) -> str:
    """The URL of a Redis that ran on a port and is stopped (`start_broker` starts it)."""
    with servers.redis_server(tmp_path, port=servers.free_port()) as url:
        pass
    return url


@contextmanager
def start_broker(url: str, tmp_path: Path) -> Iterator[None]:
    """The stopped Redis back, on its port, empty."""
    with servers.redis_server(tmp_path, port=httpx.URL(url).port):
        yield


def backend_env(database_url: str, broker_url: str, media_root: Path, **more: str) -> dict:
    return servers.subprocess_env(
        DJANGO_SETTINGS_MODULE="city.settings.test",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        MEDIA_ROOT=str(media_root),
        **RELAY_SETTINGS,
        **more,
    )


@contextmanager
def relay(env: dict, log: Path, *options: str) -> Iterator:
    """`manage.py relay_events` running until the block ends, once it said it started."""
    command = [str(servers.BIN / "python"), "manage.py", "relay_events", *options]
    with servers.running(
        command, env=env, log=log, ready=lambda: log.exists() and "relay_started" in log.read_text()
    ) as popen:
        yield popen


@contextmanager
def worker(env: dict, log: Path) -> Iterator:
    with servers.celery_worker(queues=["greeter", "documents"], env=env, log=log) as popen:
        yield popen


@contextmanager
def web(database_url, broker_url, media_root, static, log: Path) -> Iterator[str]:
    """gunicorn with production settings publishing to `broker_url`; threads, as deployed."""
    env = servers.production_env(
        DATABASE_URL=database_url,
        STATIC_ROOT=static,
        MEDIA_ROOT=str(media_root),
        CELERY_BROKER_URL=broker_url,
        CELERY_BROKER_SEND_TIMEOUT_SECONDS=str(SEND_TIMEOUT_SECONDS),
        GUNICORN_CMD_ARGS="--threads 4",
    )
    with servers.gunicorn("city.settings.production", env=env, log=log) as url:
        yield url


def signed_lease():
    lease = LeaseFactory(start_date=date(2025, 1, 1), end_date=date(2026, 1, 1))
    manager = lease.unit.property.manager
    leasing.lease_send_for_signature(lease=lease, sent_by=manager)
    leasing.lease_sign(lease=lease, signed_by=lease.tenant)
    return lease, Token.objects.create(user=manager).key


def activate(url: str, lease, token: str) -> httpx.Response:
    return httpx.post(
        f"{url}/api/leasing/leases/{lease.pk}/activate/",
        headers={"Authorization": f"Token {token}"},
        json={},
        timeout=CLIENT_TIMEOUT_SECONDS,
    )


def upload(url: str, token: str, text: bytes) -> httpx.Response:
    return httpx.post(
        f"{url}/api/documents/",
        headers={"Authorization": f"Token {token}"},
        files={"file": ("note.txt", text)},
        timeout=CLIENT_TIMEOUT_SECONDS,
    )


def wait_for(condition, what: str) -> None:
    servers.wait_until(condition, timeout=WAIT_SECONDS, what=what)


def pause(broker_url: str) -> None:
    redis.Redis.from_url(broker_url).execute_command("CLIENT", "PAUSE", PAUSE_MILLISECONDS, "ALL")


def wait_for_the_pause_to_end(broker_url: str) -> None:
    redis.Redis.from_url(broker_url, socket_timeout=PAUSE_MILLISECONDS / 1000 + 10).ping()


def processed_runs(document_id: int) -> int:
    return ProcessingAttempt.objects.filter(
        document_id=document_id, outcome=ProcessingAttempt.Outcome.PROCESSED
    ).count()


def all_sent() -> bool:
    return not OutboxEvent.objects.filter(sent_at=None).exists()


# --- a broker that is down --------------------------------------------------------------


def test_a_lease_and_an_upload_while_redis_is_down_are_delivered_once_by_the_relay(
    live_database_url, collected_static, stopped_broker, media_root, tmp_path
):
    lease, manager_token = signed_lease()
    owner_token = Token.objects.create(user=UserFactory()).key
    env = backend_env(live_database_url, stopped_broker, media_root)
    with (
        web(
            live_database_url, stopped_broker, media_root, collected_static, tmp_path / "web.log"
        ) as url,
        relay(env, tmp_path / "relay.log"),  # running all along, through the outage
    ):
        activated = activate(url, lease, manager_token)
        uploaded = upload(url, owner_token, b"Uploaded while the broker was down.\n")
        assert activated.status_code == 200, activated.text
        assert uploaded.status_code == 202, uploaded.text
        document_id = uploaded.json()["id"]
        events = OutboxEvent.objects.order_by("id")
        assert [event.task for event in events] == [
            "greeter.welcome_resident",
            documents.PROCESS_TASK,
        ]
        # Neither sent: the first tried and failed; the other too, or left to the relay
        # untried if the same gunicorn thread served it within its pause.
        assert [event.sent_at for event in events] == [None, None]
        assert events[0].last_error
        relay_log = tmp_path / "relay.log"
        wait_for(lambda: "event_not_sent" in relay_log.read_text(), "the relay to try, and fail")
        with start_broker(stopped_broker, tmp_path), worker(env, tmp_path / "worker.log"):
            wait_for(Welcome.objects.filter(lease_id=lease.pk).exists, "the welcome")
            wait_for(
                lambda: Document.objects.get(pk=document_id).status == "processed",
                "the document processed",
            )
            wait_for(all_sent, "every event marked sent")
    assert Welcome.objects.filter(lease_id=lease.pk, user=lease.tenant).count() == 1
    assert processed_runs(document_id) == 1
    assert ProcessingAttempt.objects.filter(document_id=document_id).count() == 1


# --- a broker that stalls ---------------------------------------------------------------


def test_an_activation_while_redis_stalls_answers_within_the_send_timeout_and_is_relayed(
    live_database_url, collected_static, redis_url, media_root, tmp_path
):
    lease, manager_token = signed_lease()
    env = backend_env(live_database_url, redis_url, media_root)
    with web(
        live_database_url, redis_url, media_root, collected_static, tmp_path / "web.log"
    ) as url:
        pause(redis_url)
        try:
            # httpx's timeout guards against a hang; it measures nothing.
            activated = activate(url, lease, manager_token)
        finally:
            wait_for_the_pause_to_end(redis_url)
    assert activated.status_code == 200, activated.text
    event = OutboxEvent.objects.get()
    assert (event.sent_at, event.attempts) == (None, 1)
    assert "event_not_sent" in (tmp_path / "web.log").read_text()
    with worker(env, tmp_path / "worker.log"), relay(env, tmp_path / "relay.log"):
        wait_for(Welcome.objects.filter(lease_id=lease.pk).exists, "the welcome")
        wait_for(all_sent, "the event marked sent")
    assert Welcome.objects.filter(lease_id=lease.pk).count() == 1


# --- a relay that dies, a relay that is stopped -----------------------------------------


WELCOMES = 200
UPLOADS = 10


def test_a_relay_killed_mid_batch_loses_nothing_and_a_second_relay_delivers_the_rest(
    live_database_url, stopped_broker, media_root, tmp_path
):
    tenant = UserFactory()
    owner = UserFactory()
    # Written while the broker is down: each send after the commit fails, all pending.
    with servers.publishing_to(stopped_broker):
        for lease_id in range(1, WELCOMES + 1):
            send_task_on_commit(
                "greeter.welcome_resident", kwargs={"user_id": tenant.pk, "lease_id": lease_id}
            )
        uploads = [
            documents.document_upload(
                owner=owner, file=ContentFile(f"Note {n}\n".encode(), name="n.txt")
            )
            for n in range(UPLOADS)
        ]
    assert OutboxEvent.objects.filter(sent_at=None).count() == WELCOMES + UPLOADS
    OutboxEvent.objects.update(next_attempt_at=timezone.now())  # their backoff is over
    env = backend_env(live_database_url, stopped_broker, media_root)
    with start_broker(stopped_broker, tmp_path), worker(env, tmp_path / "worker.log"):
        with relay(env, tmp_path / "relay-1.log", "--batch-size", "5") as first:
            wait_for(
                lambda: OutboxEvent.objects.exclude(sent_at=None).count() >= 20,
                "the first relay to send some",
            )
            freeze_holding_a_claim(first)
            first.send_signal(signal.SIGKILL)
            first.wait(WAIT_SECONDS)
        held = OutboxEvent.objects.filter(sent_at=None).exclude(claimed_by="").count()
        left = OutboxEvent.objects.filter(sent_at=None).count()
        assert left > 0, "the first relay sent everything before it was killed"
        assert held > 0, "the killed relay held no claim mid-batch"
        with relay(env, tmp_path / "relay-2.log"):
            wait_for(all_sent, "the second relay to send the rest")
            wait_for(lambda: Welcome.objects.count() == WELCOMES, "every welcome")
            ids = [upload.document.pk for upload in uploads]
            wait_for(
                lambda: (
                    set(Document.objects.filter(pk__in=ids).values_list("status", flat=True))
                    == {"processed"}
                ),
                "every document processed",
            )
    lease_ids = list(Welcome.objects.values_list("lease_id", flat=True))
    assert sorted(lease_ids) == list(range(1, WELCOMES + 1))  # each once
    assert [processed_runs(pk) for pk in ids] == [1] * UPLOADS
    assert ProcessingAttempt.objects.filter(document_id__in=ids).count() == UPLOADS


def freeze_holding_a_claim(relay_process) -> None:
    """Stop the relay at a moment it holds claims (mid-batch), not between two batches."""
    for _ in range(100):
        relay_process.send_signal(signal.SIGSTOP)
        if OutboxEvent.objects.filter(sent_at=None).exclude(claimed_by="").exists():
            return
        relay_process.send_signal(signal.SIGCONT)
        time.sleep(0.005)


def test_sigterm_stops_the_relay_after_the_event_it_is_sending_and_gives_back_the_rest(
    live_database_url, redis_url, media_root, tmp_path
):
    first, *rest = [
        OutboxEvent.objects.create(
            task="greeter.welcome_resident",
            kwargs={"user_id": 1, "lease_id": n},
            next_attempt_at=timezone.now(),
        )
        for n in range(5)
    ]
    env = backend_env(live_database_url, redis_url, media_root)
    log = tmp_path / "relay.log"
    pause(redis_url)
    try:
        with relay(env, log, "--batch-size", "5") as running:
            # Its first send now waits on the stalled broker.
            wait_for(lambda: OutboxEvent.objects.exclude(claimed_by="").count() == 5, "its claim")
            running.send_signal(signal.SIGTERM)
            code = running.wait(WAIT_SECONDS)
    finally:
        wait_for_the_pause_to_end(redis_url)
    assert code == 0
    assert "relay_stopped" in log.read_text()
    first.refresh_from_db()
    assert (first.sent_at, first.attempts, first.claimed_by) == (None, 1, "")
    for event in rest:  # never tried, and free for another relay at once
        event.refresh_from_db()
        assert (event.sent_at, event.attempts, event.claimed_by) == (None, 0, "")
        assert event.next_attempt_at <= timezone.now()


# --- the split topology -----------------------------------------------------------------

WRITE_EVENT = """
from django.utils import timezone
from city.models import OutboxEvent
OutboxEvent.objects.create(
    task="greeter.welcome_resident",
    kwargs={{"user_id": {user_id}, "lease_id": {lease_id}}},
    next_attempt_at=timezone.now(),
)
"""


def test_the_split_topologys_relay_sends_an_event_nobody_else_sent(topology):
    """An event left in the outbox (as by a web process that died after its commit) is
    sent by the topology's relay process."""
    otto = register(topology, "otto-outbox")
    lease_id = 990_001
    code = WRITE_EVENT.format(user_id=otto["user"]["id"], lease_id=lease_id)
    topology.manage("shell", "--no-imports", "-c", code)
    with as_user(topology, otto["token"]) as client:

        def welcomed() -> list[dict]:
            greetings = ok(client.get("/api/greeter/newcomers/me/"))["greetings"]
            return [g for g in greetings if g.get("lease_id") == lease_id]

        wait_for(welcomed, "the welcome the relay sent")
        assert len(welcomed()) == 1
    assert "relay_pass" in (topology.state / "logs" / "relay.log").read_text()
