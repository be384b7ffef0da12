"""Trusted Applications: authorize and revoke (audited), and the glue that ties django-oauth-toolkit's
codes and tokens to the tenant an administrator consented for.

DOT runs the OAuth 2.0 protocol (PKCE, redirect URI matching, code expiry and single use, refresh
rotation and reuse detection, revocation). What it cannot know is the tenant: the consent view
passes the id of the tenant's TrustedApplicationAuthorization in the credentials of the
authorization response, and TenantOAuth2Validator links every code and access token to it and
refuses to exchange or refresh once that authorization is revoked or the tenant's API access is off.
"""

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, revoke_access_token
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauthlib.oauth2.rfc6749 import errors

from accessgov import catalogue, keys
from accessgov.actions import ActionRefused
from accessgov.audit import Action, record_event
from accessgov.models import (
    ApiUser,
    TrustedApplication,
    TrustedApplicationAuthorization,
    TrustedApplicationToken,
)
from tenants.models import Organization, Tenant

ACCESS_TOKEN_PREFIX = "agat_"
REFRESH_TOKEN_PREFIX = "agrt_"


def generate_access_token(request=None) -> str:
    """Return a new access token: typed prefix, 256 random bits and a checksum (see accessgov.keys)."""
    return keys.generate_secret(ACCESS_TOKEN_PREFIX)


def generate_refresh_token(request=None) -> str:
    """Return a new refresh token, shaped like an access token but with its own prefix."""
    return keys.generate_secret(REFRESH_TOKEN_PREFIX)


def api_access_on(tenant: Tenant) -> bool:
    """Return whether TENANT has agreed to the API Policy and its API access is on."""
    api_user = ApiUser.objects.filter(tenant=tenant).only("is_active").first()
    return api_user is not None and api_user.is_active


def is_usable(authorization: TrustedApplicationAuthorization) -> bool:
    """Return whether AUTHORIZATION (tenant and API user loaded) may still get and use tokens."""
    if authorization.revoked_at is not None or not authorization.application.is_enabled:
        return False
    try:
        return authorization.tenant.api_user.is_active
    except ApiUser.DoesNotExist:
        return False


class CatalogueScopes(BaseScopes):
    """OAuth scopes are the endpoint catalogue's permissions; an application may ask only for its own."""

    def get_all_scopes(self) -> dict[str, str]:
        return {endpoint.permission: endpoint.label for endpoint in catalogue.ENDPOINTS}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        trusted = TrustedApplication.objects.filter(oauth_application=application, is_enabled=True).first()
        if trusted is None:
            return []
        return [p for p in trusted.permissions if p in catalogue.PERMISSIONS]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        # No scope in the request means everything the application was defined with.
        return self.get_available_scopes(application, request)


def _live_authorization(queryset) -> TrustedApplicationAuthorization | None:
    link = queryset.select_related("authorization__tenant__api_user", "authorization__application").first()
    if link is None or not is_usable(link.authorization):
        return None
    return link.authorization


class TenantOAuth2Validator(OAuth2Validator):
    """DOT's validator, with each code and access token tied to a tenant authorization."""

    def _create_authorization_code(self, request, code, expires=None):
        authorization_id = getattr(request, "trusted_authorization_id", None)
        if authorization_id is None:
            # Only the tenant consent page issues codes; nothing else may mint one.
            raise errors.AccessDeniedError(request=request)
        grant = super()._create_authorization_code(request, code, expires)
        TrustedApplicationToken.objects.create(authorization_id=authorization_id, code=grant)
        return grant

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        authorization = _live_authorization(
            TrustedApplicationToken.objects.filter(code__code=code, code__application=client)
        )
        if authorization is None:
            return False  # invalid_grant: revoked, or API access turned off since the consent
        request.trusted_authorization_id = authorization.pk
        return True

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        instance = request.refresh_token_instance
        if instance.access_token_id is None:
            return False
        # A live refresh token is bound to the access token it came with, which carries the link.
        authorization = _live_authorization(
            TrustedApplicationToken.objects.filter(access_token_id=instance.access_token_id)
        )
        if authorization is None:
            return False
        request.trusted_authorization_id = authorization.pk
        return True

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        authorization_id = getattr(request, "trusted_authorization_id", None)
        if authorization_id is None:
            raise errors.InvalidGrantError(request=request)
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        TrustedApplicationToken.objects.create(authorization_id=authorization_id, access_token=access_token)
        return access_token


def _clean_terms(
    *, tenant: Tenant, application: TrustedApplication, permissions: list[str], organization_ids: list[int]
) -> tuple[list[str], bool, list[int]]:
    allowed = set(application.permissions) & catalogue.PERMISSIONS
    if not permissions or not set(permissions) <= allowed:
        raise ActionRefused(f"{application.name} cannot be granted those permissions.")
    ordered = [e.permission for e in catalogue.ENDPOINTS if e.permission in set(permissions)]
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
    api_user = ApiUser.objects.select_for_update().filter(tenant=tenant).first()
    if api_user is None or not api_user.is_active:
        raise ActionRefused("Agree to the API Policy on Manage API before authorizing trusted applications.")
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
    authorization.authorized_by = by
    authorization.authorized_at = now
    authorization.permissions = permissions
    authorization.all_organizations = all_organizations
    authorization.organization_ids = organization_ids
    authorization.save()
    record_event(
        tenant=tenant,
        actor=by,
        action=Action.TRUSTED_APP_AUTHORIZED,
        target=authorization,
        details={
            "application": application.name,
            "vendor": application.vendor,
            "permissions": permissions,
            "organizations": "all" if all_organizations else organization_ids,
            "renewed": renewed,
        },
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
