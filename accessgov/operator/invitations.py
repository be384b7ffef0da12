"""Invitations by e-mail: someone without an account is asked to join a tenant with a role.

The link carries a 256-bit token (agi_…) kept only as a peppered digest. It works once, until
ACCESSGOV_INVITATION_HOURS after it was sent. The mail goes through the outbox, whose bodies are
wiped once sent, so the link does not stay in the database. Opening the link checks the token,
keeps the invitation's id in the session and redirects to a page without it
(accessgov.operator.views), so it stays out of the browser's history and Referer headers. Each step is audited in the tenant's Activity.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accessgov.audit.actions import Action, actor_label_for, record_event, save_directory_row
from accessgov.core import keys
from accessgov.core.errors import ActionRefused
from accessgov.core.mail import queue_mail
from accessgov.operator.models import INVITATION_PREFIX, Invitation, Outcome
from tenants.models import Membership, Role, Tenant


def invitation_lifetime() -> timedelta:
    """Return how long an invitation link works (ACCESSGOV_INVITATION_HOURS)."""
    return timedelta(hours=settings.ACCESSGOV_INVITATION_HOURS)


@sensitive_variables("raw", "link")
@transaction.atomic
def invite(
    *, tenant: Tenant, email: str, role: Role, actor_label: str | None, by=None, ip: str | None = None
) -> tuple[Invitation, Outcome]:
    """Invite EMAIL (no account yet) to TENANT as ROLE and queue the mail; return it and what happened.

    A pending invitation of the same address and role is left as it is ("unchanged": a nightly sync
    sends one mail, not one a night); one with another role is replaced by a new one.
    """
    now = timezone.now()
    pending = Invitation.objects.select_for_update().pending(now).filter(tenant=tenant, email=email)
    same = pending.filter(role=role).first()
    if same is not None:
        return same, Outcome.UNCHANGED
    pending.update(revoked_at=now)
    raw = keys.generate_secret(INVITATION_PREFIX)
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=role,
        **keys.stored_fields(raw, INVITATION_PREFIX),
        invited_by=actor_label or actor_label_for(by),
        created_at=now,
        expires_at=now + invitation_lifetime(),
    )
    link = settings.ACCESSGOV_SITE_URL.rstrip("/") + reverse("operator:open_invitation", args=[raw])
    queue_mail(
        to=[email],
        subject=f"You are invited to {tenant.name} on accessgov",
        template="invitation",
        context={
            "tenant": tenant,
            "role": Role(role).label,
            "link": link,
            "expires_at": invitation.expires_at,
            "invited_by": actor_label or actor_label_for(by),
            "requires_mfa": role == Role.ADMINISTRATOR and tenant.administrators_must_use_mfa,
        },
        kind="invitation",
    )
    record_event(
        tenant=tenant,
        actor=by,
        action=Action.INVITATION_SENT,
        target=invitation,
        details={"email": email, "role": role, "expires_at": invitation.expires_at.isoformat()},
        ip=ip,
        actor_label=actor_label if by is None else None,
    )
    return invitation, Outcome.INVITED


def find_invitation(raw: str) -> Invitation | None:
    """Return the invitation whose token is RAW (usable or not), or None for anything else."""
    if not isinstance(raw, str) or keys.parse_secret(raw, INVITATION_PREFIX) is None:
        return None
    invitation = (
        Invitation.objects.select_related("tenant")
        .filter(prefix=keys.visible_prefix(raw, INVITATION_PREFIX))
        .first()
    )
    if invitation is None:
        keys.burn_equal_time(raw)
        return None
    return invitation if invitation.matches(raw) else None


def opened_invitation(pk) -> Invitation | None:
    """Return the invitation whose link this browser opened (its id kept in the session), or None."""
    if not isinstance(pk, int):
        return None
    return Invitation.objects.select_related("tenant").filter(pk=pk).first()


def refusal_reason(invitation: Invitation, now) -> str | None:
    """Return why INVITATION cannot be accepted at NOW ("used", "expired", "withdrawn"), or None."""
    if invitation.accepted_at is not None:
        return "used"
    if invitation.revoked_at is not None:
        return "withdrawn"
    if now >= invitation.expires_at:
        return "expired"
    if not invitation.tenant.is_active:
        return "withdrawn"
    return None


def record_refusal(*, invitation: Invitation, reason: str, ip: str | None) -> None:
    """Audit that INVITATION's link was used when it could no longer be accepted."""
    record_event(
        tenant=invitation.tenant,
        actor=None,
        action=Action.INVITATION_REFUSED,
        target=invitation,
        details={"email": invitation.email, "reason": reason},
        ip=ip,
        actor_label=invitation.email,
    )


@sensitive_variables("password")
@transaction.atomic
def accept_invitation(*, invitation: Invitation, password: str, ip: str | None = None):
    """Make the account of INVITATION's address with PASSWORD, make it a member, and return the user.

    The invitation row is locked first, so two submissions of one link make one account.
    """
    now = timezone.now()
    locked = Invitation.objects.select_for_update().select_related("tenant").get(pk=invitation.pk)
    if (reason := refusal_reason(locked, now)) is not None:
        raise ActionRefused(
            {
                "used": "This invitation was already used. Sign in instead.",
                "expired": "This invitation has expired. Ask for a new one.",
                "withdrawn": "This invitation was withdrawn.",
            }[reason]
        )
    users = get_user_model()._default_manager
    if (
        users.filter(username__iexact=locked.email).exists()
        or users.filter(email__iexact=locked.email).exists()
    ):
        raise ActionRefused(
            "An account with this address exists already. Sign in, and ask to be added instead."
        )
    user = users.create_user(username=locked.email, email=locked.email, password=password)
    locked.accepted_at, locked.user = now, user
    locked.save(update_fields=["accepted_at", "user"])
    record_event(
        tenant=locked.tenant,
        actor=user,
        action=Action.INVITATION_ACCEPTED,
        target=locked,
        details={"email": locked.email, "role": locked.role},
        ip=ip,
    )
    save_directory_row(row=Membership(tenant=locked.tenant, user=user, role=locked.role), by=user, ip=ip)
    return user
