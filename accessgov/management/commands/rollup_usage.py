"""Copy usage per credential from Redis into the database, and delete old days (cron)."""

import logging

from django.core.management.base import BaseCommand

from accessgov.usage import rollup

ops_logger = logging.getLogger("accessgov.ops")


class Command(BaseCommand):
    help = (
        "Copy the calls per credential counted since the last run into the database and delete days "
        "older than ACCESSGOV_USAGE_KEEP_DAYS. Idempotent, and safe to kill: run it every few minutes."
    )

    def handle(self, *args, **options):
        run = rollup.rollup()
        # One key=value line per run on the ops log (stderr), a heartbeat; standard output, which
        # cron mails, stays quiet: this runs every few minutes.
        ops_logger.info(run.log_line())
        if options.get("verbosity", 1) >= 2:
            self.stdout.write(run.describe())
