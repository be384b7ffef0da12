"""Expiry reminders: each credential expiring soon is announced once per threshold (30, 7, 1 days).

`send_reminders` (run by cron as `manage.py send_reminders`) mails the tenant's security contact
and the token's creator, through the outbox (accessgov.core.mail), and records a
`credential.expiring` audit event, which webhook destinations may subscribe to (webhooks.events).
The `ReminderSent` row, the mail and the event are written in one transaction and the row is
unique per (token, expiry, threshold): a run killed half-way, or two runs at once, send each
reminder exactly once, and the next run sends what the killed one had not.

Only third-party tokens have an expiry today: API keys and trusted applications' authorizations
never expire, so there is nothing to remind about them.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from accessgov.audit.actions import Action, record_event
from accessgov.core import mail
from tenants.models import Membership, Tenant
from tokens.models import ReminderSent, ThirdPartyToken


def token_path(token: ThirdPartyToken) -> str:
    """Return the console path a reminder links to: the token's page, at its Renew section."""
    return reverse("tokens:show_token", args=[token.tenant.slug, token.pk]) + "#renew"


def due_threshold(expires_at: datetime, now: datetime, thresholds: tuple[int, ...]) -> int | None:
    """Return the smallest threshold (days) the time left until EXPIRES_AT is within, or None.

    A token made with 5 days left gets the 7-day reminder only, never a late 30-day one.
    """
    left = expires_at - now
    if left <= timedelta(0):
        return None
    within = [days for days in thresholds if left <= timedelta(days=days)]
    return min(within) if within else None


@dataclass
class ReminderRun:
    """What one send_reminders run did."""

    reminders: int = 0
    mails: int = 0
    digests: int = 0
    tenants: int = 0
    skipped: int = 0  # already sent by another run at the same moment
    seconds: float = 0.0

    def log_line(self) -> str:
        """Return the run as one `key=value` line for the operations log."""
        return (
            f"send_reminders finished reminders={self.reminders} mails={self.mails} digests={self.digests} "
            f"tenants={self.tenants} skipped={self.skipped} seconds={self.seconds:.2f}"
        )


@dataclass(frozen=True)
class Reminder:
    token: ThirdPartyToken
    threshold_days: int

    def days_left(self, now: datetime) -> int:
        """Return the whole days left, rounded up (a token expiring in 6 h has 1 day left)."""
        left = self.token.expires_at - now
        return max(1, -(-int(left.total_seconds()) // 86400))


def _creator_addresses(tenant: Tenant, tokens: list[ThirdPartyToken]) -> list[str]:
    """Return the addresses of the creators of TOKENS who are still active members of TENANT.

    A creator who left the tenant is not told about its credentials (the security contact is).
    """
    creator_ids = {token.created_by_id for token in tokens if token.created_by_id}
    if not creator_ids:
        return []
    return sorted(
        set(
            Membership.objects.for_tenant(tenant)
            .filter(user_id__in=creator_ids, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def _due(tenant: Tenant, now: datetime, thresholds: tuple[int, ...]) -> list[Reminder]:
    """Return TENANT's reminders due at NOW that no run has sent yet, soonest expiry first."""
    tokens = list(
        ThirdPartyToken.objects.for_tenant(tenant)
        .expiring(now, timedelta(days=max(thresholds)))
        .select_related("tenant", "created_by")
    )
    sent = set(
        ReminderSent.objects.filter(token__in=tokens).values_list("token_id", "expires_at", "threshold_days")
    )
    due = []
    for token in tokens:
        threshold = due_threshold(token.expires_at, now, thresholds)
        if threshold is not None and (token.pk, token.expires_at, threshold) not in sent:
            due.append(Reminder(token, threshold))
    return due


def _record(reminders: list[Reminder], *, now: datetime, in_digest: bool) -> None:
    """Write the ReminderSent rows and the credential.expiring audit events of REMINDERS."""
    ReminderSent.objects.bulk_create(
        [
            ReminderSent(
                token=r.token,
                expires_at=r.token.expires_at,
                threshold_days=r.threshold_days,
                sent_at=now,
                in_digest=in_digest,
            )
            for r in reminders
        ]
    )
    for reminder in reminders:
        token = reminder.token
        # The event reaches subscribed webhook destinations once committed (webhooks.events).
        record_event(
            tenant=token.tenant,
            actor=None,
            action=Action.CREDENTIAL_EXPIRING,
            target=token,
            details={
                "kind": "ThirdPartyToken",
                "token_id": token.token_id,
                "name": token.name,
                "expires_at": token.expires_at.isoformat(),
                "days_left": reminder.days_left(now),
                "threshold_days": reminder.threshold_days,
            },
        )


def _item(reminder: Reminder, now: datetime) -> dict:
    token = reminder.token
    return {
        "name": token.name,
        "token_id": token.token_id,
        "expires_at": token.expires_at,
        "days_left": reminder.days_left(now),
        "path": token_path(token),
    }


def _send_one(tenant: Tenant, reminder: Reminder, *, now: datetime) -> bool | None:
    """Queue one reminder mail with its record, in one transaction.

    Return whether a mail was queued (False: nobody to tell), None if another run sent it first.
    """
    item = _item(reminder, now)
    try:
        with transaction.atomic():
            _record([reminder], now=now, in_digest=False)
            queued = mail.queue_mail(
                to=tenant.notice_recipients() + _creator_addresses(tenant, [reminder.token]),
                subject=f"{tenant.name}: token “{item['name']}” expires in {item['days_left']} day(s)",
                template="credential_expiring",
                context={"tenant": tenant, "item": item},
            )
    except IntegrityError:
        return None
    return queued is not None


def _send_digest(tenant: Tenant, reminders: list[Reminder], *, now: datetime) -> bool | None:
    """Queue one digest mail for all REMINDERS of TENANT with their records (as _send_one)."""
    items = [_item(reminder, now) for reminder in reminders]
    try:
        with transaction.atomic():
            _record(reminders, now=now, in_digest=True)
            queued = mail.queue_mail(
                to=tenant.notice_recipients() + _creator_addresses(tenant, [r.token for r in reminders]),
                subject=f"{tenant.name}: {len(items)} API credentials expire soon",
                template="credentials_expiring_digest",
                context={
                    "tenant": tenant,
                    "items": items,
                    "list_path": reverse("tokens:list_tokens", args=[tenant.slug]),
                },
            )
    except IntegrityError:
        return None
    return queued is not None


def send_reminders(
    *,
    now: datetime,
    thresholds: tuple[int, ...] | None = None,
    digest_over: int | None = None,
    report: Callable[[str], None] = lambda line: None,
) -> ReminderRun:
    """Queue the expiry reminders due at NOW, tenant by tenant, each exactly once.

    A tenant with more than DIGEST_OVER reminders due in this run gets one digest mail instead of
    single ones. REPORT gets a line per mail; the run ends with one line on "accessgov.ops".
    """
    thresholds = tuple(thresholds or settings.ACCESSGOV_REMINDER_DAYS)
    digest_over = settings.ACCESSGOV_REMINDER_DIGEST_OVER if digest_over is None else digest_over
    started = time.monotonic()
    run = ReminderRun()
    expiring = ThirdPartyToken.objects.expiring(now, timedelta(days=max(thresholds)))
    tenant_ids = expiring.order_by("tenant_id").values_list("tenant_id", flat=True).distinct()
    for tenant in Tenant.objects.filter(pk__in=list(tenant_ids)).order_by("pk"):
        due = _due(tenant, now, thresholds)
        if not due:
            continue
        run.tenants += 1
        if len(due) > digest_over:
            mailed = _send_digest(tenant, due, now=now)
            if mailed is None:
                run.skipped += len(due)
                continue
            run.reminders += len(due)
            run.mails += mailed
            run.digests += mailed
            report(f"{tenant.slug}: digest of {len(due)} reminder(s)")
            continue
        for reminder in due:
            mailed = _send_one(tenant, reminder, now=now)
            if mailed is None:
                run.skipped += 1
                continue
            run.reminders += 1
            run.mails += mailed
            report(f"{tenant.slug}: {reminder.threshold_days}-day reminder for {reminder.token.token_id}")
    run.seconds = time.monotonic() - started
    return run
