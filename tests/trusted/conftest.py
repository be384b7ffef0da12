"""Fixtures of the Trusted Applications tests: an authorizable application and OAuth helpers."""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from tests.conftest import basic_auth
from tests.factories import (
    OAUTH_CLIENT_SECRET,
    OAUTH_REDIRECT_URI,
    TrustedApplicationFactory,
)


@pytest.fixture
def app(db):
    """Return a trusted application asking for Me.Read and Organizations.Read, organizations chosen."""
    return TrustedApplicationFactory(name="PSA Connector", vendor="Kaseya")


@dataclass
class Pkce:
    verifier: str
    challenge: str


def make_pkce() -> Pkce:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


@pytest.fixture
def pkce() -> Pkce:
    return make_pkce()


def consent_url(app, pkce: Pkce | None, slug: str = "acme", **overrides) -> str:
    """Return the consent page URL an application would send an administrator of SLUG to."""
    params = {
        "response_type": "code",
        "client_id": app.oauth_application.client_id,
        "redirect_uri": OAUTH_REDIRECT_URI,
        "state": "state-123",
    }
    if pkce is not None:
        params |= {"code_challenge": pkce.challenge, "code_challenge_method": "S256"}
    params.update(overrides)
    params = {key: value for key, value in params.items() if value is not None}
    return f"/t/{slug}/settings/api/trusted-apps/authorize/?{urlencode(params)}"


def redirect_params(response) -> dict[str, str]:
    """Return the query of the redirect RESPONSE sends the browser to (asserting where it goes)."""
    assert response.status_code == 302, response.content[:500]
    location = response["Location"]
    assert location.startswith(OAUTH_REDIRECT_URI + "?"), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def authorize(client: Client, app, pkce: Pkce, organizations=(), **overrides) -> str:
    """Consent as CLIENT's user and return the authorization code."""
    response = client.post(
        consent_url(app, pkce, **overrides),
        {"decision": "authorize", "organizations": [str(o.pk) for o in organizations]},
    )
    params = redirect_params(response)
    assert params["state"] == "state-123"
    return params["code"]


def exchange(client: Client, app, code: str, verifier: str | None, **extra):
    """POST the code to /o/token/ as the confidential client and return the response."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": OAUTH_REDIRECT_URI}
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    return client.post("/o/token/", data, headers=_client_auth(app), secure=True)


def refresh(client: Client, app, refresh_token: str, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return client.post("/o/token/", data, headers=_client_auth(app), secure=True)


def _client_auth(app) -> dict[str, str]:
    return {"Authorization": basic_auth(app.oauth_application.client_id, OAUTH_CLIENT_SECRET)}


def tokens_for(admin_client: Client, app, organizations=()) -> dict:
    """Run consent and code exchange; return the token response JSON."""
    pkce = make_pkce()
    code = authorize(admin_client, app, pkce, organizations)
    response = exchange(Client(), app, code, pkce.verifier)
    assert response.status_code == 200, response.content
    return response.json()
