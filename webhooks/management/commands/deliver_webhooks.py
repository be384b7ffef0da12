"""Work through the webhook delivery queue: a worker loop, or one pass with --once (for cron)."""

from django.core.management.base import BaseCommand, CommandError

from webhooks import queue


class Command(BaseCommand):
    help = "Send due webhook deliveries and their retries. Runs until stopped, or once with --once."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Deliver what is due now, then exit.")
        parser.add_argument(
            "--interval", type=float, default=2.0, help="Seconds to wait when nothing is due (default 2)."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Threads sending at once, each claiming on its own (default 1; docs/webhooks.md says how many).",
        )

    def handle(self, *args, once: bool = False, interval: float = 2.0, workers: int = 1, **options):
        if not 1 <= workers <= 64:
            raise CommandError("--workers must be between 1 and 64.")
        verbosity = options.get("verbosity", 1)
        # On a terminal (or with -v 2) a line per attempt and per round; under cron only the
        # summary, and nothing at all when nothing was due, so cron mails only when there was work.
        progress = verbosity >= 2 or (verbosity >= 1 and self.stdout.isatty())
        report = self.stdout.write if progress else None
        if once:
            with queue.single_run() as mine:
                if not mine:
                    # Cron started us while the last run is still going: not an error, one line.
                    queue.ops_logger.info("deliver_webhooks skipped: another --once run is still going")
                    return
                run = queue.deliver_pending(report=report)
            if verbosity >= 1 and (run.attempted or progress):
                self.stdout.write(run.describe())
        else:
            queue.run_worker(interval=interval, report=report, workers=workers)
