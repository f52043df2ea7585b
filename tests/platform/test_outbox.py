"""The outbox: events written with their change, sent after the commit, relayed until the
broker has them, claimed by one relay at a time."""

import base64
import json
import subprocess
import threading
from datetime import timedelta

import pytest
import redis
from celery import signals
from django.db import connection, transaction
from django.utils import timezone
from structlog.testing import capture_logs

from apps.greeter.models import Welcome
from city.models import OutboxEvent
from city.tasks import (
    Relay,
    backoff_seconds,
    mark_delivered,
    outbox_backlog,
    outbox_prune,
    pause_seconds,
    send_task_on_commit,
)
from tests import servers
from tests.factories import NewcomerFactory

WELCOME = "greeter.welcome_resident"


def due_events(count: int, *, task: str = WELCOME) -> list[OutboxEvent]:
    """Pending events the relay may take now (their writer's grace is over)."""
    return [
        OutboxEvent.objects.create(
            task=task, kwargs={"user_id": 1, "lease_id": n}, next_attempt_at=timezone.now()
        )
        for n in range(count)
    ]


@pytest.fixture
def refused_broker():
    """City's Celery app publishes to an address that refuses connections."""
    with (
        servers.address_nobody_listens_on() as address,
        servers.publishing_to(f"redis://{address}/0"),
    ):
        yield


def queued_messages(broker_url: str, queue: str) -> list[dict]:
    return [json.loads(raw) for raw in redis.Redis.from_url(broker_url).lrange(queue, 0, -1)]


def body_of(message: dict) -> tuple[list, dict]:
    args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    return args, kwargs


# --- written with the change, sent after the commit -------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_event_is_rolled_back_with_the_change_that_caused_it():
    newcomer = NewcomerFactory()
    written = []

    def change_that_fails() -> None:
        with transaction.atomic():
            send_task_on_commit(WELCOME, kwargs={"user_id": newcomer.user_id, "lease_id": 5})
            written.append(OutboxEvent.objects.count())  # a row of the same transaction
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert written == [1]
    assert not OutboxEvent.objects.exists()
    assert not Welcome.objects.filter(lease_id=5).exists()


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_the_event_runs_in_process_after_the_commit_and_is_marked_sent():
    newcomer = NewcomerFactory()
    with transaction.atomic():
        send_task_on_commit(WELCOME, kwargs={"user_id": newcomer.user_id, "lease_id": 8})
        assert OutboxEvent.objects.get().sent_at is None
        assert not Welcome.objects.filter(lease_id=8).exists()
    event = OutboxEvent.objects.get()
    assert event.sent_at is not None
    assert (event.task, event.args, event.kwargs) == (
        WELCOME,
        [],
        {"user_id": newcomer.user_id, "lease_id": 8},
    )
    assert Welcome.objects.filter(lease_id=8, user_id=newcomer.user_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_an_event_for_a_task_nobody_knows_stays_pending():
    with transaction.atomic():
        send_task_on_commit("greeter.no_such_task", kwargs={"user_id": 1})
    assert OutboxEvent.objects.get().sent_at is None


@pytest.mark.django_db(transaction=True)
def test_with_a_broker_the_event_is_published_after_the_commit_with_its_uuid_as_task_id(
    broker_url,
):
    with transaction.atomic():
        send_task_on_commit(WELCOME, kwargs={"user_id": 3, "lease_id": 9})
        assert queued_messages(broker_url, "greeter") == []  # not before the commit
    event = OutboxEvent.objects.get()
    [message] = queued_messages(broker_url, "greeter")
    assert message["headers"]["task"] == WELCOME
    assert message["headers"]["id"] == str(event.uuid)
    assert body_of(message) == ([], {"user_id": 3, "lease_id": 9})
    assert event.sent_at is not None
    assert event.attempts == 0


@pytest.mark.django_db(transaction=True)
def test_an_event_the_broker_refuses_stays_pending_for_the_relay_with_the_error(
    refused_broker,
):
    with capture_logs() as logs, transaction.atomic():
        send_task_on_commit(WELCOME, kwargs={"user_id": 7, "lease_id": 12})
    event = OutboxEvent.objects.get()
    assert event.sent_at is None
    assert event.attempts == 1
    assert "refused" in event.last_error.lower()
    assert event.next_attempt_at > event.created_at  # the first backoff
    [not_sent] = [log for log in logs if log["event"] == "event_not_sent"]
    assert not_sent["log_level"] == "warning"
    assert (not_sent["task"], not_sent["event_id"]) == (WELCOME, str(event.uuid))
    assert not [log for log in logs if log["event"] == "event_sent"]


@pytest.mark.django_db(transaction=True)
def test_after_a_failed_send_the_threads_next_events_are_left_to_the_relay(refused_broker):
    with capture_logs() as logs:
        with transaction.atomic():
            for lease_id in (1, 2):
                send_task_on_commit(WELCOME, kwargs={"user_id": 7, "lease_id": lease_id})
        with transaction.atomic():  # the next request this thread serves
            send_task_on_commit(WELCOME, kwargs={"user_id": 7, "lease_id": 3})
    first, *rest = OutboxEvent.objects.order_by("pk")
    assert (first.sent_at, first.attempts) == (None, 1)
    # Not tried (each would have waited the send timeout on a stalled broker).
    assert [(e.sent_at, e.attempts, e.last_error, e.claimed_by) for e in rest] == [
        (None, 0, "", "")
    ] * 2
    assert [log["event"] for log in logs] == ["event_not_sent"] + ["event_left_to_relay"] * 2


@pytest.mark.django_db(transaction=True)
def test_an_event_a_relay_claimed_before_its_writer_sent_it_is_sent_by_the_relay_alone(
    broker_url,
):
    relay = Relay()
    with transaction.atomic():
        # The relay's pass lands between the commit and the writer's send.
        transaction.on_commit(relay.claim)
        send_task_on_commit(WELCOME, kwargs={"user_id": 3, "lease_id": 30})
        # The transaction stayed open past the writer's grace: the event is due.
        OutboxEvent.objects.update(next_attempt_at=timezone.now())
    event = OutboxEvent.objects.get()
    assert (event.sent_at, event.claimed_by) == (None, relay.name)
    assert queued_messages(broker_url, "greeter") == []  # the writer left it to the relay
    assert relay.run_once().sent == 1
    assert len(queued_messages(broker_url, "greeter")) == 1


@pytest.mark.django_db(transaction=True)
def test_an_event_its_writer_is_sending_is_not_claimed_by_a_relay(broker_url):
    claimed_during_the_send = []

    def relay_pass(**_):  # a relay's pass while the writer's send is under way
        claimed_during_the_send.append(Relay().claim())

    signals.before_task_publish.connect(relay_pass)
    try:
        with transaction.atomic():
            send_task_on_commit(WELCOME, kwargs={"user_id": 3, "lease_id": 31})
            OutboxEvent.objects.update(next_attempt_at=timezone.now())  # past its grace
    finally:
        signals.before_task_publish.disconnect(relay_pass)
    assert claimed_during_the_send == [[]]
    assert len(queued_messages(broker_url, "greeter")) == 1
    assert not OutboxEvent.objects.filter(sent_at=None).exists()


# --- the relay --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_relay_publishes_due_events_in_order_and_leaves_fresh_ones_to_their_writer(
    broker_url,
):
    due = due_events(3)
    # Just written: the process that wrote it is sending it, within its grace.
    fresh = OutboxEvent.objects.create(
        task=WELCOME, next_attempt_at=timezone.now() + timedelta(seconds=10)
    )
    relayed = Relay(batch_size=2).run_once()
    assert (relayed.sent, relayed.failed) == (3, 0)
    ids = [message["headers"]["id"] for message in queued_messages(broker_url, "greeter")]
    # LPUSH: the newest message is first in the list.
    assert ids[::-1] == [str(event.uuid) for event in due]
    assert not OutboxEvent.objects.filter(pk__in=[e.pk for e in due], sent_at=None).exists()
    assert OutboxEvent.objects.get(pk=fresh.pk).sent_at is None


@pytest.mark.django_db(transaction=True)
def test_a_failed_send_backs_off_and_gives_the_rest_of_the_batch_back(refused_broker):
    first, *rest = due_events(4)
    relay = Relay(batch_size=4)
    relayed = relay.run_once()
    assert (relayed.sent, relayed.failed) == (0, 1)
    first.refresh_from_db()
    assert (first.attempts, first.claimed_by, first.sent_at) == (1, "", None)
    assert first.next_attempt_at > timezone.now()
    assert "refused" in first.last_error.lower()
    for event in rest:  # not tried: free for the next pass, no attempt counted
        event.refresh_from_db()
        assert (event.attempts, event.claimed_by) == (0, "")
        assert event.next_attempt_at <= timezone.now()


def test_the_backoff_doubles_from_one_second_up_to_its_cap():
    assert [backoff_seconds(n, cap=60) for n in (1, 2, 3, 4, 6, 7, 30)] == [1, 2, 4, 8, 32, 60, 60]


def test_the_relays_pause_after_failed_passes_has_its_own_shorter_cap(settings):
    settings.OUTBOX_POLL_SECONDS = 0.5
    settings.OUTBOX_RETRY_MAX_SECONDS = 300
    settings.OUTBOX_RELAY_PAUSE_MAX_SECONDS = 30
    assert [pause_seconds(n) for n in (0, 1, 2, 5, 6, 9, 40)] == [0.5, 1, 2, 16, 30, 30, 30]


@pytest.mark.django_db
def test_two_relays_claim_different_events_and_an_expired_claim_is_taken_over(settings):
    events = due_events(5)
    first, second = Relay(batch_size=3), Relay(batch_size=3)
    assert [e.pk for e in first.claim()] == [e.pk for e in events[:3]]
    assert [e.pk for e in second.claim()] == [e.pk for e in events[3:]]
    # Nothing else is due: a relay's next claim holds only what it held.
    assert [e.pk for e in first.claim()] == [e.pk for e in events[:3]]
    # The first relay died: once its claim expires, another takes its events.
    OutboxEvent.objects.filter(claimed_by=first.name).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    third = Relay(batch_size=10)
    assert [e.pk for e in third.claim()] == [e.pk for e in events[:3]]


@pytest.mark.django_db(transaction=True)
def test_relays_claiming_at_the_same_moment_never_share_an_event():
    events = due_events(60)
    relays = [Relay(batch_size=4) for _ in range(3)]
    claimed: dict[str, list[int]] = {relay.name: [] for relay in relays}
    start = threading.Barrier(len(relays))

    def claim_until_none_left(relay: Relay) -> None:
        start.wait()
        try:
            while batch := relay.claim():
                claimed[relay.name] += [event.pk for event in batch]
                # Mark them sent, as a relay does, so its next claim is a new batch.
                OutboxEvent.objects.filter(pk__in=[e.pk for e in batch]).update(
                    sent_at=timezone.now(), claimed_by=""
                )
        finally:
            connection.close()

    threads = [threading.Thread(target=claim_until_none_left, args=(r,)) for r in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    everything = [pk for pks in claimed.values() for pk in pks]
    assert sorted(everything) == sorted(event.pk for event in events)  # each exactly once


@pytest.mark.django_db(transaction=True)
def test_a_database_error_fails_the_pass_and_the_relay_carries_on_once_it_is_over(broker_url):
    [event] = due_events(1)
    relay = Relay()
    with connection.cursor() as cursor:  # the table out of reach, as in a failover
        cursor.execute("ALTER TABLE city_outboxevent RENAME TO city_outboxevent_away")
    try:
        with capture_logs() as logs:
            assert relay.try_once() is False
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE city_outboxevent_away RENAME TO city_outboxevent")
    assert [log["event"] for log in logs] == ["relay_database_error"]
    assert relay.try_once() is True
    event.refresh_from_db()
    assert event.sent_at is not None


# --- pruning and the backlog ------------------------------------------------------------


@pytest.mark.django_db
def test_delivered_events_are_pruned_after_the_retention_and_undelivered_ones_never(settings):
    settings.OUTBOX_RETENTION_HOURS = 24
    settings.OUTBOX_REDELIVER_AFTER_SECONDS = 3600
    old, recent, old_sent, old_dead, old_pending = due_events(5)
    now = timezone.now()
    long_ago = now - timedelta(days=30)
    OutboxEvent.objects.exclude(pk=recent.pk).update(created_at=long_ago)
    OutboxEvent.objects.exclude(pk=old_pending.pk).update(sent_at=long_ago)
    OutboxEvent.objects.filter(pk=old.pk).update(delivered_at=now - timedelta(hours=25))
    OutboxEvent.objects.filter(pk=recent.pk).update(delivered_at=now - timedelta(hours=23))
    OutboxEvent.objects.filter(pk=old_dead.pk).update(dead_lettered_at=long_ago)
    assert outbox_prune() == 1
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {
        recent.pk,
        old_sent.pk,  # sent, never run: to be sent again, not deleted
        old_dead.pk,
        old_pending.pk,
    }


@pytest.mark.django_db
def test_readiness_shows_the_backlog_and_stays_ready_however_large(api):
    oldest, *_others = due_events(3)
    OutboxEvent.objects.filter(pk=oldest.pk).update(created_at=timezone.now() - timedelta(hours=2))
    now = timezone.now()
    _in_flight, delivered, dead = (
        OutboxEvent.objects.create(task=WELCOME, next_attempt_at=now, sent_at=now) for _ in range(3)
    )
    mark_delivered(str(delivered.uuid))
    OutboxEvent.objects.filter(pk=dead.pk).update(dead_lettered_at=now)
    response = api.get("/readyz")
    assert response.status_code == 200
    backlog = response.json()["outbox"]
    assert (backlog["pending"], backlog["undelivered"], backlog["dead_lettered"]) == (3, 1, 1)
    assert 7190 < backlog["oldest_pending_age_seconds"] < 7300
    assert outbox_backlog().pending == 3


# --- the command ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--batch-size", "0"], "a whole number of 1 or more is needed, not '0'"),
        (["--batch-size", "many"], "a whole number of 1 or more is needed, not 'many'"),
        (["--once", "extra"], "unrecognized arguments: extra"),
    ],
)
def test_the_command_refuses_bad_options_with_a_usage_error(arguments, complaint):
    result = subprocess.run(
        [str(servers.BIN / "python"), "manage.py", "relay_events", *arguments],
        env=servers.subprocess_env(DJANGO_SETTINGS_MODULE="city.settings.test"),
        cwd=servers.REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert complaint in result.stderr
    assert result.stderr.startswith("usage: manage.py relay_events")


@pytest.mark.django_db(transaction=True)
def test_the_command_once_says_what_it_sent_and_fails_when_a_send_fails(
    live_database_url, tmp_path
):
    due_events(2)
    manage = [str(servers.BIN / "python"), "manage.py", "relay_events", "--once"]
    with servers.address_nobody_listens_on() as address:
        env = servers.subprocess_env(
            DJANGO_SETTINGS_MODULE="city.settings.test",
            DATABASE_URL=live_database_url,
            CELERY_BROKER_URL=f"redis://{address}/0",
        )
        refused = subprocess.run(
            manage, env=env, cwd=servers.REPO, capture_output=True, text=True, timeout=60
        )
    assert refused.returncode == 1
    assert "sent 0, failed 1: the failed event stays pending" in refused.stderr
    OutboxEvent.objects.update(next_attempt_at=timezone.now())  # its backoff is over
    with servers.redis_server(tmp_path) as broker_url:
        env["CELERY_BROKER_URL"] = broker_url
        sent = servers.run_checked(manage, env=env)
        assert len(queued_messages(broker_url, "greeter")) == 2
    assert sent.stdout.strip() == "sent 2, failed 0"
    assert not OutboxEvent.objects.filter(sent_at=None).exists()
