"""Trusted Applications: the glue that ties django-oauth-toolkit's codes and tokens to the tenant an
administrator consented for.

DOT runs the OAuth 2.0 protocol (PKCE, redirect URI matching, code expiry and single use, refresh
rotation and reuse detection, revocation). What it cannot know is the tenant: the consent view
passes the id of the tenant's TrustedApplicationAuthorization in the credentials of the
authorization response, and TenantOAuth2Validator links every code and access token to it and
refuses to exchange or refresh once that authorization is revoked or the tenant's API access is off.
"""

import hashlib

from oauth2_provider.models import Grant
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauthlib.oauth2.rfc6749 import errors

from accessgov.core import catalogue, keys
from accessgov.policy.access import access_on
from accessgov.trusted import actions
from accessgov.trusted.models import (
    TrustedApplication,
    TrustedApplicationAuthorization,
    TrustedApplicationToken,
)

ACCESS_TOKEN_PREFIX = "agat_"
REFRESH_TOKEN_PREFIX = "agrt_"


def generate_access_token(request=None) -> str:
    """Return a new access token: typed prefix, 256 random bits and a checksum (see accessgov.keys)."""
    return keys.generate_secret(ACCESS_TOKEN_PREFIX)


def generate_refresh_token(request=None) -> str:
    """Return a new refresh token, shaped like an access token but with its own prefix."""
    return keys.generate_secret(REFRESH_TOKEN_PREFIX)


def is_usable(authorization: TrustedApplicationAuthorization) -> bool:
    """Return whether AUTHORIZATION (tenant and API user loaded) may still get and use tokens."""
    if authorization.revoked_at is not None or not authorization.application.is_enabled:
        return False
    return access_on(authorization.tenant)


class CatalogueScopes(BaseScopes):
    """OAuth scopes are the endpoint catalogue's permissions; an application may ask only for its own."""

    def get_all_scopes(self) -> dict[str, str]:
        return {permission.name: permission.label for permission in catalogue.current().all_permissions}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        trusted = TrustedApplication.objects.filter(oauth_application=application, is_enabled=True).first()
        if trusted is None:
            return []
        known = catalogue.current().permissions
        return [p for p in trusted.permissions if p in known]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        # No scope in the request means everything the application was defined with.
        return self.get_available_scopes(application, request)


def _checksum(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


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
            if not Grant.objects.filter(code=code, application=client).exists():
                # Used before (DOT deletes a code on use): revoke what it was exchanged for.
                actions.revoke_tokens_of_replayed_code(code_checksum=_checksum(code), application=client)
            return False
        authorization = _live_authorization(
            TrustedApplicationToken.objects.filter(code__code=code, code__application=client)
        )
        if authorization is None:
            return False  # invalid_grant: revoked, or API access turned off since the consent
        request.trusted_authorization_id = authorization.pk
        request.trusted_code_checksum = _checksum(code)
        return True

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        instance = request.refresh_token_instance
        if instance.access_token_id is None:
            return False
        # A live refresh token is bound to the access token it came with, which carries the link.
        links = TrustedApplicationToken.objects.filter(access_token_id=instance.access_token_id)
        authorization = _live_authorization(links)
        if authorization is None:
            return False
        request.trusted_authorization_id = authorization.pk
        request.trusted_code_checksum = links.values_list("code_checksum", flat=True).first() or ""
        return True

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        authorization_id = getattr(request, "trusted_authorization_id", None)
        if authorization_id is None:
            raise errors.InvalidGrantError(request=request)
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        TrustedApplicationToken.objects.create(
            authorization_id=authorization_id,
            access_token=access_token,
            code_checksum=getattr(request, "trusted_code_checksum", ""),
        )
        return access_token
