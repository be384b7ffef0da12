"""A destination's health: its failure streak, the warning before accessgov disables it, the disabling.

A destination is failing from its first failed attempt after a success (`failing_since`); any
success ends the streak. After ACCESSGOV_WEBHOOKS_WARN_AFTER_DAYS (default 3) of failing the
tenant's security contacts (or else its administrators) are warned by mail and the console shows
when it will be disabled; after ACCESSGOV_WEBHOOKS_DISABLE_AFTER_DAYS (default 5) it is disabled.
A `410 Gone` answer disables it at once. Disabling is audited, mailed, and announced by a signed
`destination.disabled` event to the tenant's other destinations that subscribe to it (the audit
event is a governance event: webhooks.events queues it once the change is committed).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from accessgov.audit.actions import Action, record_event
from accessgov.core import mail
from webhooks.models import WebhookDestination

ops_logger = logging.getLogger("accessgov.ops")
SYSTEM = "accessgov"
GONE_REASON = "The receiver answered 410 Gone."


def warn_after() -> timedelta:
    return timedelta(days=float(getattr(settings, "ACCESSGOV_WEBHOOKS_WARN_AFTER_DAYS", 3)))


def disable_after() -> timedelta:
    return timedelta(days=float(getattr(settings, "ACCESSGOV_WEBHOOKS_DISABLE_AFTER_DAYS", 5)))


def disables_at(destination: WebhookDestination) -> datetime | None:
    """Return when DESTINATION will be disabled if no delivery succeeds first, or None if not failing."""
    if destination.failing_since is None or not destination.is_enabled:
        return None
    return destination.failing_since + disable_after()


def warning_due(destination: WebhookDestination, now: datetime) -> bool:
    """Return whether DESTINATION has failed long enough for the console to warn about disabling."""
    return destination.is_enabled and (
        destination.failing_since is not None and destination.failing_since <= now - warn_after()
    )


def _notice_context(destination: WebhookDestination) -> dict:
    tenant = destination.tenant
    return {
        "tenant": tenant,
        "destination": destination,
        "destination_path": reverse("webhooks:show_destination", args=[tenant.slug, destination.pk]),
    }


def record_outcome(destination: WebhookDestination, *, ok: bool, gone: bool, now: datetime) -> None:
    """Note one attempt's outcome in DESTINATION's failure streak; disable it on 410 or once too long."""
    rows = WebhookDestination.objects.filter(pk=destination.pk)
    if ok:
        if destination.failing_since is None:
            return  # as loaded with the claim: no streak to end, no write
        rows.filter(failing_since__isnull=False).update(failing_since=None, disable_warned_at=None)
        destination.failing_since = destination.disable_warned_at = None
        return
    if rows.filter(failing_since__isnull=True).update(failing_since=now):
        destination.failing_since = now
    if gone:
        disable_destination(destination=destination, reason=GONE_REASON, now=now)
    else:
        destination.refresh_from_db(fields=["failing_since", "disable_warned_at", "is_enabled"])
        _review(destination, now)


def _review(destination: WebhookDestination, now: datetime) -> str:
    if not destination.is_enabled or destination.failing_since is None:
        return ""
    if destination.failing_since <= now - disable_after():
        days = (now - destination.failing_since).days
        reason = (
            f"No delivery succeeded for {days} days (since {destination.failing_since:%Y-%m-%d %H:%M} UTC)."
        )
        return "disabled" if disable_destination(destination=destination, reason=reason, now=now) else ""
    if destination.failing_since <= now - warn_after() and destination.disable_warned_at is None:
        return "warned" if warn_destination(destination=destination, now=now) else ""
    return ""


def review_failing(*, now: datetime) -> dict[str, int]:
    """Warn about and disable the failing destinations whose time has come; return counts by outcome.

    The worker calls this every round, so a destination that stopped getting deliveries is still
    warned and disabled on time.
    """
    counts = {"warned": 0, "disabled": 0}
    candidates = WebhookDestination.objects.filter(
        is_enabled=True, failing_since__lte=now - warn_after()
    ).select_related("tenant")
    for destination in candidates:
        outcome = _review(destination, now)
        if outcome:
            counts[outcome] += 1
    if any(counts.values()):
        ops_logger.info("webhook destinations warned=%d disabled=%d", counts["warned"], counts["disabled"])
    return counts


@transaction.atomic
def warn_destination(*, destination: WebhookDestination, now: datetime) -> bool:
    """Warn DESTINATION's tenant by mail (once per streak) that it will be disabled; False if done already."""
    if not WebhookDestination.objects.filter(pk=destination.pk, disable_warned_at__isnull=True).update(
        disable_warned_at=now
    ):
        return False
    destination.disable_warned_at = now
    when = disables_at(destination)
    record_event(
        tenant=destination.tenant,
        actor=None,
        actor_label=SYSTEM,
        action=Action.WEBHOOK_DESTINATION_FAILING,
        target=destination,
        details={"failing_since": destination.failing_since.isoformat(), "disables_at": when.isoformat()},
    )
    mail.queue_mail(
        to=destination.tenant.notice_recipients(),
        subject=f"Webhook destination failing, disabled on {when:%Y-%m-%d %H:%M} UTC: {destination.url}",
        template="webhook_destination_failing",
        context={**_notice_context(destination), "disables_at": when},
    )
    return True


@transaction.atomic
def disable_destination(*, destination: WebhookDestination, reason: str, now: datetime) -> bool:
    """Disable DESTINATION for REASON, audit it, mail the tenant and announce it; False if already off."""
    if not WebhookDestination.objects.filter(pk=destination.pk, is_enabled=True).update(
        is_enabled=False, disabled_at=now, disabled_reason=reason[:200], updated_at=now
    ):
        return False
    destination.is_enabled = False
    destination.disabled_at = now
    destination.disabled_reason = reason[:200]
    # The audit event is also the signed `destination.disabled` webhook to the other destinations.
    record_event(
        tenant=destination.tenant,
        actor=None,
        actor_label=SYSTEM,
        action=Action.WEBHOOK_DESTINATION_DISABLED,
        target=destination,
        details={
            "url": destination.url,
            "reason": reason,
            "failing_since": destination.failing_since.isoformat() if destination.failing_since else None,
        },
    )
    mail.queue_mail(
        to=destination.tenant.notice_recipients(),
        subject=f"Webhook destination disabled: {destination.url}",
        template="webhook_destination_disabled",
        context={**_notice_context(destination), "reason": reason},
    )
    return True
