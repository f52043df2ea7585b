"""The platform's tables: the outbox of events between services."""

import uuid

from django.db import models

# Sent to the broker, not yet run by a worker, still being sent again.
IN_FLIGHT = models.Q(
    sent_at__isnull=False, delivered_at__isnull=True, dead_lettered_at__isnull=True
)
# Given up on: sent OUTBOX_REDELIVERIES_MAX times more, never run.
DEAD_LETTERED = models.Q(dead_lettered_at__isnull=False, delivered_at__isnull=True)


class OutboxEvent(models.Model):
    """A Celery task to send by name, written in the transaction of the change that causes
    it, and relayed until a worker has run it (city/tasks.py, `manage.py relay_events`).

    Pending while `sent_at` is empty. `next_attempt_at` says when the relay next acts on
    it. Pending: when it may send it, after a short grace once written (the process that
    wrote it sends it first), a backoff after a failed send, or the end of a claim
    (`claimed_by`: a relay's, or the writer's while it sends). Sent: when to send it again
    if no worker has run it by then (`delivered_at`, set by the worker), the wait doubling
    with each of its `redeliveries`; after OUTBOX_REDELIVERIES_MAX of them it is
    dead-lettered (`dead_lettered_at`) instead.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    redeliveries = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_lettered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        # Partial indexes: each question the relay and the probes ask every few seconds
        # reads only the few rows it is about, never the week of delivered ones.
        indexes = [
            # What is due to send (the relay), and the backlog.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(sent_at__isnull=True),
                name="city_outbox_pending_due",
            ),
            # What is due to send again (the relay), and how many are in flight.
            models.Index(
                fields=["next_attempt_at"], condition=IN_FLIGHT, name="city_outbox_in_flight"
            ),
            models.Index(fields=["id"], condition=DEAD_LETTERED, name="city_outbox_dead"),
            # Pruning.
            models.Index(
                fields=["delivered_at"],
                condition=models.Q(delivered_at__isnull=False),
                name="city_outbox_delivered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.uuid} ({'sent' if self.sent_at else 'pending'})"
