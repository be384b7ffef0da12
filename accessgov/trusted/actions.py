"""Trusted Applications: authorize and revoke, each saved and audited in one place."""

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, revoke_access_token

from accessgov.audit.actions import Action, record_event
from accessgov.core import catalogue
from accessgov.core.errors import ActionRefused
from accessgov.policy.access import require_api_access
from accessgov.trusted.models import TrustedApplication, TrustedApplicationAuthorization
from tenants.models import Organization, Tenant


def _clean_terms(
    *, tenant: Tenant, application: TrustedApplication, permissions: list[str], organization_ids: list[int]
) -> tuple[list[str], bool, list[int]]:
    allowed = set(application.permissions) & catalogue.current().permissions
    if not permissions or not set(permissions) <= allowed:
        raise ActionRefused(f"{application.name} cannot be granted those permissions.")
    ordered = catalogue.current().ordered(permissions)
    if application.all_organizations:
        return ordered, True, []
    wanted = set(organization_ids)
    found = set(Organization.objects.for_tenant(tenant).filter(pk__in=wanted).values_list("pk", flat=True))
    if not wanted:
        raise ActionRefused(f"Choose at least one organization {application.name} may use.")
    if found != wanted:
        raise ActionRefused("Choose organizations of this tenant only.")
    return ordered, False, sorted(found)


@transaction.atomic
def authorize_application(
    *,
    tenant: Tenant,
    application: TrustedApplication,
    permissions: list[str],
    organization_ids: list[int],
    by,
    ip: str | None,
) -> TrustedApplicationAuthorization:
    """Record that BY authorized APPLICATION for TENANT with these terms and return the authorization.

    Consenting again while an authorization is live updates it (its tokens follow the new terms).
    """
    # Locked so that turning API access off cannot interleave with a new authorization.
    require_api_access(tenant, before="authorizing trusted applications")
    if not application.is_enabled:
        raise ActionRefused(f"{application.name} is not available any more.")
    permissions, all_organizations, organization_ids = _clean_terms(
        tenant=tenant, application=application, permissions=permissions, organization_ids=organization_ids
    )
    now = timezone.now()
    authorization = (
        TrustedApplicationAuthorization.objects.for_tenant(tenant)
        .live()
        .select_for_update()
        .filter(application=application)
        .first()
    )
    renewed = authorization is not None
    if authorization is None:
        authorization = TrustedApplicationAuthorization(tenant=tenant, application=application)
    before = {
        "permissions": authorization.permissions,
        "organizations": "all" if authorization.all_organizations else authorization.organization_ids,
    }
    authorization.authorized_by = by
    authorization.authorized_at = now
    authorization.permissions = permissions
    authorization.all_organizations = all_organizations
    authorization.organization_ids = organization_ids
    authorization.save()
    after = {"permissions": permissions, "organizations": "all" if all_organizations else organization_ids}
    details = {"application": application.name, "vendor": application.vendor, **after, "renewed": renewed}
    if renewed:
        # A renewed consent replaces the terms: the Activity log shows what they were and are.
        details["changes"] = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    record_event(
        tenant=tenant,
        actor=by,
        action=Action.TRUSTED_APP_AUTHORIZED,
        target=authorization,
        details=details,
        ip=ip,
    )
    return authorization


def _revoke_tokens(authorization: TrustedApplicationAuthorization) -> int:
    """Revoke every DOT code and token issued under AUTHORIZATION; return how many access tokens."""
    Grant.objects.filter(trusted_link__authorization=authorization).delete()
    access_tokens = list(AccessToken.objects.filter(trusted_link__authorization=authorization))
    for access_token in access_tokens:
        # DOT's one revoke path: revokes the bound refresh token and deletes the access token.
        revoke_access_token(access_token)
    return len(access_tokens)


@transaction.atomic
def save_application(*, application: TrustedApplication, by, ip: str | None) -> TrustedApplication:
    """Save APPLICATION as support staff defined it and return it; a live authorization holding a
    permission the application lost keeps only the intersection (audited per authorization). Its
    tokens follow at once: each request is judged against the authorization row."""
    application.save()
    allowed = set(application.permissions)
    authorizations = (
        TrustedApplicationAuthorization.objects.live()
        .select_for_update()
        .filter(application=application)
        .select_related("tenant")
    )
    for authorization in authorizations:
        removed = [p for p in authorization.permissions if p not in allowed]
        if not removed:
            continue
        before = list(authorization.permissions)
        authorization.permissions = [p for p in authorization.permissions if p in allowed]
        authorization.save(update_fields=["permissions"])
        record_event(
            tenant=authorization.tenant,
            actor=by,
            action=Action.TRUSTED_APP_NARROWED,
            target=authorization,
            details={
                "application": application.name,
                "permissions": authorization.permissions,
                "removed": removed,
                "changes": {"permissions": {"from": before, "to": authorization.permissions}},
            },
            ip=ip,
        )
    return application


@transaction.atomic
def revoke_tokens_of_replayed_code(*, code_checksum: str, application) -> int:
    """Revoke the access and refresh tokens issued from a code presented again (RFC 6749 4.1.2);
    return how many access tokens. The code was stolen or the client is broken: either way its
    tokens may be in the wrong hands."""
    access_tokens = list(
        AccessToken.objects.filter(
            trusted_link__code_checksum=code_checksum, application=application
        ).select_related("trusted_link__authorization__tenant", "trusted_link__authorization__application")
    )
    for access_token in access_tokens:
        authorization = access_token.trusted_link.authorization
        record_event(
            tenant=authorization.tenant,
            actor=None,
            action=Action.TRUSTED_APP_CODE_REPLAYED,
            target=authorization,
            details={"application": authorization.application.name, "access_tokens_revoked": 1},
        )
        revoke_access_token(access_token)
    return len(access_tokens)


@transaction.atomic
def revoke_authorization(
    *, authorization: TrustedApplicationAuthorization, by, ip: str | None
) -> TrustedApplicationAuthorization:
    """Revoke AUTHORIZATION: the application's codes, access and refresh tokens stop at once."""
    now = timezone.now()
    # A conditional UPDATE: of two concurrent revocations exactly one records and audits.
    changed = TrustedApplicationAuthorization.objects.filter(
        pk=authorization.pk, revoked_at__isnull=True
    ).update(revoked_at=now, revoked_by=by)
    if not changed:
        raise ActionRefused("That authorization was already revoked.")
    authorization.revoked_at, authorization.revoked_by = now, by
    revoked = _revoke_tokens(authorization)
    record_event(
        tenant=authorization.tenant,
        actor=by,
        action=Action.TRUSTED_APP_REVOKED,
        target=authorization,
        details={"application": authorization.application.name, "access_tokens_revoked": revoked},
        ip=ip,
    )
    return authorization
