from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from apps.leasing.services import applications_expire_stale


class Command(BaseCommand):
    help = (
        "Expire the applications left submitted, undecided, for more than "
        "LEASING_APPLICATION_TTL_DAYS, ending their manager's read of the applicant's "
        "documents. Beat runs it daily too (leasing.expire_stale_applications)."
    )

    def handle(self, *args, **options):
        expired = applications_expire_stale(now=timezone.now())
        days = settings.LEASING_APPLICATION_TTL_DAYS
        self.stdout.write(f"expired {expired} application(s) submitted over {days} days ago")
