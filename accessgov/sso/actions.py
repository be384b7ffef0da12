"""Sign a person in from the identity provider's validated claims: find, link or create the account,
apply the memberships the provider names, and audit each step (refusals included)."""

import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accessgov.audit.actions import record_event
from accessgov.audit.models import Action
from accessgov.core.clientip import get_client_ip
from accessgov.sso.models import ProviderAccount
from accessgov.sso.provider import Refusal
from tenants.models import Membership, Role, Tenant

logger = logging.getLogger("accessgov.sso")

ACCOUNT_REFUSALS = {
    "unverified_email": "The identity provider did not say your e-mail address is verified, so no account can be matched to it.",
    "staff_account": "This e-mail address belongs to a staff account. Staff sign in with their password and second factor.",
    "ambiguous_email": "Several accounts use this e-mail address. Ask support to sort them out.",
    "linked_elsewhere": "The account with this e-mail address is linked to another identity at the provider.",
    "no_account": "No accessgov account matches this sign-in, and the identity provider gave you no tenant. Ask your administrator for access.",
    "inactive": "This account is deactivated.",
    "bad_tenants_claim": "The identity provider's list of tenants cannot be read ({detail}). Tell your operator.",
}
USERNAME_SAFE = re.compile(r"[^\w.@+-]")


def account_refusal(reason: str, detail: str = "") -> Refusal:
    """Return the Refusal for an account REASON, its message completed with DETAIL."""
    return Refusal(reason, ACCOUNT_REFUSALS[reason].format(detail=detail))


@dataclass(frozen=True)
class Identity:
    """What accessgov reads from a validated ID token."""

    issuer: str
    subject: str
    email: str  # empty unless the provider says it is verified
    username_hint: str
    tenants: tuple[tuple[str, str], ...] | None  # (external_id, role); None: the claim is not used
    mfa: bool


def _verified(claims: dict) -> bool:
    # Some providers send the JSON string "true" instead of the boolean.
    return claims.get("email_verified") in (True, "true")


def parse_tenants_claim(value: object) -> tuple[tuple[str, str], ...]:
    """Return the (external_id, role) pairs of a `tenants` claim; raise a Refusal if it is malformed.

    A malformed claim refuses the sign-in rather than being read as "no tenants", which would
    remove every membership the claim manages because of a provider-side mistake.
    """
    if value is None:
        return ()
    if not isinstance(value, list):
        raise account_refusal("bad_tenants_claim", "not a list")
    pairs: dict[str, str] = {}
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("external_id"), str):
            raise account_refusal("bad_tenants_claim", "an entry has no external_id")
        external_id, role = entry["external_id"].strip(), entry.get("role")
        if not external_id or role not in Role.values:
            raise account_refusal("bad_tenants_claim", f"unknown role {str(role)[:40]!r}")
        if pairs.get(external_id, role) != role:
            raise account_refusal("bad_tenants_claim", f"two roles for {external_id[:40]!r}")
        pairs[external_id] = role
    return tuple(pairs.items())


def identity_from_claims(claims: dict) -> Identity:
    """Return the Identity of validated CLAIMS (raise a Refusal if the tenants claim is malformed)."""
    amr = claims.get("amr") if isinstance(claims.get("amr"), list) else []
    mfa = bool(set(amr) & set(settings.OIDC_MFA_AMR)) or claims.get("acr") in settings.OIDC_MFA_ACR
    email = claims.get(settings.OIDC_EMAIL_CLAIM)
    email = email.strip() if isinstance(email, str) and _verified(claims) else ""
    hint = claims.get("preferred_username") or email or claims.get("email") or ""
    tenants = None
    if settings.OIDC_TENANTS_CLAIM:
        tenants = parse_tenants_claim(claims.get(settings.OIDC_TENANTS_CLAIM))
    return Identity(
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        email=email,
        username_hint=str(hint),
        tenants=tenants,
        mfa=mfa,
    )


def _new_username(hint: str, subject: str) -> str:
    User = get_user_model()
    base = USERNAME_SAFE.sub("-", hint)[:140] or f"sso-{USERNAME_SAFE.sub('-', subject)[:130]}"
    candidate, number = base, 1
    while User._default_manager.filter(username__iexact=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _account_for(identity: Identity, *, wanted_tenants: list) -> tuple[object, str | None]:
    """Return the account IDENTITY signs in to and how it was found: None (linked before), 'linked' or 'created'."""
    link = (
        ProviderAccount.objects.select_related("user")
        .select_for_update()
        .filter(issuer=identity.issuer, subject=identity.subject)
        .first()
    )
    if link is not None:
        link.last_sign_in_at = timezone.now()
        link.save(update_fields=["last_sign_in_at"])
        return link.user, None
    User = get_user_model()
    if settings.OIDC_USER_CLAIM == "email":
        if not identity.email:
            raise account_refusal("unverified_email")
        matches = list(User._default_manager.filter(email__iexact=identity.email)[:2])
        if len(matches) > 1:
            raise account_refusal("ambiguous_email")
        if matches:
            user = matches[0]
            # An e-mail address alone never opens a staff account: whoever controls the address
            # at the provider would get the admin.
            if user.is_staff or user.is_superuser:
                raise account_refusal("staff_account")
            if ProviderAccount.objects.filter(user=user, issuer=identity.issuer).exists():
                raise account_refusal("linked_elsewhere")
            ProviderAccount.objects.create(
                user=user, issuer=identity.issuer, subject=identity.subject, last_sign_in_at=timezone.now()
            )
            return user, "linked"
    # A new account only for someone the provider gives a tenant: with a public provider (Google)
    # anyone at all could otherwise make accounts here.
    if not wanted_tenants:
        raise account_refusal("no_account")
    user = User._default_manager.create_user(
        username=_new_username(identity.username_hint, identity.subject), email=identity.email
    )  # no password: this account signs in through the provider
    ProviderAccount.objects.create(
        user=user, issuer=identity.issuer, subject=identity.subject, last_sign_in_at=timezone.now()
    )
    return user, "created"


def _wanted_memberships(identity: Identity) -> tuple[list[tuple[Tenant, str]], list[str]]:
    """Return the (tenant, role) pairs the claim asks for, and the external IDs no tenant has."""
    if identity.tenants is None:
        return [], []
    by_id = {
        t.external_id: t for t in Tenant.objects.filter(external_id__in=[e for e, _ in identity.tenants])
    }
    wanted = [(by_id[external_id], role) for external_id, role in identity.tenants if external_id in by_id]
    unknown = [external_id for external_id, _ in identity.tenants if external_id not in by_id]
    return wanted, unknown


def _apply_memberships(*, user, wanted: list[tuple[Tenant, str]], ip: str) -> list[str]:
    """Make USER's memberships of tenants with an external ID exactly WANTED; audit each change.

    Memberships of tenants without an external ID are not the claim's: they stay as they are.
    """
    current = {
        m.tenant_id: m
        for m in Membership.objects.select_for_update()
        .filter(user=user, tenant__external_id__isnull=False)
        .select_related("tenant")
    }
    changes = []
    details = {"user": user.get_username(), "source": "identity provider"}
    for tenant, role in wanted:
        membership = current.pop(tenant.pk, None)
        if membership is None:
            membership = Membership.objects.create(user=user, tenant=tenant, role=role)
            record_event(
                tenant=tenant,
                actor=user,
                action=Action.MEMBERSHIP_ADDED,
                target=membership,
                details={**details, "role": role},
                ip=ip,
            )
            changes.append(f"added to {tenant.slug} as {role}")
        elif membership.role != role:
            before, membership.role = membership.role, role
            membership.save(update_fields=["role"])
            record_event(
                tenant=tenant,
                actor=user,
                action=Action.MEMBERSHIP_ROLE_CHANGED,
                target=membership,
                details={**details, "role": [before, role]},
                ip=ip,
            )
            changes.append(f"{tenant.slug}: {before} -> {role}")
    for membership in current.values():
        record_event(
            tenant=membership.tenant,
            actor=user,
            action=Action.MEMBERSHIP_REMOVED,
            target=membership,
            details={**details, "role": membership.role},
            ip=ip,
        )
        changes.append(f"removed from {membership.tenant.slug}")
        membership.delete()
    return changes


@transaction.atomic
def sign_in_from_claims(*, request: HttpRequest, claims: dict) -> tuple[object, Identity]:
    """Return the account validated CLAIMS sign in to, and their Identity, after linking or creating
    it and applying the tenants claim; raise a Refusal (nothing saved) when the account is refused."""
    ip = get_client_ip(request)
    identity = identity_from_claims(claims)
    wanted, unknown = _wanted_memberships(identity)
    user, found = _account_for(identity, wanted_tenants=wanted)
    if not user.is_active:
        raise account_refusal("inactive")
    if found is not None:
        action = Action.SSO_ACCOUNT_CREATED if found == "created" else Action.SSO_ACCOUNT_LINKED
        record_event(
            tenant=None,
            actor=user,
            action=action,
            target=user,
            details={"issuer": identity.issuer, "subject": identity.subject},
            ip=ip,
        )
    changes = _apply_memberships(user=user, wanted=wanted, ip=ip) if identity.tenants is not None else []
    record_event(
        tenant=None,
        actor=user,
        action=Action.SSO_SIGNED_IN,
        target=user,
        details={"issuer": identity.issuer, "provider_mfa": identity.mfa, "unknown_tenants": unknown[:20]},
        ip=ip,
    )
    logger.info("sso sign-in user=%s issuer=%s changes=%s", user.pk, identity.issuer, changes)
    return user, identity


def record_refusal(*, request: HttpRequest, refused: Refusal, claims: dict | None = None) -> None:
    """Audit and log a refused sign-in through the provider (no account: the actor is the provider's subject)."""
    subject = str((claims or {}).get("sub", ""))[:100]
    record_event(
        tenant=None,
        actor=None,
        actor_label=f"identity provider subject {subject}" if subject else "identity provider sign-in",
        action=Action.SSO_REFUSED,
        details={"reason": refused.reason},
        ip=get_client_ip(request),
    )
    logger.warning("sso sign-in refused reason=%s subject=%s", refused.reason, subject or "-")


@transaction.atomic
def unlink_account(*, link: ProviderAccount, by, ip: str | None) -> None:
    """Remove LINK as BY asked: the next sign-in of that subject links or creates an account again."""
    record_event(
        tenant=None,
        actor=by,
        action=Action.SSO_ACCOUNT_UNLINKED,
        target=link.user,
        details={"issuer": link.issuer, "subject": link.subject},
        ip=ip,
    )
    ProviderAccount.objects.filter(pk=link.pk).delete()
