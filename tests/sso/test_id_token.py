"""The ID token's checks, fed crafted tokens against the test provider's real key set: signature
(JWKS), issuer, audience, nonce and expiry; and the whole flow refusing a token the provider was
made to tamper with. Also the bounded waits and the cache of discovery and keys."""

import socket
import threading
import time

import pytest
import requests
from django.test import Client
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from accessgov.audit.models import AuditEvent
from accessgov.sso import provider
from tests.sso.oidc import CLIENT_ID, CLIENT_SECRET, sign_in_through_provider

NONCE = "n-0S6_WzA2Mj"


@pytest.fixture
def signing_key(sso) -> RSAKey:
    """Return the provider's own private key, with the kid its key set publishes."""
    [published] = requests.get(f"{sso.issuer}/.well-known/jwks.json", timeout=5).json()["keys"]
    return RSAKey.import_key(sso.private_key, parameters={"kid": published["kid"]})


def claims(sso, **changes) -> dict:
    now = int(time.time())
    base = {"iss": sso.issuer, "sub": "42", "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": NONCE}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def token_for(payload: dict, key, alg: str = "RS256") -> dict:
    header = {"alg": alg, "kid": key.kid} if key.kid else {"alg": alg}
    return {"access_token": "at", "token_type": "Bearer", "id_token": jwt.encode(header, payload, key)}


def reason_of(token: dict, nonce: str = NONCE) -> str:
    with pytest.raises(provider.Refusal) as refused:
        provider.validate_id_token(token, nonce=nonce)
    return refused.value.reason


def test_a_token_signed_by_the_provider_with_the_right_claims_is_accepted(sso, signing_key):
    validated = provider.validate_id_token(token_for(claims(sso), signing_key), nonce=NONCE)
    assert validated["sub"] == "42" and validated["iss"] == sso.issuer


def test_a_token_signed_by_another_key_under_the_providers_kid_is_refused(sso, signing_key):
    impostor = RSAKey.generate_key(2048, parameters={"kid": signing_key.kid})
    assert reason_of(token_for(claims(sso), impostor)) == "bad_signature"


def test_a_token_whose_payload_was_changed_after_signing_is_refused(sso, signing_key):
    header, _, signature = token_for(claims(sso), signing_key)["id_token"].split(".")
    forged_payload = token_for(claims(sso, sub="1"), signing_key)["id_token"].split(".")[1]
    forged = {"access_token": "at", "id_token": f"{header}.{forged_payload}.{signature}"}
    assert reason_of(forged) == "bad_signature"


@pytest.mark.parametrize(
    "changes",
    [{"aud": "someone-else"}, {"aud": ["someone-else"], "azp": CLIENT_ID}, {"aud": None}],
    ids=["other-audience", "other-audience-with-our-azp", "no-audience"],
)
def test_a_token_for_another_audience_is_refused(sso, signing_key, changes):
    assert reason_of(token_for(claims(sso, **changes), signing_key)) == "wrong_audience"


def test_a_token_from_another_issuer_is_refused(sso, signing_key):
    assert reason_of(token_for(claims(sso, iss="https://evil.example"), signing_key)) == "wrong_issuer"


@pytest.mark.parametrize("nonce", ["another-sign-in", None], ids=["other-nonce", "no-nonce"])
def test_a_token_with_another_nonce_or_none_is_refused(sso, signing_key, nonce):
    assert reason_of(token_for(claims(sso, nonce=nonce), signing_key)) == "wrong_nonce"


def test_an_expired_token_is_refused_beyond_a_minute_of_clock_skew(sso, signing_key):
    now = int(time.time())
    assert reason_of(token_for(claims(sso, iat=now - 900, exp=now - 90), signing_key)) == "expired"
    # Within the minute of leeway, a clock slightly ahead of the provider's is forgiven.
    provider.validate_id_token(token_for(claims(sso, iat=now - 900, exp=now - 30), signing_key), nonce=NONCE)


def test_a_token_signed_with_the_client_secret_is_refused(sso):
    # HS256 under the client secret: anyone holding the secret could mint identities.
    forged = token_for(claims(sso), OctKey.import_key(CLIENT_SECRET), alg="HS256")
    assert reason_of(forged) == "invalid_token"


def test_an_answer_without_an_id_token_is_refused(sso):
    assert reason_of({"access_token": "at", "token_type": "Bearer"}) == "no_id_token"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("tamper", "reason", "message"),
    [
        ({"aud": "another-client"}, "wrong_audience", "was issued for another application"),
        ({"nonce": "replayed-nonce"}, "wrong_nonce", "does not belong to this sign-in"),
        ({"expired": True}, "expired", "The ID token has expired"),
    ],
)
def test_the_whole_flow_refuses_a_token_the_provider_tampered_with(sso, tamper, reason, message):
    sso.set_claims({"alice": {"tamper": tamper}})
    client = Client()
    response = sign_in_through_provider(client, "alice")
    assert response.status_code == 403
    assert message in response.content.decode()
    assert "_auth_user_id" not in client.session
    refused = AuditEvent.objects.get(action="sso.refused")
    assert refused.details == {"reason": reason}
    assert refused.actor is None and refused.ip_address == "127.0.0.1"


def test_discovery_and_keys_are_fetched_once_and_reused(sso, signing_key):
    provider.validate_id_token(token_for(claims(sso), signing_key), nonce=NONCE)
    app = provider.provider()
    loaded_at, keys = app.server_metadata["_loaded_at"], app.server_metadata["jwks"]
    provider.validate_id_token(token_for(claims(sso), signing_key), nonce=NONCE)
    assert app.server_metadata["_loaded_at"] == loaded_at and app.server_metadata["jwks"] is keys


def test_a_provider_that_does_not_answer_costs_at_most_the_timeout(settings, sso, db):
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        threading.Thread(target=lambda: [silent.accept() for _ in range(2)], daemon=True).start()
        settings.OIDC_DISCOVERY_URL = (
            f"http://127.0.0.1:{silent.getsockname()[1]}/.well-known/openid-configuration"
        )
        settings.OIDC_TIMEOUT = 0.5
        client = Client()
        client.get("/accounts/login/")  # the first request's one-off costs (templates, URLs) first
        started = time.monotonic()
        response = client.post("/accounts/sso/")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert "did not answer in time" in response.content.decode()
    assert elapsed < 3


def test_a_discovery_document_naming_another_issuer_is_refused(settings, sso, db):
    settings.OIDC_DISCOVERY_URL = sso.discovery_url.replace("127.0.0.1", "localhost")
    response = Client().post("/accounts/sso/")
    assert response.status_code == 403
    assert "its issuer does not match the discovery URL" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "http://idp.example.com/.well-known/openid-configuration",
        "https://user:pw@idp.example.com/x",
        "ftp://x/",
    ],
)
def test_only_https_or_loopback_http_endpoints_are_used(url):
    with pytest.raises(provider.Refusal):
        provider.check_url(url, name="test")
    assert provider.check_url("http://[::1]:8080/x", name="test") == "http://[::1]:8080/x"
    assert provider.check_url("https://login.example.com/x", name="test") == "https://login.example.com/x"


def test_a_provider_whose_authorization_endpoint_the_sign_in_page_may_not_reach_is_named(settings, sso, db):
    settings.OIDC_AUTHORIZATION_ORIGINS = ["https://login.example.com"]
    response = Client().post("/accounts/sso/")
    assert response.status_code == 403
    assert (
        f"add {sso.issuer.removesuffix('/o')} to ACCESSGOV_OIDC_AUTHORIZATION_ORIGINS"
        in response.content.decode()
    )
