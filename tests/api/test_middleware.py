"""The edge of /api/v1/: HTTPS and the proxies that may vouch for it, the Host header, path and
method tricks, and client addresses that rotate to escape the failed-request blocker."""

import pytest
from django.test import Client, override_settings

from accessgov.api import limits
from accessgov.audit.models import AuditEvent
from tests.api.conftest import error_of
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


# --- Request bodies over the API's limit ---------------------------------------------------------


def _notify_body(size: int) -> str:
    """Return a valid Notify body of exactly SIZE bytes."""
    head, tail = '{"Message": "Backup finished", "Data": {"log": "', '"}}'
    return head + "x" * (size - len(head) - len(tail)) + tail


def test_a_notify_body_over_the_limit_gets_413_in_the_envelope_and_changes_nothing(
    api, token, enabled_tenant, settings
):
    settings.ACCESSGOV_API_MAX_BODY_BYTES = 64 * 1024
    auth = basic_auth(token.token_id, token.secret)
    # At the limit the body reaches Notify, which answers for itself (a notification is smaller).
    assert error_of(api.post("Notify", auth, content=_notify_body(64 * 1024))) == (400, "invalid_request")
    assert api.post("Notify", auth, content=_notify_body(1000)).status_code == 202
    response = api.post("Notify", auth, content=_notify_body(64 * 1024 + 1))
    assert error_of(response) == (413, "request_too_large")
    assert "65,536 bytes" in response.json()["Error"]["Message"]
    assert response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(tenant=enabled_tenant, action="webhook.notification_sent").count() == 1


def test_a_body_over_djangos_own_upload_limit_gets_413_not_500(api, token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # lower than the API's limit: Django refuses first
    response = api.post("Notify", basic_auth(token.token_id, token.secret), content=_notify_body(2000))
    assert error_of(response) == (413, "request_too_large")


def test_oversized_bodies_count_as_failed_requests_and_a_blocked_client_gets_429(api, token, settings):
    """SECURITY.md: bad input is a failed request; requests refused while blocked do not extend a block."""
    settings.ACCESSGOV_API_FAILURE_TIERS = [(3, 60, 60)]
    auth = basic_auth(token.token_id, token.secret)
    answers = [error_of(api.post("Notify", auth, content=_notify_body(70_000))) for _ in range(4)]
    assert answers == [(413, "request_too_large")] * 3 + [(429, "ip_blocked")]
    assert 0 < limits.blocked_for("127.0.0.1") <= 60


def test_a_content_length_that_is_not_a_number_is_refused_before_reading(token):
    response = Client().post(
        "/api/v1/Notify",
        data=b"{}",
        content_type="application/json",
        secure=True,
        headers={"Authorization": basic_auth(token.token_id, token.secret)},
        CONTENT_LENGTH="lots",
    )
    assert error_of(response) == (413, "request_too_large")


def test_the_decision_endpoint_refuses_a_large_body_with_413_without_counting_the_gateway(
    client, token, settings
):
    settings.ACCESSGOV_API_FAILURE_TIERS = [(1, 60, 60)]
    response = client.post(
        "/gateway/v1/introspect",
        {"token": "x" * 70_000},
        headers={"Authorization": "Bearer agg_unknown"},
        secure=True,
    )
    assert error_of(response) == (413, "request_too_large")
    assert limits.blocked_for("127.0.0.1") == 0
