"""Delete third-party tokens whose grace period after revocation has ended (run daily from cron)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tokens.actions import MAX_BATCH_SIZE, purge_revoked_tokens


class Command(BaseCommand):
    help = "Delete revoked third-party tokens whose grace period has ended, in batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be deleted; change nothing."
        )
        parser.add_argument(
            "--grace-days",
            type=int,
            default=settings.ACCESSGOV_REVOKE_GRACE_DAYS,
            help="Days a revoked token is kept (default: ACCESSGOV_REVOKE_GRACE_DAYS, %(default)s).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help="Tokens deleted per transaction (default %(default)s).",
        )

    def handle(self, *args, dry_run: bool, grace_days: int, batch_size: int, **options) -> None:
        if grace_days < 0:
            raise CommandError("--grace-days must be 0 or more.")
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}.")
        verbosity = options.get("verbosity", 1)
        # On a terminal (or with -v 2) a line per batch; under cron only the summary, and nothing
        # at all when nothing was deleted, so cron mails only when something happened. A dry run
        # is asked for to see the list, so it always prints it.
        progress = verbosity >= 2 or (verbosity >= 1 and self.stdout.isatty())
        summary = purge_revoked_tokens(
            now=timezone.now(),
            grace_days=grace_days,
            batch_size=batch_size,
            dry_run=dry_run,
            report=self.stdout.write if progress or (dry_run and verbosity >= 1) else lambda line: None,
        )
        if verbosity >= 1 and (summary.tokens or progress or dry_run):
            self.stdout.write(summary.describe())
