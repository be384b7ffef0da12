"""Who is calling the REST API: read the credential out of the Authorization header.

Three kinds of credential reach /api/v1/:
- a third-party token, as HTTP Basic base64(TOKEN_ID:TOKEN_SECRET), checked by tokens.auth;
- an API key of the tenant, as `Authorization: Bearer agk_…`, checked by accessgov.policy.auth;
- a trusted application's OAuth access token, as `Authorization: Bearer agat_…`, checked by
  accessgov.trusted.auth.
An operator key (`Authorization: Bearer ago_…`, checked by accessgov.operator.auth) reaches only
/api/operator/v1/.
accessgov.api.gate finds and checks each through one table of kinds.
"""

import base64
import binascii
from dataclasses import dataclass

from accessgov.core import keys
from accessgov.core.credentials import Kind, cache_key
from accessgov.operator.models import OPERATOR_KEY_PREFIX
from accessgov.trusted.oauth import ACCESS_TOKEN_PREFIX

# A header longer than this is refused before any decoding or hashing (attack catalogue case 6).
MAX_AUTHORIZATION_LENGTH = 1024


class CredentialError(Exception):
    """The request's credential is refused; `code`, `status` and `message` say how to answer."""

    def __init__(self, code: str, message: str, status: int = 401):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


INVALID = ("invalid_credentials", "The token ID and secret (or the API key) are not valid.")


@dataclass(frozen=True)
class PresentedCredential:
    kind: Kind
    identifier: str  # the token ID, or the API key's or access token's lookup prefix
    secret: str

    @property
    def cache_key(self) -> str:
        """Return the name the credential cache and credential versions use for this credential."""
        return cache_key(self.kind, self.identifier)

    @property
    def cacheable(self) -> bool:
        """Return whether a verified row of this credential may be kept in the per-process cache.

        OAuth access tokens are not cached: revoking an authorization or an access token through
        DOT deletes rows in bulk (no per-row save to hang a version bump on), and a warm cache would
        then keep a revoked token alive for up to ACCESSGOV_CREDENTIAL_CACHE_SECONDS.
        """
        return self.kind != Kind.OAUTH


def parse_authorization(header: str) -> PresentedCredential:
    """Return the credential in an Authorization header, or raise CredentialError (401).

    Nothing is normalised: a secret with a trailing space or a look-alike character is refused.
    """
    if not header:
        raise CredentialError(
            "missing_credentials",
            "Send a third-party token as HTTP Basic (TOKEN_ID:TOKEN_SECRET) or an API key as Bearer.",
        )
    if len(header) > MAX_AUTHORIZATION_LENGTH:
        raise CredentialError("authorization_too_long", "The Authorization header is too long.", status=400)
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.startswith(ACCESS_TOKEN_PREFIX):
        if keys.parse_secret(value, ACCESS_TOKEN_PREFIX) is None:
            raise CredentialError(*INVALID)
        return PresentedCredential(Kind.OAUTH, keys.visible_prefix(value, ACCESS_TOKEN_PREFIX), value)
    if scheme == "bearer" and value.startswith(OPERATOR_KEY_PREFIX):
        if keys.parse_secret(value, OPERATOR_KEY_PREFIX) is None:
            raise CredentialError(*INVALID)
        return PresentedCredential(Kind.OPERATOR, keys.visible_prefix(value, OPERATOR_KEY_PREFIX), value)
    if scheme == "bearer":
        parsed = keys.parse_secret(value, keys.API_KEY_PREFIX)
        if parsed is None:
            raise CredentialError(*INVALID)
        return PresentedCredential(Kind.API_KEY, keys.visible_prefix(value, keys.API_KEY_PREFIX), value)
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeError, ValueError) as error:
            raise CredentialError(
                "malformed_credentials", "The Basic credentials are not valid base64."
            ) from error
        token_id, colon, secret = decoded.partition(":")
        if not colon or not token_id or not secret:
            raise CredentialError("malformed_credentials", "Basic credentials must be TOKEN_ID:TOKEN_SECRET.")
        return PresentedCredential(Kind.TOKEN, token_id, secret)
    raise CredentialError("unsupported_scheme", "Use HTTP Basic for tokens or Bearer for API keys.")
