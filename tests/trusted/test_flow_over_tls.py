"""The whole Trusted Applications flow, driven by a real OAuth client library against a live HTTPS server."""

import re
from urllib.parse import urljoin

import httpx
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.test import Client

from accessgov.audit.models import AuditEvent
from accessgov.trusted.models import TrustedApplicationAuthorization
from tests.conftest import bearer_auth, trusting
from tests.factories import OAUTH_CLIENT_SECRET, OAUTH_REDIRECT_URI

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _consent_in_the_browser(
    base: str, ca: str, admin_user, authorization_url: str, organization_id: int
) -> str:
    """Play the administrator's browser: follow /o/authorize/ to the consent page and click Authorize."""
    signed_in = Client()
    signed_in.force_login(admin_user)
    cookies = {"sessionid": signed_in.cookies["sessionid"].value}
    with httpx.Client(verify=trusting(ca), cookies=cookies, timeout=10) as browser:
        chooser = browser.get(authorization_url)
        assert chooser.status_code == 302
        consent_url = urljoin(base, chooser.headers["Location"])
        page = browser.get(consent_url)
        assert page.status_code == 200 and "Authorize PSA Connector?" in page.text
        answer = browser.post(
            consent_url,
            data={
                "csrfmiddlewaretoken": CSRF_RE.search(page.text).group(1),
                "decision": "authorize",
                "organizations": [str(organization_id)],
            },
            headers={"Origin": base, "Referer": consent_url},
        )
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["Location"]


def test_consent_exchange_call_refresh_revoke_with_authlib_over_https(
    tls_server,
    ca_file,
    admin_user,
    enabled_tenant,
    app,
    contoso,
):
    session = OAuth2Session(
        client_id=app.oauth_application.client_id,
        client_secret=OAUTH_CLIENT_SECRET,
        scope="Me.Read Organizations.Read",
        redirect_uri=OAUTH_REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    authorization_url, state = session.create_authorization_url(
        f"{tls_server}/o/authorize/", code_verifier=verifier
    )

    callback = _consent_in_the_browser(tls_server, ca_file, admin_user, authorization_url, contoso.pk)
    assert callback.startswith(OAUTH_REDIRECT_URI) and f"state={state}" in callback

    token = session.fetch_token(
        f"{tls_server}/o/token/", authorization_response=callback, code_verifier=verifier, verify=ca_file
    )
    assert token["access_token"].startswith("agat_")

    me = session.get(f"{tls_server}/api/v1/Me", verify=ca_file)
    assert me.status_code == 200
    assert me.json()["Data"]["Credential"]["Type"] == "TrustedApplication"
    assert me.json()["Data"]["Organizations"] == [contoso.pk]

    first_access_token = token["access_token"]
    renewed = session.refresh_token(f"{tls_server}/o/token/", verify=ca_file)
    assert renewed["access_token"] != first_access_token
    assert session.get(f"{tls_server}/api/v1/Me", verify=ca_file).status_code == 200
    stale = session.get(
        f"{tls_server}/api/v1/Me",
        headers={"Authorization": bearer_auth(first_access_token)},
        withhold_token=True,
        verify=ca_file,
    )
    assert stale.status_code == 401

    revoked = session.revoke_token(
        f"{tls_server}/o/revoke_token/",
        token=renewed["access_token"],
        token_type_hint="access_token",
        verify=ca_file,
    )
    assert revoked.status_code == 200
    refused = session.get(f"{tls_server}/api/v1/Me", verify=ca_file)
    assert refused.status_code == 401
    assert refused.json()["Error"]["Code"] == "invalid_credentials"

    authorization = TrustedApplicationAuthorization.objects.get()
    assert authorization.tenant == enabled_tenant and authorization.last_used_at is not None
    assert AuditEvent.objects.filter(action="trusted_app.authorized", actor=admin_user).count() == 1
