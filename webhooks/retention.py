"""How long the delivery log is kept, and deleting what is older (`manage.py purge_deliveries`)."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from webhooks.models import WebhookAttempt, WebhookDelivery

ops_logger = logging.getLogger("accessgov.ops")
DEFAULT_KEEP_DAYS = 30
MAX_BATCH_SIZE = 10_000


def keep_days() -> int:
    """Return how many days settled deliveries and their attempts are kept (ACCESSGOV_WEBHOOKS_KEEP_DAYS)."""
    return int(getattr(settings, "ACCESSGOV_WEBHOOKS_KEEP_DAYS", DEFAULT_KEEP_DAYS))


@dataclass
class PurgeSummary:
    """What one purge_deliveries run did (or, for a dry run, would do)."""

    deliveries: int = 0
    attempts: int = 0
    batches: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    def describe(self) -> str:
        """Return the one-sentence summary a person reads at the end of a run."""
        if self.dry_run:
            return (
                f"Dry run: {self.deliveries} delivery(ies) with {self.attempts} attempt(s) would be deleted."
            )
        if not self.deliveries:
            return "Nothing to delete."
        return (
            f"Deleted {self.deliveries} delivery(ies) with {self.attempts} attempt(s) "
            f"in {self.batches} batch(es)."
        )

    def log_line(self) -> str:
        """Return the run as one `key=value` line for the operations log."""
        return (
            f"purge_deliveries finished deliveries={self.deliveries} attempts={self.attempts} "
            f"batches={self.batches} seconds={self.seconds:.2f} dry_run={str(self.dry_run).lower()}"
        )


def purge_deliveries(
    *,
    now: datetime,
    keep: int | None = None,
    batch_size: int = 1000,
    dry_run: bool = False,
    report: Callable[[str], None] = lambda line: None,
) -> PurgeSummary:
    """Delete deliveries settled more than KEEP days before NOW, and their attempts, in batches.

    Each batch is one short transaction: its attempts, then its deliveries, BATCH_SIZE deliveries
    in id order (SKIP LOCKED where the database has it, so two overlapping runs take disjoint rows).
    A run killed half-way leaves whole batches deleted and the next run finishes the work. Pending
    deliveries are never deleted, whatever their age. The run ends with one line on the
    "accessgov.ops" logger when it did something.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}.")
    started = time.monotonic()
    purgeable = WebhookDelivery.objects.purgeable(now, keep_days() if keep is None else keep)
    summary = PurgeSummary(dry_run=dry_run)
    if dry_run:
        summary.deliveries = purgeable.count()
        summary.attempts = WebhookAttempt.objects.filter(delivery__in=purgeable).count()
        report(summary.describe())
    else:
        last_id = 0
        while True:
            with transaction.atomic():
                batch = purgeable.filter(pk__gt=last_id).order_by("pk")
                if connection.features.has_select_for_update_skip_locked:
                    batch = batch.select_for_update(skip_locked=True)
                ids = list(batch.values_list("pk", flat=True)[:batch_size])
                if not ids:
                    break
                last_id = ids[-1]
                # Attempts first, with one DELETE (nothing points at them), then the deliveries,
                # whose cascade then finds nothing left to collect.
                attempts, _ = WebhookAttempt.objects.filter(delivery_id__in=ids).delete()
                WebhookDelivery.objects.filter(pk__in=ids).delete()
            summary.deliveries += len(ids)
            summary.attempts += attempts
            summary.batches += 1
            report(f"Batch {summary.batches}: {len(ids)} deliveries, {attempts} attempts deleted.")
    summary.seconds = time.monotonic() - started
    if summary.deliveries or dry_run:
        ops_logger.info(summary.log_line())
    return summary
