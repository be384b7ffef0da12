"""Suspend and resume third-party tokens: a pause that keeps everything, unlike revoke.

A suspended token is refused with its own code (credential_suspended) and keeps its secret,
restrictions and expiry; resuming it makes it work again as it was. Revoking stays the way to end
a token (it starts the grace period after which purge_revoked deletes it).
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accessgov.audit.actions import Action, record_event
from accessgov.core import mail
from accessgov.core.errors import ActionRefused
from accessgov.policy.models import LifetimePolicy
from tokens.models import ThirdPartyToken


def _locked(token: ThirdPartyToken) -> ThirdPartyToken:
    locked = ThirdPartyToken.objects.select_for_update().filter(pk=token.pk).first()
    if locked is None:
        raise ActionRefused("This token was deleted meanwhile.")
    return locked


@transaction.atomic
def suspend_token(
    *, token: ThirdPartyToken, by, ip: str | None, now: datetime | None = None, reason: str = ""
) -> ThirdPartyToken:
    """Suspend TOKEN: refused from the next request on every app server, everything kept.

    BY None is the system (the unused-credential rule), which names its REASON in the audit event.
    """
    now = now or timezone.now()
    locked = _locked(token)
    if locked.revoked_at is not None:
        raise ActionRefused(f"“{locked.name}” is revoked; there is nothing to suspend.")
    if locked.suspended_at is not None:
        raise ActionRefused(f"“{locked.name}” is already suspended.")
    locked.suspended_at = now
    locked.suspended_by = by
    locked.updated_at = now
    # save(), not update(): post_save makes every app server drop its cached copy (accessgov.api.cache).
    locked.save(update_fields=["suspended_at", "suspended_by", "updated_at"])
    details = {"token_id": locked.token_id}
    if reason:
        details["reason"] = reason
    record_event(
        tenant=locked.tenant,
        actor=by,
        action=Action.TOKEN_SUSPENDED,
        target=locked,
        details=details,
        ip=ip,
    )
    return locked


@transaction.atomic
def resume_token(
    *, token: ThirdPartyToken, by, ip: str | None, now: datetime | None = None
) -> ThirdPartyToken:
    """Resume a suspended TOKEN: it works again, with its secret and restrictions unchanged."""
    now = now or timezone.now()
    locked = _locked(token)
    if locked.suspended_at is None:
        raise ActionRefused(f"“{locked.name}” is not suspended.")
    suspended_at = locked.suspended_at
    locked.suspended_at = None
    locked.suspended_by = None
    locked.updated_at = now
    locked.save(update_fields=["suspended_at", "suspended_by", "updated_at"])
    record_event(
        tenant=locked.tenant,
        actor=by,
        action=Action.TOKEN_RESUMED,
        target=locked,
        details={"token_id": locked.token_id, "suspended_at": suspended_at.isoformat()},
        ip=ip,
    )
    return locked


def unused_tokens(policy: LifetimePolicy, now: datetime):
    """Return POLICY's tenant's working tokens nobody used, or changed, in its unused period before NOW.

    Never used: counted from its start date. Changed (edited, resumed) within the period: kept, so a
    token an administrator just resumed is not suspended again the next night.
    """
    cutoff = now - timedelta(days=policy.suspend_unused_after_days)
    return (
        ThirdPartyToken.objects.for_tenant(policy.tenant)
        .filter(revoked_at__isnull=True, suspended_at__isnull=True, updated_at__lte=cutoff)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .filter(Q(last_used_at__lte=cutoff) | Q(last_used_at__isnull=True, starts_at__lte=cutoff))
        .select_related("tenant")
        .order_by("pk")
    )


def suspend_unused(*, now: datetime) -> int:
    """Suspend the tokens of every tenant whose policy suspends unused ones; return how many.

    Each suspension commits with its audit event and its notice mail to the security contact, so a
    killed run is finished by the next one and nobody is told twice.
    """
    suspended = 0
    policies = LifetimePolicy.objects.filter(suspend_unused_after_days__isnull=False).select_related("tenant")
    for policy in policies.order_by("pk"):
        days = policy.suspend_unused_after_days
        for token in unused_tokens(policy, now):
            try:
                with transaction.atomic():
                    suspend_token(token=token, by=None, ip=None, now=now, reason=f"unused for {days} days")
                    mail.queue_mail(
                        to=policy.tenant.notice_recipients(),
                        subject=f"{policy.tenant.name}: token “{token.name}” suspended, unused for {days} days",
                        template="credential_suspended_unused",
                        context={
                            "tenant": policy.tenant,
                            "token": token,
                            "days": days,
                            "path": reverse("tokens:show_token", args=[policy.tenant.slug, token.pk]),
                        },
                    )
            except ActionRefused:
                continue  # suspended or revoked meanwhile: nothing to do
            suspended += 1
    return suspended
