"""Operator keys: made once by a superuser (command or admin), kept as a digest, accepted only by the
operator's API, which accepts nothing else."""

import io

import pytest
from django.core.management import CommandError, call_command

from accessgov.audit.models import Action, AuditEvent
from accessgov.core import keys
from accessgov.operator.actions import delete_operator_key
from accessgov.operator.models import OperatorKey
from tests.api.conftest import API, ApiClient, error_of
from tests.conftest import basic_auth, bearer_auth
from tests.factories import ThirdPartyTokenFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_operator_key_prints_the_key_once_and_keeps_only_its_digest():
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_operator_key",
        "--name",
        "platform nightly sync",
        "--permissions",
        "Tenants.Read, Tenants.Read",
        stdout=out,
        stderr=err,
    )
    raw = out.getvalue().strip()
    key = OperatorKey.objects.get()
    assert keys.parse_secret(raw, "ago_") is not None
    assert key.prefix == raw[:16] and key.digest == keys.digest_secret(raw) and raw not in str(vars(key))
    assert key.permissions == ["Tenants.Read"]
    assert raw not in err.getvalue() and "not shown again" in err.getvalue()
    event = AuditEvent.objects.get(action=Action.OPERATOR_KEY_CREATED)
    assert event.actor_label == "manage.py create_operator_key" and raw not in str(event.details)


@pytest.mark.parametrize(
    ("permissions", "message"),
    [("Tenants.Read,Me.Read", "Unknown permission Me.Read"), (",", "at least one permission")],
)
def test_create_operator_key_refuses_a_permission_that_is_not_an_operators(permissions, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_operator_key", "--name", "x", "--permissions", permissions, stdout=io.StringIO())
    assert not OperatorKey.objects.exists()


def test_an_operator_key_reads_the_operators_api(operator_api, make_operator_key, tenant, other_tenant):
    key = make_operator_key("Tenants.Read")
    response = operator_api.get("Tenants", bearer_auth(key.raw))
    assert response.status_code == 200, response.content
    assert [row["Name"] for row in response.json()["Data"]] == ["Acme MSP", "Rival MSP"]
    assert response["Cache-Control"] == "no-store" and response["RateLimit-Limit"]
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_an_operator_key_without_the_permission_is_refused(operator_api, make_operator_key, tenant):
    key = make_operator_key("Tenants.Read")
    key.permissions = []
    key.save()
    response = operator_api.get("Tenants", bearer_auth(key.raw))
    assert error_of(response) == (403, "permission_missing")
    assert "Tenants.Read" in response.json()["Error"]["Message"]


def test_a_wrong_or_deleted_operator_key_is_refused_like_any_credential(operator_api, make_operator_key):
    key = make_operator_key("Tenants.Read")
    forged = keys.generate_secret("ago_")
    assert error_of(operator_api.get("Tenants", bearer_auth(forged))) == (401, "invalid_credentials")
    delete_operator_key(key=key, by=None)
    response = operator_api.get("Tenants", bearer_auth(key.raw))
    assert error_of(response) == (401, "invalid_credentials")
    assert response["WWW-Authenticate"]
    assert AuditEvent.objects.filter(action=Action.OPERATOR_KEY_DELETED).count() == 1


def test_an_operator_key_never_reaches_a_tenants_endpoint(make_operator_key, enabled_tenant):
    key = make_operator_key("Tenants.Read")
    response = ApiClient(API).get("Me", bearer_auth(key.raw))
    assert error_of(response) == (401, "operator_key_not_accepted")


def test_no_tenant_credential_reaches_the_operators_api(operator_api, enabled_tenant, admin_user, tenant):
    from accessgov.policy.actions import issue_api_key

    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    _, api_key = issue_api_key(tenant=enabled_tenant, name="Server", by=admin_user, ip=None)
    for authorization in (basic_auth(token.token_id, token.secret), bearer_auth(api_key)):
        response = operator_api.get("Tenants", authorization)
        assert error_of(response) == (401, "operator_key_required"), authorization
    assert error_of(operator_api.get("Tenants")) == (401, "missing_credentials")


def test_plain_http_is_refused_on_the_operators_api_too(client, operator_key):
    response = client.get(
        "/api/operator/v1/Tenants", headers={"Authorization": bearer_auth(operator_key.raw)}
    )
    assert response.status_code == 403 and response.json()["Error"]["Code"] == "https_required"


def test_introspection_never_calls_an_operator_key_active(client, operator_key):
    from accessgov.gateway.actions import issue_gateway_key

    _, gateway_key = issue_gateway_key(name="gw", by=None)
    response = client.post(
        "/gateway/v1/introspect",
        {"token": operator_key.raw},
        headers={"Accessgov-Gateway-Key": gateway_key},
        secure=True,
    )
    assert response.json() == {"active": False}


def test_a_superuser_makes_an_operator_key_in_the_admin_and_sees_it_once(staff_client):
    response = staff_client.post(
        "/admin/accessgov/operatorkey/add/",
        {"name": "platform", "permissions": ["Tenants.Read"]},
    )
    assert response.status_code == 200, response.content
    key = OperatorKey.objects.get()
    html = response.content.decode()
    raw = html.split("data-secret>")[1].split("<")[0]
    assert keys.digest_matches(raw, key.digest, key.pepper_id)
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.get(action=Action.OPERATOR_KEY_CREATED).actor_label == "support (staff)"
    page = staff_client.get(f"/admin/accessgov/operatorkey/{key.pk}/change/").content.decode()
    assert raw not in page and key.digest not in page and key.prefix in page


def test_only_a_superuser_may_make_an_operator_key(db):
    from tests.conftest import verified_client_for

    staff = UserFactory(username="helpdesk", is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.set(Permission.objects.filter(codename__endswith="operatorkey"))
    client = verified_client_for(staff)
    response = client.post(
        "/admin/accessgov/operatorkey/add/", {"name": "x", "permissions": ["Tenants.Read"]}
    )
    assert response.status_code == 403
    assert not OperatorKey.objects.exists()
