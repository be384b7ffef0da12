"""The REST API over real sockets: a real HTTP client against a live HTTPS server, and plain HTTP
refused by a live server with no TLS in front of it.

Everything else about the API goes through Django's test client (tests/api/test_gate.py,
tests/api/test_routers.py); these are the proofs that need the socket: the TLS handshake and
request parsing of a real server, and what a client that is not on HTTPS is told.
"""

import httpx
import pytest

from tests.conftest import basic_auth


def test_me_answers_a_token_in_pascal_case_with_limit_headers(http, token, tenant):
    response = http.get("Me", headers={"Authorization": basic_auth(token.token_id, token.secret)})
    assert response.status_code == 200
    body = response.json()
    assert body["Meta"] == {"ResponseCode": 200}
    assert body["Data"]["Tenant"] == {"Name": "Acme MSP", "PartnerId": tenant.partner_id}
    assert body["Data"]["Credential"]["Type"] == "ThirdPartyToken"
    assert body["Data"]["Credential"]["Id"] == token.token_id
    assert "Me.Read" in body["Data"]["Permissions"]
    assert {"Permission": "Notify.Send", "Limit": 10, "WindowSeconds": 5} in body["Data"]["RateLimits"]
    assert response.headers["RateLimit-Limit"] == "3600"
    assert response.headers["RateLimit-Remaining"] == "3599"
    assert 0 < int(response.headers["RateLimit-Reset"]) <= 3600
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "forged", [{}, {"X-Forwarded-Proto": "https"}], ids=["plain", "forged-x-forwarded-proto"]
)
def test_plain_http_is_refused_with_403_before_credentials_and_never_redirected(live_server, token, forged):
    """Attack catalogue case 4: plain HTTP or a forged X-Forwarded-Proto is refused."""
    response = httpx.get(
        f"{live_server.url}/api/v1/Me",
        headers={"Authorization": basic_auth(token.token_id, token.secret), **forged},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert response.json()["Error"]["Code"] == "https_required"
