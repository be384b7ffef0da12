"""Send credential expiry reminders and suspend unused tokens (run daily from cron)."""

import logging

from django.core.management.base import BaseCommand
from django.utils import timezone

from tokens.reminders import send_reminders
from tokens.suspension import suspend_unused

ops_logger = logging.getLogger("accessgov.ops")


class Command(BaseCommand):
    help = (
        "Queue expiry reminders (30, 7 and 1 days before; each once) to security contacts and creators, "
        "and suspend tokens unused for as long as their tenant's lifetime policy allows."
    )

    def handle(self, *args, **options) -> None:
        verbosity = options.get("verbosity", 1)
        progress = verbosity >= 2 or (verbosity >= 1 and self.stdout.isatty())
        now = timezone.now()
        run = send_reminders(now=now, report=self.stdout.write if progress else lambda line: None)
        suspended = suspend_unused(now=now)
        # One key=value line per run on the ops log (stderr), a heartbeat like purge_revoked's;
        # standard output, which cron mails, only when something was sent or suspended.
        ops_logger.info(f"{run.log_line()} suspended_unused={suspended}")
        if (run.reminders or suspended or progress) and verbosity >= 1:
            self.stdout.write(
                f"Queued {run.reminders} reminder(s) in {run.mails} mail(s) ({run.digests} digest(s)) "
                f"for {run.tenants} tenant(s); suspended {suspended} unused token(s)."
            )
