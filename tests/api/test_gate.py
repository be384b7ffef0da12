"""The gate of /api/v1/ through HTTP: which credentials pass, every refusal, limits and the IP block.

Django's test client marked secure stands in for the TLS terminator (tests/api/conftest.py says
why); tests/api/test_api_over_tls.py keeps the proof over a real HTTPS socket.
"""

import base64
from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from accessgov.policy import actions
from tests.api.conftest import error_of
from tests.conftest import basic_auth, bearer_auth
from tests.factories import ThirdPartyTokenFactory


def test_me_answers_an_api_key_sent_as_bearer(api, api_key):
    response = api.get("Me", bearer_auth(api_key.raw))
    assert response.status_code == 200
    assert response.json()["Data"]["Credential"] == {
        "Type": "ApiKey",
        "Id": api_key.prefix,
        "Name": "Server",
        "ExpiresAt": None,
    }
    assert response.json()["Data"]["Organizations"] == "All"


def test_using_a_token_records_when_and_from_where_it_was_last_used(api, token):
    api.get("Me", basic_auth(token.token_id, token.secret))
    token.refresh_from_db()
    assert token.last_used_ip == "127.0.0.1"
    assert timezone.now() - token.last_used_at < timedelta(seconds=30)


def test_an_unknown_token_and_a_wrong_secret_get_the_same_answer(api, token):
    """Attack catalogue case 2: unknown ID and wrong secret look the same."""
    unknown = api.get("Me", basic_auth("agt_000000000999", token.secret))
    wrong = api.get(
        "Me", basic_auth(token.token_id, token.secret[:-1] + ("A" if token.secret[-1] != "A" else "B"))
    )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.headers["WWW-Authenticate"] == wrong.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        basic_auth("agt_000000000001", ""),
        "Digest abc",
        "Bearer agk_short",
    ],
)
def test_missing_or_garbled_credentials_get_401_with_www_authenticate(api, enabled_tenant, header):
    """Attack catalogue case 1: a missing or garbled Authorization gets 401."""
    response = api.get("Me", header if header else None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json()["Error"]["Code"] in {
        "missing_credentials",
        "malformed_credentials",
        "invalid_credentials",
        "unsupported_scheme",
    }


def test_a_secret_with_a_trailing_newline_is_not_normalised(api, token):
    """Attack catalogue case 3: a secret is never normalised."""
    assert api.get("Me", basic_auth(token.token_id, token.secret + "\n")).status_code == 401
    assert api.get("Me", basic_auth(token.token_id, token.secret + " ")).status_code == 401


def test_an_oversized_authorization_header_is_refused_before_hashing(api, token):
    """Attack catalogue case 6: an oversized secret is refused before hashing."""
    response = api.get("Me", "Basic " + "A" * 5000)
    assert response.status_code == 400
    assert error_of(response) == (400, "authorization_too_long")


def test_a_revoked_token_stops_at_once(api, token, admin_user):
    """Attack catalogue case 15: a revoked token stops at once."""
    assert api.get("Me", basic_auth(token.token_id, token.secret)).status_code == 200
    token.revoke(by=admin_user, now=timezone.now())
    assert error_of(api.get("Me", basic_auth(token.token_id, token.secret))) == (401, "token_revoked")


def test_a_token_before_its_start_date_and_after_its_expiry_is_refused(api, enabled_tenant):
    """Attack catalogue case 14: a token is refused before its start and from its expiry."""
    scheduled = ThirdPartyTokenFactory(tenant=enabled_tenant, scheduled=True)
    expired = ThirdPartyTokenFactory(tenant=enabled_tenant, expired=True)
    assert error_of(api.get("Me", basic_auth(scheduled.token_id, scheduled.secret))) == (
        401,
        "token_not_yet_valid",
    )
    assert error_of(api.get("Me", basic_auth(expired.token_id, expired.secret))) == (401, "token_expired")


def test_a_token_from_an_ip_outside_its_allowlist_gets_403(api, enabled_tenant):
    """Attack catalogue case 17: an address outside the allowlist is refused."""
    outside = ThirdPartyTokenFactory(tenant=enabled_tenant, allowed_ips=["192.0.2.0/24"])
    inside = ThirdPartyTokenFactory(tenant=enabled_tenant, allowed_ips=["127.0.0.0/8"])
    assert error_of(api.get("Me", basic_auth(outside.token_id, outside.secret))) == (403, "ip_not_allowed")
    assert api.get("Me", basic_auth(inside.token_id, inside.secret)).status_code == 200


def test_a_missing_permission_gets_403_naming_it(api, enabled_tenant):
    me_only = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    response = api.get("Organizations", basic_auth(me_only.token_id, me_only.secret))
    assert error_of(response) == (403, "permission_missing")
    assert "Organizations.Read" in response.json()["Error"]["Message"]


def test_turning_api_access_off_stops_tokens_and_keys_with_401(
    api, token, api_key, enabled_tenant, admin_user
):
    actions.disable_api_access(tenant=enabled_tenant, by=admin_user, ip=None)
    assert error_of(api.get("Me", basic_auth(token.token_id, token.secret))) == (401, "api_access_off")
    assert error_of(api.get("Me", bearer_auth(api_key.raw))) == (401, "api_access_off")


def test_a_deleted_api_key_stops_at_once(api, api_key, admin_user):
    assert api.get("Me", bearer_auth(api_key.raw)).status_code == 200
    actions.delete_api_key(api_key=api_key, by=admin_user, ip=None)
    assert error_of(api.get("Me", bearer_auth(api_key.raw))) == (401, "invalid_credentials")


def test_a_console_session_cookie_is_not_a_credential(api, admin_client, enabled_tenant):
    """Attack catalogue case 7: a session cookie is not an API credential."""
    session_cookie = admin_client.cookies["sessionid"].value
    response = api.get("Me", headers={"Cookie": f"sessionid={session_cookie}"})
    assert error_of(response) == (401, "missing_credentials")


def test_a_key_in_the_query_string_is_ignored(api, api_key):
    """Attack catalogue case 5: a key in the query string is ignored."""
    response = api.get("Me", params={"api_key": api_key.raw})
    assert error_of(response) == (401, "missing_credentials")


@override_settings(ACCESSGOV_API_RATE_LIMITS={"default": [(3, 3600)], "Notify.Send": [(2, 5), (50, 60)]})
def test_over_the_rate_limit_the_answer_is_429_with_retry_after(api, token):
    # Fixed windows are aligned to the clock: start 10 s into an hour so no window edge is crossed.
    start = timezone.now().replace(minute=0, second=10, microsecond=0) + timedelta(hours=1)
    with time_machine.travel(start, tick=True):
        _exhaust_the_limits(api, basic_auth(token.token_id, token.secret))


def _exhaust_the_limits(api, authorization: str):
    remaining = [api.get("Me", authorization).headers["RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    limited = api.get("Me", authorization)
    assert error_of(limited) == (429, "rate_limited")
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    # Each endpoint's limit is its own: Notify counts separately, in all its windows at once.
    assert api.post("Notify", authorization, json={"Message": "a"}).status_code == 202
    assert api.post("Notify", authorization, json={"Message": "b"}).status_code == 202
    third = api.post("Notify", authorization, json={"Message": "c"})
    assert third.status_code == 429
    assert int(third.headers["Retry-After"]) <= 5


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(3, 60, 60)])
def test_after_repeated_failures_the_ip_is_blocked_even_with_a_valid_token(api, token):
    """Attack catalogue case 38: a blocked address is refused even with a valid credential."""
    valid = basic_auth(token.token_id, token.secret)
    for _ in range(2):
        assert api.get("Me", basic_auth(token.token_id, "wrong")).status_code == 401
    assert api.get("Me", valid).status_code == 200
    assert api.get("NoSuchThing", valid).status_code == 404  # the third failure
    blocked = api.get("Me", valid)
    assert error_of(blocked) == (429, "ip_blocked")
    assert 55 <= int(blocked.headers["Retry-After"]) <= 60
    assert api.get("NoSuchThing").status_code == 429
