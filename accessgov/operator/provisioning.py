"""What the operator's platform changes: tenants, organizations and members, upserted by the
platform's own identifiers (ExternalId) so a nightly sync is idempotent.

Each upsert compares before it saves: the same input twice changes nothing, writes no audit event
and drops no cached credential. Every change goes through the audited directory workflows
(accessgov.audit.actions) with the operator key's name as the actor (ACTOR_LABEL).
"""

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accessgov.audit.actions import delete_directory_row, save_directory_row
from accessgov.core.errors import ActionRefused
from accessgov.operator import invitations
from accessgov.operator.models import Invitation, Outcome
from tenants.models import Membership, Organization, Role, Tenant

MAX_EXTERNAL_ID_LENGTH = 200
MAX_NAME_LENGTH = 200
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def clean_external_id(value, *, what: str = "ExternalId") -> str:
    """Return VALUE as an external identifier, or refuse it (empty, too long, control characters)."""
    if not isinstance(value, str) or not value.strip():
        raise ActionRefused(f"{what} is required: the platform's own identifier, as text.")
    if len(value) > MAX_EXTERNAL_ID_LENGTH or any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ActionRefused(f"{what} must be at most {MAX_EXTERNAL_ID_LENGTH} printable characters.")
    return value


def clean_name(value, *, what: str = "Name") -> str:
    """Return VALUE with its spaces collapsed, or refuse it (empty or too long)."""
    if not isinstance(value, str) or not " ".join(value.split()):
        raise ActionRefused(f"{what} is required.")
    name = " ".join(value.split())
    if len(name) > MAX_NAME_LENGTH:
        raise ActionRefused(f"{what} must be at most {MAX_NAME_LENGTH} characters.")
    return name


def _free_slug(name: str) -> str:
    base = (slugify(name)[:50].strip("-") or "tenant").lower()
    slug, number = base, 1
    while Tenant.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return slug


@dataclass(frozen=True)
class TenantSpec:
    """What the platform says about one tenant; None leaves a field as it is (or its default)."""

    external_id: str
    name: str | None = None
    slug: str | None = None
    administrators_must_use_mfa: bool | None = None
    active: bool | None = None


def find_tenant(external_id: str, *, lock: bool = False) -> Tenant | None:
    """Return the tenant whose ExternalId is EXTERNAL_ID, or None."""
    queryset = Tenant.objects.select_for_update() if lock else Tenant.objects
    return queryset.filter(external_id=external_id).first()


@transaction.atomic
def upsert_tenant(*, spec: TenantSpec, actor_label: str, ip: str | None = None) -> tuple[Tenant, Outcome]:
    """Create or change the tenant whose ExternalId is SPEC.external_id; return it and what happened.

    Deactivating (active False) stops every credential of the tenant at once and hides it from its
    members; reactivating restores both. Nothing is saved or audited when nothing changes.
    """
    external_id = clean_external_id(spec.external_id)
    tenant = find_tenant(external_id, lock=True)
    if spec.slug is not None and not (isinstance(spec.slug, str) and SLUG.match(spec.slug)):
        raise ActionRefused("Slug must be 1 to 63 lowercase letters, digits and inner hyphens.")
    if (
        spec.slug is not None
        and Tenant.objects.filter(slug=spec.slug).exclude(pk=getattr(tenant, "pk", None)).exists()
    ):
        raise ActionRefused(f"Another tenant already uses the slug “{spec.slug}”.")
    if tenant is None:
        name = clean_name(spec.name)
        tenant = Tenant(external_id=external_id, name=name, slug=spec.slug or _free_slug(name))
        outcome = Outcome.CREATED
    else:
        outcome = Outcome.UNCHANGED
    wanted = {
        "name": clean_name(spec.name) if spec.name is not None else None,
        "slug": spec.slug,
        "administrators_must_use_mfa": spec.administrators_must_use_mfa,
        "is_active": spec.active,
    }
    for field, value in wanted.items():
        if value is not None and getattr(tenant, field) != value:
            setattr(tenant, field, value)
            if outcome is Outcome.UNCHANGED:
                outcome = Outcome.UPDATED
    if outcome is Outcome.UNCHANGED:
        return tenant, outcome
    try:
        with transaction.atomic():
            save_directory_row(row=tenant, by=None, ip=ip, actor_label=actor_label)
    except IntegrityError as error:
        raise ActionRefused(
            f"Tenant {external_id} was changed by another request at the same time; try again."
        ) from error
    return tenant, outcome


@transaction.atomic
def upsert_organization(
    *, tenant: Tenant, external_id: str, name: str, actor_label: str, ip: str | None = None
) -> tuple[Organization, Outcome]:
    """Create or rename TENANT's organization whose ExternalId is EXTERNAL_ID; return it and what happened."""
    external_id = clean_external_id(external_id)
    name = clean_name(name)
    organization = (
        Organization.objects.select_for_update().filter(tenant=tenant, external_id=external_id).first()
    )
    clash = Organization.objects.filter(tenant=tenant, name=name)
    if organization is not None:
        clash = clash.exclude(pk=organization.pk)
    if clash.exists():
        raise ActionRefused(
            f"Tenant {tenant.external_id or tenant.slug} already has another organization named “{name}”."
        )
    if organization is None:
        organization, outcome = (
            Organization(tenant=tenant, external_id=external_id, name=name),
            Outcome.CREATED,
        )
    elif organization.name != name:
        organization.name, outcome = name, Outcome.UPDATED
    else:
        return organization, Outcome.UNCHANGED
    save_directory_row(row=organization, by=None, ip=ip, actor_label=actor_label)
    return organization, outcome


def delete_organization(*, organization: Organization, actor_label: str, ip: str | None = None) -> None:
    """Delete ORGANIZATION: it leaves every token's and trusted application's scope, as its tenant's
    Activity says."""
    delete_directory_row(row=organization, by=None, ip=ip, actor_label=actor_label)


def clean_role(value) -> Role:
    """Return VALUE as a role, or refuse it naming the roles there are."""
    try:
        return Role(value)
    except ValueError:
        raise ActionRefused(f"Role must be one of {', '.join(Role.values)}.") from None


def clean_email(value) -> str:
    """Return VALUE as a lower-case e-mail address, or refuse it."""
    if not isinstance(value, str):
        raise ActionRefused("Email must be an e-mail address.")
    address = value.strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise ActionRefused(f"“{value[:100]}” is not an e-mail address.") from None
    return address


@transaction.atomic
def upsert_membership(
    *, tenant: Tenant, email: str, role: str, actor_label: str | None, by=None, ip: str | None = None
) -> tuple[Membership | Invitation, Outcome]:
    """Give the person with EMAIL ROLE in TENANT; return the membership (or invitation) and what happened.

    Someone with an account (matched by e-mail, case-insensitively) becomes a member or gets the
    role; someone without one is invited by e-mail (accessgov.operator.invitations), once: asking
    again while the invitation is pending with the same role changes nothing.
    """
    address = clean_email(email)
    role = clean_role(role)
    users = list(get_user_model()._default_manager.filter(email__iexact=address)[:2])
    if len(users) > 1:
        raise ActionRefused(f"Several accounts have the address {address}; add the member in the admin.")
    if not users:
        return invitations.invite(
            tenant=tenant, email=address, role=role, actor_label=actor_label, by=by, ip=ip
        )
    user = users[0]
    membership = Membership.objects.select_for_update().filter(tenant=tenant, user=user).first()
    if membership is None:
        membership, outcome = Membership(tenant=tenant, user=user, role=role), Outcome.CREATED
    elif membership.role != role:
        membership.role, outcome = role, Outcome.UPDATED
    else:
        return membership, Outcome.UNCHANGED
    save_directory_row(row=membership, by=by, ip=ip, actor_label=actor_label)
    return membership, outcome


def remove_membership(*, membership: Membership, actor_label: str, ip: str | None = None) -> None:
    """Remove MEMBERSHIP (the account itself stays), in its tenant's Activity."""
    delete_directory_row(row=membership, by=None, ip=ip, actor_label=actor_label)
