from celery import shared_task

from apps.greeter.services import welcome_record_for_tenant


@shared_task(name="greeter.welcome_resident")
def welcome_resident(user_id: int, lease_id: int) -> None:
    """Sent by name by the leasing service when a lease becomes active."""
    welcome_record_for_tenant(user_id=user_id, lease_id=lease_id)
