"""Send the mail outbox once (cron), for deployments that do not run the webhook worker as a service."""

import logging

from django.core.management.base import BaseCommand

from accessgov.core import mail

ops_logger = logging.getLogger("accessgov.ops")


class Command(BaseCommand):
    help = "Send queued mail (invitations, reminders, notices) that is due, then exit."

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit", type=int, default=500, help="Most mails to send in this run (default 500)."
        )

    def handle(self, *args, limit: int = 500, **options):
        run = mail.send_queued(limit=limit)
        if run.attempted:
            # Quiet under cron when there was nothing to send; one line when there was.
            ops_logger.info(run.describe())
            if options.get("verbosity", 1) >= 1:
                self.stdout.write(run.describe())
