"""Leaks of the other kinds: a trusted application's access or refresh token, an operator key."""

import json

import pytest
from django.test import Client

from accessgov.audit.models import AuditEvent
from accessgov.operator.models import OperatorKey
from accessgov.trusted.models import TrustedApplicationAuthorization
from tests.conftest import OPERATOR_API, bearer_auth
from tests.trusted.conftest import app, refresh, tokens_for  # noqa: F401 - the app fixture

pytestmark = pytest.mark.django_db


def report(secret: str):
    body = json.dumps({"secrets": [secret], "url": "https://paste.example/1", "source": "researcher"})
    return Client().post("/security/leaks/v1/reports", body, content_type="application/json", secure=True)


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_a_leaked_oauth_token_revokes_its_authorization(admin_client, enabled_tenant, app, contoso, which):  # noqa: F811
    tokens = tokens_for(admin_client, app, [contoso])

    def me():
        return Client().get(
            "/api/v1/Me", headers={"Authorization": bearer_auth(tokens["access_token"])}, secure=True
        )

    assert me().status_code == 200
    assert report(tokens[which]).status_code == 202
    assert me().status_code == 401
    assert refresh(Client(), app, tokens["refresh_token"]).status_code == 400
    assert TrustedApplicationAuthorization.objects.get().revoked_at is not None
    event = AuditEvent.objects.get(action="credential.leaked")
    assert event.details["name"] == "PSA Connector" and tokens[which] not in json.dumps(event.details)


def test_a_leaked_operator_key_is_deleted(make_operator_key):
    key = make_operator_key("Tenants.Read", name="nightly sync")
    assert (
        Client()
        .get(OPERATOR_API + "Tenants", headers={"Authorization": bearer_auth(key.raw)}, secure=True)
        .status_code
        == 200
    )
    report(key.raw)
    assert not OperatorKey.objects.exists()
    assert (
        Client()
        .get(OPERATOR_API + "Tenants", headers={"Authorization": bearer_auth(key.raw)}, secure=True)
        .status_code
        == 401
    )
    assert AuditEvent.objects.get(action="credential.leaked").tenant is None
