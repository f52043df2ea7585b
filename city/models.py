"""The platform's tables: the outbox of events between services."""

import uuid

from django.db import models


class OutboxEvent(models.Model):
    """A Celery task to send by name, written in the transaction of the change that causes
    it, and relayed until the broker took it (city/tasks.py, `manage.py relay_events`).

    Pending while `sent_at` is empty. `next_attempt_at` says when the relay may take it:
    a short grace after it was written (the process that wrote it sends it first), a
    backoff after a failed send, or the end of a relay's claim (`claimed_by`), after which
    another relay takes over from one that died. `delivered_at` is set when a worker has
    run the task; one sent and never delivered (lost between the broker and a worker) is
    sent again (`city.tasks.outbox_resend_undelivered`).
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
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The relay's question (what is due?) and the backlog's, over pending rows only.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(sent_at__isnull=True),
                name="city_outbox_pending_due",
            ),
            models.Index(
                fields=["sent_at"],
                condition=models.Q(sent_at__isnull=False),
                name="city_outbox_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.uuid} ({'sent' if self.sent_at else 'pending'})"
