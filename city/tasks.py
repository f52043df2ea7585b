"""Events between services: a transactional outbox, relayed to the broker at least once.

`send_task_on_commit` writes the event (a Celery task to send by name) in the caller's
transaction, so it exists exactly when the change that causes it does. Right after the
commit the same process sends it; what that send cannot hand to the broker stays pending
for the relay (`manage.py relay_events`, `Relay` below), which claims due events, sends
them with the event's uuid as the task id and retries with a capped exponential backoff.
The writer and the relay each claim an event before they send it, so they do not both
send it at once. One that no worker has run OUTBOX_REDELIVER_AFTER_SECONDS after it was
sent is sent again, the wait doubling each time, and dead-lettered after
OUTBOX_REDELIVERIES_MAX repeats. An event may be run twice (a relay killed between
sending and marking it sent, a slow worker overtaken by a repeat), so every consumer is
idempotent.
"""

import functools
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from secrets import token_hex

from django.conf import settings
from django.db import Error, connection, transaction
from django.db.models import Count, F, Min, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from kombu.exceptions import KombuError

from city.celery import app
from city.logging import get_logger
from city.models import DEAD_LETTERED, IN_FLIGHT, OutboxEvent

logger = get_logger(__name__)

# What a send to a broker that is down, stalled or refusing raises.
PUBLISH_ERRORS = (KombuError, OSError)
LAST_ERROR_MAX_LENGTH = 2000
PRUNE_INTERVAL_SECONDS = 60


def send_task_on_commit(name: str, *, args: tuple = (), kwargs: dict | None = None) -> None:
    """Send task `name` once the current transaction commits, and until the broker has it.

    Call it inside the transaction of the change that causes the event: the event is a row
    of that transaction, and is rolled back with it. The sender needs no import of the
    receiver: the name alone routes the task to its service's queue. After the commit this
    process sends it at once, waiting on the broker CELERY_BROKER_SEND_TIMEOUT_SECONDS at
    most; a send that fails is logged (`event_not_sent`), not raised, and the relay sends
    it later. With no broker the task runs in-process after the commit.
    """
    event = OutboxEvent.objects.create(
        task=name,
        args=list(args),
        kwargs=kwargs or {},
        # The relay leaves a fresh event to the process that wrote it, for this long.
        next_attempt_at=timezone.now() + timedelta(seconds=settings.OUTBOX_GRACE_SECONDS),
    )
    transaction.on_commit(lambda: _send_after_commit(event), robust=True)


# After the broker failed a send, this thread leaves its events to the relay for this long
# rather than holding each later request (or each event of one commit) for another send
# timeout: a broker that is down or stalled costs one send timeout, not one per event.
BROKER_FAILED_PAUSE_SECONDS = 5.0
_broker_failed = threading.local()


def _send_after_commit(event: OutboxEvent) -> None:
    """Claim the event and send it, unless the broker failed a send here just now."""
    if _broker_failed_here_just_now():
        logger.info("event_left_to_relay", task=event.task, event_id=str(event.uuid))
        return
    claimant = _claimant_name()
    if not _claim_rows(OutboxEvent.objects.filter(pk=event.pk, claimed_by=""), claimant):
        return  # a relay took it first (a transaction that stayed open past the grace)
    try:
        publish(event)
    except PUBLISH_ERRORS as error:
        _record_failure(event, error, claimed_by=claimant)
        _broker_failed.broker = app.conf.broker_url
        _broker_failed.until = time.monotonic() + BROKER_FAILED_PAUSE_SECONDS
    except Exception as error:  # in-process: a task unknown here, or the task's own error
        _record_failure(event, error, claimed_by=claimant)
        logger.exception("event_failed_after_commit", task=event.task, event_id=str(event.uuid))


def _broker_failed_here_just_now() -> bool:
    return (
        getattr(_broker_failed, "broker", None) == app.conf.broker_url
        and time.monotonic() < _broker_failed.until
    )


def _claim_rows(events, claimant: str) -> int:
    """Claim the unsent events of `events` for OUTBOX_CLAIM_SECONDS; how many. Each row's
    condition is asked again as it is updated, so of two claimants one wins (PostgreSQL
    re-reads a row claimed meanwhile; SQLite writes one statement at a time)."""
    return events.filter(sent_at__isnull=True).update(
        claimed_by=claimant,
        next_attempt_at=timezone.now() + timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS),
    )


def publish(event: OutboxEvent) -> None:
    """Hand the event to the broker, its uuid as the task id, and mark it sent.

    With no broker (the embedded default) it is marked sent and run in this process: it
    was delivered, and a failure of the task is the task's, as it is on a worker.
    """
    options = {"args": event.args, "kwargs": event.kwargs, "task_id": str(event.uuid)}
    if app.conf.task_always_eager:
        _import_task_modules()
        task = app.tasks[event.task]  # an unknown name stays pending, not marked sent
        _mark_sent(event)
        task.apply(**options)
    else:
        app.send_task(event.task, **options)
        _mark_sent(event)


@functools.cache
def _import_task_modules() -> None:
    """Web processes do not import the apps' tasks modules until asked to; once will do."""
    app.loader.import_default_modules()


def _mark_sent(event: OutboxEvent) -> None:
    """Sent: to be sent again at the redelivery time unless a worker has run it by then."""
    now = timezone.now()
    OutboxEvent.objects.filter(pk=event.pk, sent_at__isnull=True).update(
        sent_at=now,
        claimed_by="",
        next_attempt_at=now + timedelta(seconds=redeliver_after_seconds(event.redeliveries)),
    )
    logger.info("event_sent", task=event.task, event_id=str(event.uuid))


def redeliver_after_seconds(redeliveries: int) -> float:
    """OUTBOX_REDELIVER_AFTER_SECONDS after the first send, twice that after the first
    repeat, four times after the second …"""
    return settings.OUTBOX_REDELIVER_AFTER_SECONDS * 2.0**redeliveries


def _record_failure(event: OutboxEvent, error: Exception, *, claimed_by: str) -> None:
    """Count the failed send and set when to try again (unless it was sent after all, or
    another relay took over)."""
    attempts = event.attempts + 1
    retry_at = timezone.now() + timedelta(
        seconds=backoff_seconds(attempts, cap=settings.OUTBOX_RETRY_MAX_SECONDS)
    )
    recorded = OutboxEvent.objects.filter(
        pk=event.pk, sent_at__isnull=True, claimed_by=claimed_by
    ).update(
        attempts=F("attempts") + 1,
        last_error=f"{type(error).__name__}: {error}"[:LAST_ERROR_MAX_LENGTH],
        next_attempt_at=retry_at,
        claimed_by="",
    )
    if not recorded:
        return
    logger.warning(
        "event_not_sent",
        task=event.task,
        event_id=str(event.uuid),
        attempts=attempts,
        retry_at=retry_at.isoformat(),
        error=str(error),
    )


def backoff_seconds(failures: int, *, cap: float) -> float:
    """1, 2, 4, 8 … seconds after the 1st, 2nd, 3rd, 4th … failure, up to `cap`."""
    return min(float(cap), 2.0 ** (failures - 1))


# --- the relay --------------------------------------------------------------------------


def pause_seconds(failed_passes: int) -> float:
    """The relay's pause after a pass: OUTBOX_POLL_SECONDS after one that went well, else
    1, 2, 4 … seconds up to OUTBOX_RELAY_PAUSE_MAX_SECONDS (not the events' own, longer
    cap: a backlog goes soon after the broker is back)."""
    if not failed_passes:
        return settings.OUTBOX_POLL_SECONDS
    return backoff_seconds(failed_passes, cap=settings.OUTBOX_RELAY_PAUSE_MAX_SECONDS)


@dataclass(frozen=True)
class Pass:
    sent: int
    failed: int


def _claimant_name() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{token_hex(4)}"


@dataclass
class Relay:
    """Sends what the processes that wrote events could not, for as long as it runs.

    Events are claimed a batch at a time with one conditional UPDATE (only due rows, so
    of two relays each event goes to one) for OUTBOX_CLAIM_SECONDS; a relay that dies
    mid-batch leaves claims that expire, and another relay (or itself, restarted) takes
    them then. `stop()` (SIGTERM) ends the run after the event being sent.
    """

    batch_size: int = field(default_factory=lambda: settings.OUTBOX_BATCH_SIZE)
    name: str = field(default_factory=_claimant_name)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _pruned_at: float = field(default=float("-inf"), init=False, repr=False)

    def stop(self, *_signal_args) -> None:
        self._stopping.set()

    def stop_on_signals(self) -> None:
        """SIGTERM (an orchestrator) and SIGINT (Ctrl-C) stop it after the current event."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.stop)

    def run_forever(self) -> None:
        """Relay until stopped: a pass, then a pause (longer after each failed pass, up to
        OUTBOX_RELAY_PAUSE_MAX_SECONDS)."""
        logger.info("relay_started", relay=self.name, batch_size=self.batch_size)
        failed_passes = 0
        while not self._stopping.is_set():
            failed_passes = 0 if self.try_once() else failed_passes + 1
            self._stopping.wait(pause_seconds(failed_passes))
        logger.info("relay_stopped", relay=self.name)

    def try_once(self) -> bool:
        """A pass; False if a send failed or the database did not answer."""
        try:
            return not self.run_once().failed
        # Any database error, InterfaceError ("connection already closed") included: the
        # database restarting. Reconnect, try again.
        except Error as error:
            logger.warning("relay_database_error", relay=self.name, error=str(error))
            connection.close()
            return False

    def run_once(self) -> Pass:
        """Send every due event, a batch at a time, until none is left or a send fails."""
        outbox_resend_undelivered()
        sent = failed = 0
        while not self._stopping.is_set() and not failed:
            batch = self.claim()
            if not batch:
                break
            batch_sent, failed = self._send(batch)
            sent += batch_sent
        self._prune_now_and_then()
        if sent or failed:
            logger.info("relay_pass", relay=self.name, sent=sent, failed=failed)
        return Pass(sent=sent, failed=failed)

    def claim(self) -> list[OutboxEvent]:
        """Take up to batch_size due events for OUTBOX_CLAIM_SECONDS; the oldest first."""
        due = OutboxEvent.objects.filter(sent_at__isnull=True, next_attempt_at__lte=timezone.now())
        oldest = due.order_by("id").values("pk")[: self.batch_size]
        _claim_rows(due.filter(pk__in=Subquery(oldest)), self.name)
        return list(OutboxEvent.objects.filter(claimed_by=self.name, sent_at__isnull=True))

    def _send(self, batch: list[OutboxEvent]) -> tuple[int, int]:
        """Send the batch in order; at the first failure (the broker is likely down) or on
        stop, give the rest back. Returns (sent, failed)."""
        for index, event in enumerate(batch):
            if self._stopping.is_set():
                self._release(batch[index:])
                return index, 0
            try:
                publish(event)
            except Exception as error:
                _record_failure(event, error, claimed_by=self.name)
                self._release(batch[index + 1 :])
                return index, 1
        return len(batch), 0

    def _release(self, events: list[OutboxEvent]) -> None:
        OutboxEvent.objects.filter(
            pk__in=[event.pk for event in events], claimed_by=self.name, sent_at__isnull=True
        ).update(claimed_by="", next_attempt_at=timezone.now())

    def _prune_now_and_then(self) -> None:
        now = timezone.now().timestamp()
        if now - self._pruned_at >= PRUNE_INTERVAL_SECONDS:
            self._pruned_at = now
            outbox_prune()


def mark_delivered(task_id: str) -> None:
    """A worker has run the task of the event with this uuid (a task not sent through the
    outbox matches no row). Delivered is sent too: an earlier copy run late, while the
    event waited to be sent again, ends its waiting."""
    now = timezone.now()
    OutboxEvent.objects.filter(uuid=task_id, delivered_at__isnull=True).update(
        delivered_at=now, sent_at=Coalesce("sent_at", Value(now)), claimed_by=""
    )


def outbox_resend_undelivered(*, now: datetime | None = None) -> int:
    """Events that no worker has run by their redelivery time: pending again, for the
    relay (the consumers are idempotent), or dead-lettered once sent again
    OUTBOX_REDELIVERIES_MAX times; how many were made pending."""
    now = now or timezone.now()
    overdue = OutboxEvent.objects.filter(IN_FLIGHT, next_attempt_at__lte=now)
    limit = settings.OUTBOX_REDELIVERIES_MAX
    for event in overdue.filter(redeliveries__gte=limit):
        logger.error(
            "event_dead_lettered",
            task=event.task,
            event_id=str(event.uuid),
            sent_at=event.sent_at.isoformat(),
            redeliveries=event.redeliveries,
        )
    overdue.filter(redeliveries__gte=limit).update(dead_lettered_at=now)
    resent = overdue.update(
        sent_at=None, redeliveries=F("redeliveries") + 1, next_attempt_at=now, claimed_by=""
    )
    if resent:
        logger.warning("events_not_delivered", events=resent)
    return resent


def outbox_prune(*, now: datetime | None = None) -> int:
    """Delete events delivered more than OUTBOX_RETENTION_HOURS ago; how many. Pending,
    sent and dead-lettered events are never deleted."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.OUTBOX_RETENTION_HOURS)
    pruned, _ = OutboxEvent.objects.filter(delivered_at__lt=cutoff).delete()
    if pruned:
        logger.info("outbox_pruned", events=pruned)
    return pruned


# --- what is waiting --------------------------------------------------------------------


@dataclass(frozen=True)
class Backlog:
    pending: int  # not yet handed to the broker
    oldest_pending_age_seconds: float | None
    undelivered: int  # handed to the broker, not yet run by a worker
    dead_lettered: int  # sent OUTBOX_REDELIVERIES_MAX times more and never run: given up


def outbox_backlog() -> Backlog:
    """Events not yet sent (and how long the oldest has waited), sent and not yet run,
    and given up on."""
    pending = OutboxEvent.objects.filter(sent_at__isnull=True)
    summary = pending.aggregate(count=Count("pk"), oldest=Min("created_at"))
    oldest = summary["oldest"]
    age = round((timezone.now() - oldest).total_seconds(), 1) if oldest else None
    return Backlog(
        pending=summary["count"],
        oldest_pending_age_seconds=age,
        undelivered=OutboxEvent.objects.filter(IN_FLIGHT).count(),
        dead_lettered=OutboxEvent.objects.filter(DEAD_LETTERED).count(),
    )
