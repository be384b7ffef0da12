"""Delete webhook deliveries and their attempts older than the log is kept (run daily from cron)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from webhooks import retention


class Command(BaseCommand):
    help = "Delete settled webhook deliveries and their attempts older than the retention, in batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; change nothing."
        )
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Days the delivery log is kept (default: ACCESSGOV_WEBHOOKS_KEEP_DAYS, 30).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help="Deliveries deleted per transaction (default %(default)s).",
        )

    def handle(self, *args, dry_run: bool, days: int | None, batch_size: int, **options) -> None:
        if days is not None and days < 1:
            raise CommandError("--days must be 1 or more.")
        if not 1 <= batch_size <= retention.MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be between 1 and {retention.MAX_BATCH_SIZE}.")
        verbosity = options.get("verbosity", 1)
        # On a terminal (or with -v 2) a line per batch; under cron only the summary, and nothing
        # at all when nothing was deleted, so cron mails only when something happened.
        progress = verbosity >= 2 or (verbosity >= 1 and self.stdout.isatty())
        summary = retention.purge_deliveries(
            now=timezone.now(),
            keep=days,
            batch_size=batch_size,
            dry_run=dry_run,
            report=self.stdout.write if progress else lambda line: None,
        )
        if verbosity >= 1 and (summary.deliveries or progress or dry_run):
            self.stdout.write(summary.describe())
