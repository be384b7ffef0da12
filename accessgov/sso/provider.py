"""The operator's OpenID Connect provider, reached through Authlib's Django client.

Authlib does the protocol: discovery, the authorization request with state, nonce and PKCE, the
code exchange, and the ID token's checks (signature against the provider's JWKS, issuer,
audience, expiry, nonce). This module adds what a console needs around it: bounded waits on
every fetch (they happen inside the callback request), discovery and keys cached for
OIDC_METADATA_CACHE_SECONDS, endpoints that must be HTTPS (plain HTTP only on loopback, for a
local provider), asymmetric signatures only, and one clear reason for each refusal.
"""

import ipaddress
import time
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import DjangoIntegration, DjangoOAuth2App
from authlib.oidc.core import CodeIDToken
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, JoseError

APP_NAME = "accessgov"
# Clock skew tolerated on exp and iat; an ID token lives minutes, so a minute is plenty.
LEEWAY_SECONDS = 60
# Symmetric (HS*) tokens would be signed with the client secret and "none" with nothing: only a
# key the provider publishes in its JWKS may sign an ID token.
ASYMMETRIC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
LOOPBACK_NAMES = {"localhost"}


class Refusal(Exception):
    """A sign-in through the provider that accessgov refuses: REASON for the log, MESSAGE for the person."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


# Each refusal the person can meet, with the words the sign-in page shows.
REFUSALS = {
    "not_configured": "Single sign-on is not set up on this console.",
    "provider_error": "The identity provider did not sign you in ({detail}).",
    "state": "This sign-in was not started in this browser, or was finished already. Start again.",
    "provider_unreachable": "The identity provider did not answer in time. Try again in a minute.",
    "provider_misconfigured": "The identity provider's configuration cannot be used ({detail}). Tell your operator.",
    "no_id_token": "The identity provider's answer held no ID token.",
    "bad_signature": "The identity provider's ID token failed its signature check, so it was refused.",
    "wrong_audience": "The ID token was issued for another application, so it was refused.",
    "wrong_issuer": "The ID token was issued by another provider, so it was refused.",
    "wrong_nonce": "The ID token does not belong to this sign-in (its nonce differs), so it was refused.",
    "expired": "The ID token has expired. Start the sign-in again.",
    "invalid_token": "The ID token is not valid ({detail}), so it was refused.",
}


def refusal(reason: str, detail: str = "") -> Refusal:
    """Return the Refusal for REASON, its message completed with DETAIL."""
    return Refusal(reason, REFUSALS[reason].format(detail=detail))


def is_configured() -> bool:
    """Return whether the operator configured an identity provider."""
    return bool(settings.OIDC_DISCOVERY_URL)


def check_url(url: object, *, name: str) -> str:
    """Return URL if it is HTTPS, or plain HTTP to a loopback address; raise a Refusal otherwise."""
    parts = urlsplit(url) if isinstance(url, str) else None
    host = (parts.hostname or "") if parts else ""
    if parts is None or not host or parts.username or parts.password:
        raise refusal("provider_misconfigured", f"{name} is not a URL")
    if parts.scheme == "https":
        return url
    try:
        loopback = host in LOOPBACK_NAMES or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme == "http" and loopback:
        return url
    raise refusal("provider_misconfigured", f"{name} must be an https:// URL")


class ProviderApp(DjangoOAuth2App):
    """Authlib's Django OAuth 2.0 / OpenID Connect client with accessgov's checks and cache."""

    def load_server_metadata(self) -> dict:
        """Return the provider's discovery document, fetched again once the cache time has passed."""
        loaded_at = self.server_metadata.get("_loaded_at")
        if loaded_at is not None and time.time() - loaded_at > settings.OIDC_METADATA_CACHE_SECONDS:
            self.server_metadata.clear()  # the key set goes with it and is fetched again too
        if "_loaded_at" in self.server_metadata:
            return self.server_metadata
        metadata = dict(super().load_server_metadata())
        self.server_metadata.clear()
        discovery = settings.OIDC_DISCOVERY_URL
        # OpenID Connect Discovery 1.0, section 4.3: the issuer is the discovery URL's prefix, so
        # a document served from elsewhere cannot name another issuer.
        issuer = metadata.get("issuer")
        suffix = "/.well-known/openid-configuration"
        if not isinstance(issuer, str) or issuer.rstrip("/") + suffix != discovery:
            raise refusal("provider_misconfigured", "its issuer does not match the discovery URL")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            check_url(metadata.get(name), name=name)
        endpoint = urlsplit(metadata["authorization_endpoint"])
        origin = f"{endpoint.scheme}://{endpoint.netloc}"
        if origin not in settings.OIDC_AUTHORIZATION_ORIGINS:
            # The sign-in page's CSP (form-action) would stop the browser on its way there.
            raise refusal("provider_misconfigured", f"add {origin} to ACCESSGOV_OIDC_AUTHORIZATION_ORIGINS")
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        metadata["id_token_signing_alg_values_supported"] = [
            alg for alg in ASYMMETRIC_ALGORITHMS if alg in offered
        ] or ["RS256"]
        metadata.pop("jwks", None)  # keys come from jwks_uri only, never inline in the document
        metadata["_loaded_at"] = time.time()
        self.server_metadata.update(metadata)
        return self.server_metadata


_app: ProviderApp | None = None
_app_settings: tuple = ()


def provider() -> ProviderApp:
    """Return the process's client for the configured provider (its discovery and keys cached)."""
    global _app, _app_settings
    current = (
        settings.OIDC_DISCOVERY_URL,
        settings.OIDC_CLIENT_ID,
        settings.OIDC_CLIENT_SECRET,
        settings.OIDC_SCOPES,
        settings.OIDC_TIMEOUT,
    )
    if _app is None or _app_settings != current:
        check_url(settings.OIDC_DISCOVERY_URL, name="ACCESSGOV_OIDC_DISCOVERY_URL")
        _app = ProviderApp(
            DjangoIntegration(APP_NAME),
            name=APP_NAME,
            client_id=settings.OIDC_CLIENT_ID,
            client_secret=settings.OIDC_CLIENT_SECRET,
            server_metadata_url=settings.OIDC_DISCOVERY_URL,
            client_kwargs={
                "scope": settings.OIDC_SCOPES,
                "code_challenge_method": "S256",
                # requests' timeout bounds the connection and each read of discovery, keys and token.
                "default_timeout": (settings.OIDC_TIMEOUT, settings.OIDC_TIMEOUT),
            },
        )
        _app_settings = current
    return _app


def start_sign_in(request: HttpRequest, *, redirect_uri: str) -> HttpResponse:
    """Return the redirect to the provider's authorization endpoint (state, nonce, PKCE kept in the session)."""
    if not is_configured():
        raise refusal("not_configured")
    try:
        return provider().authorize_redirect(request, redirect_uri)
    except (requests.RequestException, ValueError) as error:
        raise refusal("provider_unreachable") from error


def validate_id_token(token: dict, *, nonce: str) -> dict:
    """Return the claims of TOKEN's ID token once its signature (the provider's JWKS), issuer,
    audience, expiry and NONCE are checked; raise a Refusal saying which check failed."""
    app = provider()
    if not isinstance(token.get("id_token"), str):
        raise refusal("no_id_token")
    metadata = app.load_server_metadata()
    options = {
        "iss": {"essential": True, "values": [metadata["issuer"]]},
        "aud": {"essential": True, "values": [settings.OIDC_CLIENT_ID]},
        "exp": {"essential": True},
    }
    try:
        claims = app.parse_id_token(
            token, nonce=nonce, claims_options=options, claims_cls=CodeIDToken, leeway=LEEWAY_SECONDS
        )
    except BadSignatureError as error:
        raise refusal("bad_signature") from error
    except ExpiredTokenError as error:
        raise refusal("expired") from error
    except ClaimError as error:
        reason = {
            "aud": "wrong_audience",
            "azp": "wrong_audience",
            "iss": "wrong_issuer",
            "nonce": "wrong_nonce",
        }
        if error.claim in reason:
            raise refusal(reason[error.claim]) from error
        raise refusal("invalid_token", f"claim {error.claim}") from error
    except JoseError as error:
        raise refusal("invalid_token", error.error or type(error).__name__) from error
    except (requests.RequestException, ValueError) as error:
        raise refusal("provider_unreachable") from error
    return dict(claims)


def finish_sign_in(request: HttpRequest) -> dict:
    """Exchange the callback's code for tokens and return the validated ID token's claims.

    The state must be one this session started (Authlib keeps it, with the nonce and the PKCE
    verifier, in the session) and is used once.
    """
    if not is_configured():
        raise refusal("not_configured")
    app = provider()
    state = request.GET.get("state", "")
    data = app.framework.get_state_data(request.session, state) if state else None
    if state:
        app.framework.clear_state_data(request.session, state)
    if request.GET.get("error"):
        detail = str(request.GET.get("error_description") or request.GET["error"])[:200]
        raise refusal("provider_error", detail)
    code = request.GET.get("code")
    if not data or not code or "nonce" not in data:
        raise refusal("state")
    try:
        token = app.fetch_access_token(
            redirect_uri=data.get("redirect_uri"), code=code, code_verifier=data.get("code_verifier")
        )
    except OAuthError as error:
        raise refusal("provider_error", str(error.error)[:100]) from error
    except (requests.RequestException, ValueError) as error:
        raise refusal("provider_unreachable") from error
    return validate_id_token(token, nonce=data["nonce"])
