from argparse import ArgumentTypeError

from django.core.management.base import BaseCommand, CommandError

from city.tasks import Relay


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ArgumentTypeError(f"a whole number of 1 or more is needed, not {text!r}")
    return int(text)


class Command(BaseCommand):
    help = (
        "Send the outbox's pending events to the broker until stopped (SIGTERM ends it "
        "after the event being sent); retries with backoff across broker outages."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Send what is due now and exit; exit status 1 if a send failed.",
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=None,
            metavar="N",
            help="Events claimed at a time (default: OUTBOX_BATCH_SIZE).",
        )

    def handle(self, *args, once: bool, batch_size: int | None, **options):
        relay = Relay(batch_size=batch_size) if batch_size else Relay()
        relay.stop_on_signals()
        if not once:
            relay.run_forever()
            return
        relayed = relay.run_once()
        summary = f"sent {relayed.sent}, failed {relayed.failed}"
        if relayed.failed:
            raise CommandError(f"{summary}: the failed event stays pending, to be sent again.")
        self.stdout.write(summary)
