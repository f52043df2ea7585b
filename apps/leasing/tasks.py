"""Leasing's daily upkeep, for the scheduler (Celery beat) to send once a day."""

from celery import shared_task
from django.utils import timezone

from apps.leasing import services


@shared_task(name="leasing.end_due_leases")
def end_due_leases() -> None:
    services.leases_end_due(on=timezone.localdate())


@shared_task(name="leasing.extend_open_ended_schedules")
def extend_open_ended_schedules() -> None:
    services.charges_extend_open_ended(on=timezone.localdate())


@shared_task(name="leasing.expire_stale_applications")
def expire_stale_applications() -> None:
    services.applications_expire_stale(now=timezone.now())
