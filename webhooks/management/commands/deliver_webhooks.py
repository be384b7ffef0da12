"""Work through the webhook delivery queue: a worker loop, or one pass with --once (for cron)."""

from django.core.management.base import BaseCommand

from webhooks import queue


class Command(BaseCommand):
    help = "Send due webhook deliveries and their retries. Runs until stopped, or once with --once."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Deliver what is due now, then exit.")
        parser.add_argument(
            "--interval", type=float, default=2.0, help="Seconds to wait when nothing is due (default 2)."
        )

    def handle(self, *args, once: bool = False, interval: float = 2.0, **options):
        if once:
            count = queue.deliver_due(limit=1000)
            self.stdout.write(f"Attempted {count} webhook deliveries.")
        else:
            queue.run_worker(interval=interval)
