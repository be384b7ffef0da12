"""GitLab's Token Revocation API: a self-managed GitLab revokes leaked accessgov secrets."""

import json

import pytest

from accessgov.audit.models import AuditEvent
from tests.api.conftest import API, ApiClient
from tests.conftest import basic_auth

pytestmark = pytest.mark.django_db
TYPES = "/security/gitlab/v1/revocable_token_types"
REVOKE = "/security/gitlab/v1/revoke_tokens"
SHARED = "s3cret-shared-with-gitlab-0123456789"


@pytest.fixture
def gitlab(settings):
    settings.ACCESSGOV_GITLAB_REVOCATION_TOKEN = SHARED


def test_types_list_our_gitleaks_rules(client, gitlab):
    response = client.get(TYPES, headers={"Authorization": SHARED}, secure=True)
    assert response.status_code == 200
    assert "gitleaks_rule_id_accessgov_token_secret" in response.json()["types"]


def test_gitlab_revokes_a_leaked_token(client, gitlab, token):
    findings = [
        {
            "type": "gitleaks_rule_id_accessgov_token_secret",
            "token": token.secret,
            "location": "https://gitlab.example.com/acme/app/-/blob/main/.env",
        },
        {"type": "gitleaks_rule_id_accessgov_api_key", "token": "agk_not_a_real_one", "location": "x"},
    ]
    response = client.post(
        REVOKE,
        json.dumps(findings),
        content_type="application/json",
        headers={"Authorization": f"Bearer {SHARED}"},
        secure=True,
    )
    assert response.status_code == 204
    assert ApiClient(API).get("Me", basic_auth(token.token_id, token.secret)).status_code == 401
    event = AuditEvent.objects.get(action="credential.leaked")
    assert event.details["source"] == "GitLab secret detection"
    assert event.details["found_at"] == "https://gitlab.example.com/acme/app/-/blob/main/.env"


@pytest.mark.parametrize("authorization", [None, "wrong", f"Bearer {SHARED}x"])
def test_without_the_shared_token_nothing_happens(client, gitlab, token, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    body = json.dumps([{"type": "x", "token": token.secret, "location": "x"}])
    response = client.post(REVOKE, body, content_type="application/json", headers=headers, secure=True)
    assert response.status_code == 401
    assert client.get(TYPES, headers=headers, secure=True).status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is None


def test_unconfigured_the_api_does_not_exist(client, settings, token):
    settings.ACCESSGOV_GITLAB_REVOCATION_TOKEN = ""
    assert client.get(TYPES, headers={"Authorization": ""}, secure=True).status_code == 404
    assert client.post(REVOKE, "[]", content_type="application/json", secure=True).status_code == 404


def test_a_malformed_list_is_refused_and_nothing_is_revoked(client, gitlab, token):
    body = json.dumps([{"type": "x", "token": token.secret}, {"type": "x"}])
    response = client.post(
        REVOKE, body, content_type="application/json", headers={"Authorization": SHARED}, secure=True
    )
    assert response.status_code == 400
    token.refresh_from_db()
    assert token.revoked_at is None
