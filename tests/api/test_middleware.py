"""The edge of /api/v1/: HTTPS and the proxies that may vouch for it, the Host header, path and
method tricks, and client addresses that rotate to escape the failed-request blocker."""

import pytest
from django.test import override_settings

from tests.conftest import basic_auth
from tests.factories import ThirdPartyTokenFactory

pytestmark = pytest.mark.django_db


def test_a_client_forged_x_forwarded_proto_is_not_https_without_a_trusted_proxy(client, token):
    """Attack catalogue case 4: plain HTTP or a forged X-Forwarded-Proto is refused."""
    response = client.get(
        "/api/v1/Me",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_AUTHORIZATION=basic_auth(token.token_id, token.secret),
    )
    assert response.status_code == 403
    assert response.json()["Error"]["Code"] == "https_required"
    assert "Location" not in response


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_behind_a_trusted_tls_proxy_its_header_is_believed(client, token):
    assert (
        client.get(
            "/api/v1/Me",
            HTTP_X_FORWARDED_PROTO="https",
            HTTP_AUTHORIZATION=basic_auth(token.token_id, token.secret),
        ).status_code
        == 200
    )


def test_a_foreign_host_header_gets_400_in_the_envelope(client, token):
    """Attack catalogue case 43: a foreign Host header gets 400."""
    response = client.get(
        "/api/v1/Me",
        secure=True,
        HTTP_HOST="evil.com",
        HTTP_AUTHORIZATION=basic_auth(token.token_id, token.secret),
    )
    assert response.status_code == 400
    assert response.json()["Error"]["Code"] == "bad_host"


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_with_trusted_proxies_listed_only_they_may_say_the_request_was_https(client, token, monkeypatch):
    """Attack catalogue case 4: only a trusted proxy may say the request was HTTPS."""
    from accessgov.core import clientip

    monkeypatch.setenv("ACCESSGOV_TRUSTED_PROXIES", "10.0.0.2")
    clientip.trusted_proxies.cache_clear()
    try:
        direct = client.get(
            "/api/v1/Me",
            HTTP_X_FORWARDED_PROTO="https",
            REMOTE_ADDR="198.51.100.7",
            HTTP_AUTHORIZATION=basic_auth(token.token_id, token.secret),
        )
        proxied = client.get(
            "/api/v1/Me",
            HTTP_X_FORWARDED_PROTO="https",
            HTTP_X_FORWARDED_FOR="127.0.0.1",
            REMOTE_ADDR="10.0.0.2",
            HTTP_AUTHORIZATION=basic_auth(token.token_id, token.secret),
        )
    finally:
        clientip.trusted_proxies.cache_clear()
    assert direct.status_code == 403
    assert proxied.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/Organizations%2F1",
        "/api/v1//Organizations",
        "/api/v1/Me/../Organizations",
        "/api/v1/organizations",
    ],
)
def test_path_tricks_do_not_reach_another_endpoint(client, enabled_tenant, path):
    """Attack catalogue case 19: path and method tricks get the canonical decision."""
    me_only = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    response = client.get(path, secure=True, HTTP_AUTHORIZATION=basic_auth(me_only.token_id, me_only.secret))
    assert response.status_code in {403, 404}
    assert "Data" not in response.json()


def test_method_override_headers_are_ignored(client, token):
    """Attack catalogue case 19: path and method tricks get the canonical decision."""
    response = client.get(
        "/api/v1/Notify",
        secure=True,
        HTTP_X_HTTP_METHOD_OVERRIDE="POST",
        HTTP_AUTHORIZATION=basic_auth(token.token_id, token.secret),
    )
    assert response.status_code == 405
    assert response.json()["Error"]["Code"] == "method_not_allowed"


def test_head_gets_the_same_decision_as_get(client, enabled_tenant):
    """Attack catalogue case 19: path and method tricks get the canonical decision."""
    me_only = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    assert client.head(
        "/api/v1/Organizations", secure=True, HTTP_AUTHORIZATION=basic_auth(me_only.token_id, me_only.secret)
    ).status_code in {
        403,
        405,
    }
    assert client.head("/api/v1/Me", secure=True).status_code in {401, 405}


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(3, 60, 60)])
def test_rotating_x_forwarded_for_does_not_buy_a_fresh_budget(client, token):
    """Attack catalogue case 32: client-set forwarding headers buy no fresh bucket."""
    for index in range(3):
        client.get(
            "/api/v1/Me", secure=True, HTTP_X_FORWARDED_FOR=f"198.51.100.{index}", REMOTE_ADDR="192.0.2.50"
        )
    blocked = client.get(
        "/api/v1/Me",
        secure=True,
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        REMOTE_ADDR="192.0.2.50",
        HTTP_AUTHORIZATION=basic_auth(token.token_id, token.secret),
    )
    assert blocked.status_code == 429
    other = client.get(
        "/api/v1/Me",
        secure=True,
        REMOTE_ADDR="192.0.2.51",
        HTTP_AUTHORIZATION=basic_auth(token.token_id, token.secret),
    )
    assert other.status_code == 200


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(3, 60, 60)])
def test_a_blocked_ipv6_client_cannot_escape_by_rotating_inside_its_64(client, token):
    """Attack catalogue case 33: one IPv6 /64 is one bucket."""
    for suffix in range(3):
        client.get("/api/v1/Me", secure=True, REMOTE_ADDR=f"2001:db8:5:6::{suffix + 1}")
    assert (
        client.get(
            "/api/v1/Me",
            secure=True,
            REMOTE_ADDR="2001:db8:5:6::ffff",
            HTTP_AUTHORIZATION=basic_auth(token.token_id, token.secret),
        ).status_code
        == 429
    )


def test_the_lean_api_handler_still_matches_the_private_attributes_django_reads():
    """accessgov.api.middleware._ApiHandler empties three of BaseHandler's private middleware lists
    instead of loading the console's middleware. If Django renames one, the API would silently run
    with Django's defaults (None, a crash) or the console's middleware: this test fails first."""
    import inspect

    from django.core.handlers import base

    from accessgov.api.middleware import _ApiHandler

    source = inspect.getsource(base.BaseHandler)
    handler = _ApiHandler()
    for name in ("_view_middleware", "_template_response_middleware", "_exception_middleware"):
        assert f"self.{name}" in source, f"Django no longer reads BaseHandler.{name}"
        assert getattr(handler, name) == []
    assert "def _get_response(self, request)" in source
    assert handler.chain.__wrapped__ == handler._get_response
