"""The test provider's claims: each user's extra ID token claims come from claims.json."""

import json
import time

from oauth2_provider.oauth2_validators import OAuth2Validator

from tests.sso.provider.settings import STATE_DIR


def claims_of(username: str) -> dict:
    """Return what claims.json says about USERNAME (claims, and "tamper": overrides of the ID token)."""
    path = STATE_DIR / "claims.json"
    return json.loads(path.read_text()).get(username, {}) if path.exists() else {}


class ClaimsValidator(OAuth2Validator):
    # Every claim goes into the ID token whatever the scopes (the provider is the tests' own).
    oidc_claim_scope = None

    def get_additional_claims(self, request):
        """Return USER's claims from claims.json (without the tampering instructions)."""
        return {k: v for k, v in claims_of(request.user.username).items() if k != "tamper"}

    def get_id_token_dictionary(self, token, token_handler, request):
        """Return the ID token's claims, with claims.json's "tamper" overrides applied last."""
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        tamper = dict(claims_of(request.user.username).get("tamper", {}))
        if tamper.pop("expired", False):
            claims["exp"] = int(time.time()) - 600
        claims.update(tamper)  # aud and nonce here replace oauthlib's too (finalize_id_token)
        return claims, expiration_time
