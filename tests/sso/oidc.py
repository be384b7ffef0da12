"""A real OpenID Connect provider on loopback for the SSO tests (browser tests too), and helpers to sign in through it.

The provider (tests/sso/provider/) is django-oauth-toolkit with OIDC on, served by gunicorn in its
own process with an RS256 key generated here; accessgov fetches its discovery document, key set
and tokens over HTTP exactly as it would from Entra ID, Okta or Google.
"""

import html
import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "accessgov-console"
CLIENT_SECRET = "test-client-secret-not-for-production"
PROVIDER_PASSWORD = "provider-password-1"
PROVIDER_USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "staffer"]
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Provider:
    issuer: str
    state_dir: Path
    private_key: rsa.RSAPrivateKey

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def set_claims(self, claims: dict) -> None:
        """Give each username in CLAIMS these extra ID token claims (and "tamper" overrides)."""
        base = {
            name: {"email": f"{name}@example.com", "email_verified": True, "preferred_username": name}
            for name in PROVIDER_USERS
        }
        for name, extra in claims.items():
            base[name] = {**base[name], **extra}
        (self.state_dir / "claims.json").write_text(json.dumps(base))


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """Start the test provider under gunicorn on a free loopback port; stop it after the session."""
    state_dir = tmp_path_factory.mktemp("oidc-provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (state_dir / "key.pem").write_bytes(pem)
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}/o"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.sso.provider.settings",
        "SSO_PROVIDER_DIR": str(state_dir),
        "SSO_PROVIDER_ISSUER": issuer,
        "PYTHONPATH": str(ROOT),
    }
    users = [{"username": name, "password": PROVIDER_PASSWORD} for name in PROVIDER_USERS]
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        # 127.0.0.1 matches any port (RFC 8252), so the live server's port need not be known here.
        "redirect_uris": [
            "http://testserver/accounts/sso/callback/",
            "http://127.0.0.1/accounts/sso/callback/",
            "http://localhost/accounts/sso/callback/",
        ],
    }
    subprocess.run(
        [sys.executable, "-m", "tests.sso.provider.setup", json.dumps(users), json.dumps(client)],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--log-level",
            "warning",
            "tests.sso.provider.wsgi",
        ],
        env=env,
        cwd=ROOT,
    )
    provider = Provider(issuer=issuer, state_dir=state_dir, private_key=key)
    provider.set_claims({})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(provider.discovery_url, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the test OpenID Connect provider did not start")
            time.sleep(0.2)
        yield provider
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sso(settings, oidc_provider):
    """Configure accessgov to sign in through the test provider; reset every user's claims."""
    settings.OIDC_DISCOVERY_URL = oidc_provider.discovery_url
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_BUTTON_LABEL = "Sign in with Example ID"
    settings.OIDC_TENANTS_CLAIM = "tenants"
    # As settings.py derives them from the discovery URL.
    origin = oidc_provider.issuer.removesuffix("/o")
    settings.OIDC_AUTHORIZATION_ORIGINS = [origin]
    settings.SECURE_CSP = {**settings.SECURE_CSP, "form-action": ["'self'", origin]}
    oidc_provider.set_claims({})
    return oidc_provider


def consent_at_provider(authorize_url: str, username: str, *, allow: bool = True) -> str:
    """Sign USERNAME in at the provider and answer its consent page; return where it redirects."""
    browser = requests.Session()
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(authorize_url))
    login = browser.get(authorize_url, timeout=10)  # the provider sends us to its sign-in page
    token = HIDDEN_INPUT.search(login.text).group(2)
    consent = browser.post(
        login.url,
        data={
            "csrfmiddlewaretoken": token,
            "username": username,
            "password": PROVIDER_PASSWORD,
            "next": html.unescape(dict(HIDDEN_INPUT.findall(login.text)).get("next", "")),
        },
        timeout=10,
    )
    fields = {name: html.unescape(value) for name, value in HIDDEN_INPUT.findall(consent.text)}
    if allow:
        fields["allow"] = "Authorize"
    answer = browser.post(
        f"{origin}{urlsplit(consent.url).path}", data=fields, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text[:2000]
    return answer.headers["Location"]


def sign_in_through_provider(client, username: str, *, allow: bool = True, next_url: str = ""):
    """Start SSO from CLIENT, consent at the provider as USERNAME, return accessgov's callback answer."""
    start = client.post("/accounts/sso/", {"next": next_url})
    assert start.status_code == 302, start.content[:2000]
    callback = urlsplit(consent_at_provider(start["Location"], username, allow=allow))
    return client.get(f"{callback.path}?{callback.query}")
