from datetime import timedelta

from django.core.management.base import BaseCommand

from apps.documents.services import documents_sweep


class Command(BaseCommand):
    help = (
        "Queue again documents left pending or processing past the timeout "
        "(DOCUMENTS_STALE_AFTER_SECONDS); fail those out of attempts. Beat runs it too."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Override the timeout, e.g. 0 right after a broker outage.",
        )

    def handle(self, *args, older_than: float | None, **options):
        sweep = documents_sweep(
            older_than=None if older_than is None else timedelta(seconds=older_than)
        )
        self.stdout.write(f"requeued {len(sweep.requeued)}, failed {len(sweep.failed)}")
