"""The operator's API: upserts by ExternalId are idempotent, every change is in the tenant's Activity
with the operator key as actor, deactivation stops every credential, and each endpoint refuses a key
without its permission."""

import pytest
from django.core import mail as django_mail  # noqa: F401 - the outbox is ours; nothing is sent here

from accessgov.audit.models import Action, AuditEvent
from accessgov.core.models import OutgoingMail
from accessgov.operator.models import Invitation
from accessgov.policy.actions import issue_api_key
from tenants.models import Membership, Organization, Role, Tenant
from tests.api.conftest import API, ApiClient, error_of
from tests.conftest import basic_auth, bearer_auth, enable_api
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    TenantFactory,
    ThirdPartyTokenFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ACTOR = "platform sync (operator key)"


@pytest.fixture
def auth(operator_key):
    return bearer_auth(operator_key.raw)


def events(tenant, action=None):
    queryset = AuditEvent.objects.filter(tenant=tenant)
    return list(queryset.filter(action=action) if action else queryset)


def test_upserting_a_tenant_twice_creates_it_once_and_audits_once(operator_api, auth):
    body = {"ExternalId": "c-1", "Name": "Northwind", "AdministratorsMustUseMfa": True}
    first = operator_api.post("Tenants", auth, json=body)
    assert first.status_code == 201, first.content
    assert first.json()["Meta"]["Result"] == "created"
    tenant = Tenant.objects.get(external_id="c-1")
    assert tenant.name == "Northwind" and tenant.slug == "northwind" and tenant.is_active
    again = operator_api.post("Tenants", auth, json=body)
    assert again.status_code == 200 and again.json()["Meta"]["Result"] == "unchanged"
    assert Tenant.objects.filter(external_id="c-1").count() == 1
    assert [(e.action, e.actor_label) for e in events(tenant)] == [(Action.TENANT_CREATED, ACTOR)]
    renamed = operator_api.post("Tenants", auth, json={"ExternalId": "c-1", "Name": "Northwind Ltd"})
    assert renamed.json()["Meta"]["Result"] == "updated" and renamed.json()["Data"]["Name"] == "Northwind Ltd"
    assert events(tenant, Action.TENANT_RENAMED)[0].details == {
        "changes": {"name": {"from": "Northwind", "to": "Northwind Ltd"}}
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"ExternalId": "c-9"}, "Name is required"),
        ({"ExternalId": "", "Name": "X"}, "ExternalId is required"),
        ({"ExternalId": "c-9", "Name": "X", "Slug": "Not A Slug"}, "Slug must be"),
        ({"Name": "X"}, "ExternalId"),
    ],
)
def test_a_bad_tenant_is_refused_and_nothing_is_saved(operator_api, auth, body, message):
    response = operator_api.post("Tenants", auth, json=body)
    assert error_of(response) == (400, "invalid_request")
    assert message in response.json()["Error"]["Message"]
    assert not Tenant.objects.filter(external_id__startswith="c-").exists()


def database_queries(context) -> list[str]:
    """Return the SQL of CONTEXT that is not the embedded cache's (limits and blocks live there)."""
    return [
        q["sql"]
        for q in context.captured_queries
        if "accessgov_cache" not in q["sql"] and "SAVEPOINT" not in q["sql"]
    ]


@pytest.mark.parametrize("path", ["Tenants", "Organizations", "Memberships"])
def test_each_list_costs_the_same_queries_whatever_its_length(operator_api, auth, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def page_queries() -> int:
        operator_api.get(path, auth)  # the key's last use is written once a minute, not now
        with CaptureQueriesContext(connection) as context:
            response = operator_api.get(path, auth, params={"$top": "500"})
        assert response.status_code == 200
        return len(database_queries(context))

    for number in range(3):
        tenant = TenantFactory(external_id=f"c-{number}")
        OrganizationFactory(tenant=tenant)
        MembershipFactory(tenant=tenant)
    few = page_queries()
    for number in range(3, 30):
        tenant = TenantFactory(external_id=f"c-{number}")
        OrganizationFactory(tenant=tenant)
        MembershipFactory(tenant=tenant)
    # The count and the page (related rows joined), plus the key unless Redis caches it.
    assert few == page_queries() in {2, 3}


def test_tenants_list_with_odata_and_get_one(operator_api, auth, tenant, other_tenant):
    other_tenant.external_id = "c-7"
    other_tenant.save()
    response = operator_api.get("Tenants", auth, params={"$filter": "ExternalId eq 'c-7'"})
    assert [row["Id"] for row in response.json()["Data"]] == [other_tenant.pk]
    assert response.json()["Meta"]["TotalCount"] == 1
    paged = operator_api.get("Tenants", auth, params={"$top": "1", "$orderby": "Name desc"}).json()
    assert [row["Name"] for row in paged["Data"]] == ["Rival MSP"] and "%24skip=1" in paged["Meta"][
        "NextLink"
    ]
    one = operator_api.get(f"Tenants/{tenant.pk}", auth).json()["Data"]
    assert one["Name"] == "Acme MSP" and one["PartnerId"] == tenant.partner_id
    assert error_of(operator_api.get("Tenants/999999", auth)) == (404, "not_found")


def test_deactivating_a_tenant_stops_every_credential_and_hides_it(
    operator_api, auth, enabled_tenant, admin_user, client
):
    enabled_tenant.external_id = "c-1"
    enabled_tenant.save()
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    _, key = issue_api_key(tenant=enabled_tenant, name="Server", by=admin_user, ip=None)
    tenant_api = ApiClient(API)
    for authorization in (basic_auth(token.token_id, token.secret), bearer_auth(key)):
        assert tenant_api.get("Me", authorization).status_code == 200
    assert (
        operator_api.post("Tenants", auth, json={"ExternalId": "c-1", "Active": False}).json()["Meta"][
            "Result"
        ]
        == "updated"
    )
    for authorization in (basic_auth(token.token_id, token.secret), bearer_auth(key)):
        assert error_of(tenant_api.get("Me", authorization)) == (401, "tenant_deactivated")
    client.force_login(admin_user)
    assert client.get(f"/t/{enabled_tenant.slug}/").status_code == 404
    assert enabled_tenant.name not in client.get("/").content.decode()
    [event] = events(enabled_tenant, Action.TENANT_DEACTIVATED)
    assert event.actor_label == ACTOR
    operator_api.post("Tenants", auth, json={"ExternalId": "c-1", "Active": True})
    for authorization in (basic_auth(token.token_id, token.secret), bearer_auth(key)):
        assert tenant_api.get("Me", authorization).status_code == 200
    assert events(enabled_tenant, Action.TENANT_REACTIVATED)


def test_organizations_are_upserted_per_tenant_by_external_id(operator_api, auth, tenant, other_tenant):
    tenant.external_id, other_tenant.external_id = "c-1", "c-2"
    tenant.save()
    other_tenant.save()
    body = {"TenantExternalId": "c-1", "ExternalId": "o-1", "Name": "Contoso"}
    assert operator_api.post("Organizations", auth, json=body).status_code == 201
    assert operator_api.post("Organizations", auth, json=body).json()["Meta"]["Result"] == "unchanged"
    # The same ExternalId in another tenant is another organization: ids are unique per tenant.
    assert (
        operator_api.post("Organizations", auth, json={**body, "TenantExternalId": "c-2"}).status_code == 201
    )
    assert Organization.objects.filter(external_id="o-1").count() == 2
    assert (
        operator_api.post("Organizations", auth, json={**body, "Name": "Contoso EU"}).json()["Meta"]["Result"]
        == "updated"
    )
    assert Organization.objects.get(tenant=tenant).name == "Contoso EU"
    assert len(events(tenant, Action.ORGANIZATION_ADDED)) == 1 and events(tenant, Action.ORGANIZATION_RENAMED)
    listed = operator_api.get("Organizations", auth, params={"$filter": "TenantExternalId eq 'c-2'"}).json()
    assert [row["TenantId"] for row in listed["Data"]] == [other_tenant.pk]
    missing = operator_api.post("Organizations", auth, json={**body, "TenantExternalId": "nope"})
    assert error_of(missing) == (404, "not_found")


def test_an_organization_name_taken_in_its_tenant_is_refused(operator_api, auth, tenant, contoso):
    tenant.external_id = "c-1"
    tenant.save()
    response = operator_api.post(
        "Organizations", auth, json={"TenantExternalId": "c-1", "ExternalId": "o-2", "Name": "Contoso"}
    )
    assert error_of(response) == (400, "invalid_request")
    assert Organization.objects.filter(tenant=tenant).count() == 1


def test_deleting_an_organization_takes_it_out_of_every_scope_and_says_so(
    operator_api, auth, enabled_tenant, contoso, fabrikam
):
    token = ThirdPartyTokenFactory(
        tenant=enabled_tenant,
        permissions=["Organizations.Read"],
        all_organizations=False,
        organization_ids=[contoso.pk, fabrikam.pk],
    )
    response = operator_api.delete(f"Organizations/{contoso.pk}", auth)
    assert response.status_code == 200, response.content
    token.refresh_from_db()
    assert token.organization_ids == [fabrikam.pk]
    [event] = events(enabled_tenant, Action.ORGANIZATION_REMOVED_FROM_SCOPES)
    assert event.actor_label == ACTOR and event.details["credentials"] == [f"token “{token.name}”"]
    assert events(enabled_tenant, Action.ORGANIZATION_DELETED)[0].actor_label == ACTOR
    assert error_of(operator_api.delete(f"Organizations/{contoso.pk}", auth)) == (404, "not_found")


def test_a_membership_of_someone_with_an_account_is_upserted(operator_api, auth, tenant):
    tenant.external_id = "c-1"
    tenant.save()
    user = UserFactory(username="dana", email="Dana@example.com")
    body = {"TenantExternalId": "c-1", "Email": "dana@EXAMPLE.com", "Role": "technician"}
    assert operator_api.post("Memberships", auth, json=body).json()["Meta"]["Result"] == "created"
    assert operator_api.post("Memberships", auth, json=body).json()["Meta"]["Result"] == "unchanged"
    assert (
        operator_api.post("Memberships", auth, json={**body, "Role": "administrator"}).json()["Meta"][
            "Result"
        ]
        == "updated"
    )
    membership = Membership.objects.get(user=user, tenant=tenant)
    assert membership.role == Role.ADMINISTRATOR
    assert [e.action for e in reversed(events(tenant))] == [
        Action.MEMBERSHIP_ADDED,
        Action.MEMBERSHIP_ROLE_CHANGED,
    ]
    listed = operator_api.get("Memberships", auth, params={"$filter": "Email eq 'Dana@example.com'"}).json()[
        "Data"
    ]
    assert [row["Role"] for row in listed] == ["administrator"]
    assert operator_api.delete(f"Memberships/{membership.pk}", auth).status_code == 200
    assert not Membership.objects.filter(pk=membership.pk).exists() and events(
        tenant, Action.MEMBERSHIP_REMOVED
    )
    bad = operator_api.post("Memberships", auth, json={**body, "Role": "owner"})
    assert (
        error_of(bad) == (400, "invalid_request") and "Role must be one of" in bad.json()["Error"]["Message"]
    )


def test_a_membership_of_someone_without_an_account_sends_one_invitation(operator_api, auth, tenant):
    tenant.external_id = "c-1"
    tenant.save()
    body = {"TenantExternalId": "c-1", "Email": "new.admin@example.com", "Role": "administrator"}
    response = operator_api.post("Memberships", auth, json=body)
    assert response.status_code == 201 and response.json()["Meta"]["Result"] == "invited"
    assert operator_api.post("Memberships", auth, json=body).json()["Meta"]["Result"] == "unchanged"
    invitation = Invitation.objects.get()
    assert invitation.email == "new.admin@example.com" and invitation.role == Role.ADMINISTRATOR
    [queued] = OutgoingMail.objects.all()
    assert queued.to == ["new.admin@example.com"] and "/invitations/agi_" in queued.text_body
    assert invitation.digest not in queued.text_body and invitation.prefix in queued.text_body
    assert [e.actor_label for e in events(tenant, Action.INVITATION_SENT)] == [ACTOR]
    assert "agi_" not in response.content.decode()


PERMISSION_OF = [
    ("get", "Tenants", "Tenants.Read"),
    ("get", "Tenants/{tenant}", "Tenants.Read"),
    ("post", "Tenants", "Tenants.Write"),
    ("get", "Organizations", "Tenants.Read"),
    ("post", "Organizations", "Organizations.Write"),
    ("delete", "Organizations/{organization}", "Organizations.Write"),
    ("get", "Memberships", "Tenants.Read"),
    ("post", "Memberships", "Memberships.Write"),
    ("delete", "Memberships/{membership}", "Memberships.Write"),
]


@pytest.fixture
def ids(tenant, admin_user, contoso):
    tenant.external_id = "c-1"
    tenant.save()
    return {
        "tenant": tenant.pk,
        "organization": contoso.pk,
        "membership": Membership.objects.get(user=admin_user).pk,
    }


@pytest.mark.parametrize(("method", "path", "permission"), PERMISSION_OF)
def test_every_endpoint_refuses_a_key_without_its_permission(
    operator_api, make_operator_key, ids, method, path, permission
):
    from accessgov.core.catalogue import OPERATOR_PERMISSIONS

    others = [p.name for p in OPERATOR_PERMISSIONS if p.name != permission]
    key = make_operator_key(*others)
    url = path.format(**ids)
    body = {
        "TenantExternalId": "c-1",
        "ExternalId": "x",
        "Name": "X",
        "Email": "a@example.com",
        "Role": "viewer",
    }
    kwargs = {"json": body} if method == "post" else {}
    response = getattr(operator_api, method)(url, bearer_auth(key.raw), **kwargs)
    assert error_of(response) == (403, "permission_missing")
    assert (
        Organization.objects.count() == 1
        and Membership.objects.count() == 1
        and not Invitation.objects.exists()
    )


@pytest.mark.parametrize(("method", "path", "permission"), PERMISSION_OF)
def test_every_endpoint_refuses_every_tenant_credential(
    operator_api, enabled_tenant, admin_user, ids, method, path, permission
):
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read", "Organizations.Read"])
    _, key = issue_api_key(tenant=enabled_tenant, name="Server", by=admin_user, ip=None)
    for authorization in (basic_auth(token.token_id, token.secret), bearer_auth(key)):
        kwargs = {"json": {}} if method == "post" else {}
        response = getattr(operator_api, method)(path.format(**ids), authorization, **kwargs)
        assert error_of(response) == (401, "operator_key_required")
    assert Organization.objects.count() == 1 and Membership.objects.count() == 1


def test_ids_of_another_tenant_never_mix_tenants(operator_api, auth, tenant, other_tenant):
    """The operator sees every tenant, so "another tenant's ids" means: each upsert stays in the
    tenant it names, whatever ExternalId another tenant uses."""
    tenant.external_id, other_tenant.external_id = "c-1", "c-2"
    tenant.save()
    other_tenant.save()
    theirs = OrganizationFactory(tenant=other_tenant, name="Shared name", external_id="o-1")
    response = operator_api.post(
        "Organizations", auth, json={"TenantExternalId": "c-1", "ExternalId": "o-1", "Name": "Shared name"}
    )
    assert response.status_code == 201
    theirs.refresh_from_db()
    assert theirs.tenant == other_tenant and response.json()["Data"]["TenantId"] == tenant.pk
    MembershipFactory(
        user=UserFactory(username="x", email="x@example.com"), tenant=other_tenant, role=Role.VIEWER
    )
    operator_api.post(
        "Memberships",
        auth,
        json={"TenantExternalId": "c-1", "Email": "x@example.com", "Role": "administrator"},
    )
    assert Membership.objects.get(tenant=other_tenant).role == Role.VIEWER


def test_a_tenant_created_by_the_operator_can_be_enabled_and_used(operator_api, auth, admin_user):
    response = operator_api.post("Tenants", auth, json={"ExternalId": "c-3", "Name": "Tailspin"})
    tenant = Tenant.objects.get(pk=response.json()["Data"]["Id"])
    enable_api(tenant, by=admin_user)
    assert TenantFactory._meta.model.objects.filter(pk=tenant.pk, is_active=True).exists()


@pytest.mark.parametrize("field", ["Email", "TenantExternalId"])
def test_a_nul_character_in_a_body_is_refused_before_anything_runs(operator_api, auth, tenant, field):
    """PostgreSQL cannot store U+0000: the schema fuzzer's 500, answered 400 on every database."""
    tenant.external_id = "c-1"
    tenant.save()
    body = {"TenantExternalId": "c-1", "Email": "dana@example.com", "Role": "technician", field: "a\u0000b"}
    response = operator_api.post("Memberships", auth, json=body)
    assert response.status_code == 400
    assert response.json()["Error"] == {
        "Code": "invalid_request",
        "Message": "The request is not valid: text may not contain the NUL character (\\u0000).",
    }
    assert not Invitation.objects.exists()


def test_a_body_that_is_not_json_is_told_where_it_breaks(operator_api, auth):
    response = operator_api.post("Memberships", auth, content='{"Email": ')
    assert response.status_code == 400
    assert response.json()["Error"]["Code"] == "invalid_request"
    assert "not valid JSON: Expecting value (line 1, column 11)" in response.json()["Error"]["Message"]
