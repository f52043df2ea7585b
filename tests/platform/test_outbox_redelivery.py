"""An event the broker took is sent again until a worker has run it: Redis hands a message
to a worker before the worker records it as unacknowledged, so a worker killed in between
loses it, and only the outbox still knows of it."""

from datetime import timedelta

import pytest
import redis
from django.db import transaction

from apps.greeter.models import Welcome
from city.models import OutboxEvent
from city.tasks import Relay, outbox_resend_undelivered, send_task_on_commit
from tests import servers
from tests.factories import NewcomerFactory
from tests.platform.test_outbox import WELCOME, queued_messages


@pytest.mark.django_db(transaction=True)
def test_an_event_lost_between_the_broker_and_a_worker_is_sent_again(broker_url, settings):
    with transaction.atomic():
        send_task_on_commit(WELCOME, kwargs={"user_id": 4, "lease_id": 21})
    event = OutboxEvent.objects.get()
    # What a worker killed right after Redis handed it the message leaves: nothing queued,
    # nothing unacknowledged.
    assert redis.Redis.from_url(broker_url).rpop("greeter") is not None
    assert Relay().run_once().sent == 0  # sent moments ago: it may still be on its way

    settings.OUTBOX_REDELIVER_AFTER_SECONDS = 0
    assert Relay().run_once().sent == 1
    [message] = queued_messages(broker_url, "greeter")
    assert message["headers"]["id"] == str(event.uuid)  # the same event, idempotently
    event.refresh_from_db()
    assert (event.sent_at is not None, event.delivered_at) == (True, None)


@pytest.mark.django_db(transaction=True)
def test_an_event_a_worker_ran_is_delivered_and_never_sent_again(worker_env, tmp_path):
    newcomer = NewcomerFactory()
    with servers.celery_worker(queues=["greeter"], env=worker_env, log=tmp_path / "worker.log"):
        with transaction.atomic():
            send_task_on_commit(WELCOME, kwargs={"user_id": newcomer.user_id, "lease_id": 22})
        servers.wait_until(
            lambda: OutboxEvent.objects.filter(delivered_at__isnull=False).exists(),
            what="the event marked delivered by the worker",
        )
    assert Welcome.objects.filter(lease_id=22).count() == 1
    a_year_later = OutboxEvent.objects.get().sent_at + timedelta(days=365)
    assert outbox_resend_undelivered(now=a_year_later) == 0
