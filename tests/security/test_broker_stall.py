"""A broker that accepts connections but does not answer holds no request for long.

The Redis here is the test's own, paused with `CLIENT PAUSE <ms> ALL`: connections are
accepted, commands are read and never answered until the pause ends. The web process is
gunicorn with production settings publishing to it. An upload then answers 202 once the
send gives up (CELERY_BROKER_SEND_TIMEOUT_SECONDS), its document stays pending (its
event in the outbox, for the relay: tests/integration/test_outbox_delivery.py; the sweep
queues it too), `/healthz` answers meanwhile, and `/readyz` says the broker is down
within its own bound.
"""

import base64
import json
import threading
from datetime import timedelta

import httpx
import redis
from rest_framework.authtoken.models import Token

from apps.documents import services
from apps.documents.models import Document
from tests import servers
from tests.contract import error_of
from tests.factories import UserFactory

SEND_TIMEOUT_SECONDS = 2  # the default
# Generous, and still under gunicorn's 30 s worker timeout, which is what a stalled broker
# used to run an upload into (the worker killed, an HTML 500).
CLIENT_TIMEOUT_SECONDS = 8
# Longer than the client waits: an upload that waited for the broker gets no answer.
PAUSE_MILLISECONDS = (CLIENT_TIMEOUT_SECONDS + 4) * 1000


def test_an_upload_while_the_broker_stalls_answers_202_and_its_document_is_swept_later(
    live_database_url, collected_static, broker_url, tmp_path
):
    owner = UserFactory()
    token = Token.objects.create(user=owner)
    env = servers.production_env(
        DATABASE_URL=live_database_url,
        STATIC_ROOT=collected_static,
        MEDIA_ROOT=str(tmp_path / "media"),
        CELERY_BROKER_URL=broker_url,
        CELERY_BROKER_SEND_TIMEOUT_SECONDS=str(SEND_TIMEOUT_SECONDS),
        # Threads, as deploy/gunicorn.conf.py runs it: /healthz has one while the upload waits.
        GUNICORN_CMD_ARGS="--threads 4",
    )
    log = tmp_path / "web.log"
    with servers.gunicorn("city.settings.production", env=env, log=log) as url:
        redis.Redis.from_url(broker_url).execute_command(
            "CLIENT", "PAUSE", PAUSE_MILLISECONDS, "ALL"
        )
        answers: dict[str, object] = {}

        def upload() -> None:
            try:
                answers["upload"] = httpx.post(
                    f"{url}/api/documents/",
                    headers={"Authorization": f"Token {token.key}"},
                    files={"file": ("note.txt", b"Sent while the broker stalls.\n")},
                    timeout=CLIENT_TIMEOUT_SECONDS,
                )
            except httpx.HTTPError as error:
                answers["upload"] = error

        uploading = threading.Thread(target=upload)
        uploading.start()
        try:
            # The document is committed before its processing is sent: from here on the
            # upload is waiting on the broker.
            servers.wait_until(
                lambda: Document.objects.filter(owner=owner).exists(),
                timeout=CLIENT_TIMEOUT_SECONDS,
                what="the upload's document to be committed",
            )
            health = httpx.get(f"{url}/healthz", timeout=CLIENT_TIMEOUT_SECONDS)
            held_meanwhile = uploading.is_alive()
        finally:
            uploading.join(CLIENT_TIMEOUT_SECONDS + 1)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert held_meanwhile, "/healthz answered only once the upload was over"

        response = answers["upload"]
        assert isinstance(response, httpx.Response), f"the upload got no answer: {response!r}"
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "pending"
        assert "event_not_sent" in log.read_text()

        # Still paused: readiness says the broker is down, and says it within its bound.
        ready = httpx.get(f"{url}/readyz", timeout=CLIENT_TIMEOUT_SECONDS)
        assert ready.status_code == 503
        error = error_of(ready)
        assert error["code"] == "not_ready"
        assert error["details"]["checks"]["database"] == "ok"
        assert error["details"]["checks"]["broker"].startswith("error")

    # The pause ends (this PING waits for it); the processing was never queued, and the
    # sweep queues it.
    broker = redis.Redis.from_url(broker_url, socket_timeout=PAUSE_MILLISECONDS / 1000 + 10)
    assert broker.ping()
    assert broker.llen("documents") == 0
    document = Document.objects.get(owner=owner)
    assert (document.status, document.attempts) == ("pending", 0)
    swept = services.documents_sweep(older_than=timedelta(0))
    assert swept.requeued == [document.pk]
    assert broker.llen("documents") == 1
    message = json.loads(broker.lindex("documents", 0))
    assert message["headers"]["task"] == services.PROCESS_TASK
    args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert args == [document.pk]
