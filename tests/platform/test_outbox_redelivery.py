"""An event the broker took is sent again until a worker has run it: Redis hands a message
to a worker before the worker records it as unacknowledged, so a worker killed in between
loses it, and only the outbox still knows of it. The wait doubles with each repeat, and an
event never run after OUTBOX_REDELIVERIES_MAX repeats is dead-lettered."""

from datetime import timedelta

import pytest
import redis
from django.db import transaction
from django.db.models import F
from structlog.testing import capture_logs

from apps.greeter.models import Welcome
from city.models import OutboxEvent
from city.tasks import (
    Relay,
    mark_delivered,
    outbox_backlog,
    outbox_resend_undelivered,
    send_task_on_commit,
)
from tests import servers
from tests.factories import NewcomerFactory
from tests.platform.test_outbox import WELCOME, queued_messages

REDELIVER_AFTER_SECONDS = 100


@pytest.fixture
def redelivery(settings):
    settings.OUTBOX_REDELIVER_AFTER_SECONDS = REDELIVER_AFTER_SECONDS
    settings.OUTBOX_REDELIVERIES_MAX = 2
    return settings


def send_one(lease_id: int) -> OutboxEvent:
    with transaction.atomic():
        send_task_on_commit(WELCOME, kwargs={"user_id": 4, "lease_id": lease_id})
    return OutboxEvent.objects.get(kwargs__lease_id=lease_id)


def wait_until_due(event: OutboxEvent) -> None:
    """As if its redelivery time had come: its times moved that far into the past."""
    event.refresh_from_db()
    gone_by = event.next_attempt_at - event.sent_at + timedelta(seconds=1)
    OutboxEvent.objects.filter(pk=event.pk).update(
        sent_at=F("sent_at") - gone_by, next_attempt_at=F("next_attempt_at") - gone_by
    )


@pytest.mark.django_db(transaction=True)
def test_an_event_lost_between_the_broker_and_a_worker_is_sent_again(broker_url, redelivery):
    event = send_one(21)
    # What a worker killed right after Redis handed it the message leaves: nothing queued,
    # nothing unacknowledged.
    assert redis.Redis.from_url(broker_url).rpop("greeter") is not None
    assert Relay().run_once().sent == 0  # sent moments ago: it may still be on its way

    wait_until_due(event)
    assert Relay().run_once().sent == 1
    [message] = queued_messages(broker_url, "greeter")
    assert message["headers"]["id"] == str(event.uuid)  # the same event, idempotently
    event.refresh_from_db()
    assert (event.sent_at is not None, event.delivered_at, event.redeliveries) == (True, None, 1)


@pytest.mark.django_db(transaction=True)
def test_an_event_never_run_is_sent_again_less_and_less_often_then_dead_lettered(
    broker_url, redelivery
):
    event = send_one(23)  # no worker takes it: workers down, or none knows its task
    for repeat in (1, 2):
        event.refresh_from_db()
        waited = event.next_attempt_at - event.sent_at
        assert waited == timedelta(seconds=REDELIVER_AFTER_SECONDS * 2 ** (repeat - 1))
        assert outbox_resend_undelivered(now=event.next_attempt_at - timedelta(seconds=1)) == 0
        wait_until_due(event)
        assert Relay().run_once().sent == 1
    wait_until_due(event)
    with capture_logs() as logs:
        assert Relay().run_once().sent == 0
    [dead] = [log for log in logs if log["event"] == "event_dead_lettered"]
    assert (dead["log_level"], dead["event_id"], dead["redeliveries"]) == (
        "error",
        str(event.uuid),
        2,
    )
    event.refresh_from_db()
    assert event.dead_lettered_at is not None
    a_year_later = event.sent_at + timedelta(days=365)
    assert outbox_resend_undelivered(now=a_year_later) == 0
    assert len(queued_messages(broker_url, "greeter")) == 3  # the send and two repeats
    backlog = outbox_backlog()
    assert (backlog.pending, backlog.undelivered, backlog.dead_lettered) == (0, 0, 1)
    # A worker got to it at last (the workers were down): delivered, no longer dead.
    mark_delivered(str(event.uuid))
    assert outbox_backlog().dead_lettered == 0


@pytest.mark.django_db(transaction=True)
def test_a_first_copy_run_late_ends_the_wait_of_an_event_to_be_sent_again(broker_url, redelivery):
    event = send_one(25)
    wait_until_due(event)
    assert outbox_resend_undelivered() == 1  # pending again
    mark_delivered(str(event.uuid))  # a worker got to the first copy meanwhile
    assert Relay().run_once().sent == 0
    assert len(queued_messages(broker_url, "greeter")) == 1
    backlog = outbox_backlog()
    assert (backlog.pending, backlog.undelivered, backlog.dead_lettered) == (0, 0, 0)


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
