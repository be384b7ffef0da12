"""The Django admin of tenants: searchable by Partner ID, closed to tenant members who are not staff."""

import pytest

from accessgov.audit.models import AuditEvent
from tenants.models import Membership, Organization, Tenant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_tenants_are_searchable_by_partner_id(staff_client, tenant, other_tenant):
    listing = staff_client.get("/admin/tenants/tenant/", {"q": tenant.partner_id})
    assert "Acme MSP" in listing.text
    assert "Rival MSP" not in listing.text


def test_tenant_members_without_staff_status_cannot_open_the_admin(admin_client):
    """Attack catalogue case 48: the admin is for the operator's staff only."""
    assert admin_client.get("/admin/").status_code == 302


def _inline_management(prefix: str, total: int, initial: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_staff_creating_and_renaming_a_tenant_is_in_its_activity(staff_client):
    empty_inlines = _inline_management("organizations", 0, 0) | _inline_management("memberships", 0, 0)
    response = staff_client.post(
        "/admin/tenants/tenant/add/", {"name": "Northwind", "slug": "northwind", **empty_inlines}
    )
    assert response.status_code == 302, response.content[:2000]
    tenant = Tenant.objects.get(slug="northwind")
    [created] = _events("tenant.created")
    assert (created.tenant, created.actor_label) == (tenant, "support (staff)")
    response = staff_client.post(
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        {"name": "Northwind Traders", "slug": "northwind", **empty_inlines},
    )
    assert response.status_code == 302, response.content[:2000]
    [renamed] = _events("tenant.renamed")
    assert renamed.tenant == tenant and renamed.actor_label == "support (staff)"
    assert renamed.details == {"changes": {"name": {"from": "Northwind", "to": "Northwind Traders"}}}


def test_staff_deactivating_and_reactivating_a_tenant_is_in_its_activity(staff_client, tenant):
    empty_inlines = _inline_management("organizations", 0, 0) | _inline_management("memberships", 0, 0)
    form = {
        "name": tenant.name,
        "slug": tenant.slug,
        "external_id": "c-1",
        "password_sign_in": "on",
        **({"administrators_must_use_mfa": "on"} if tenant.administrators_must_use_mfa else {}),
        **empty_inlines,
    }
    response = staff_client.post(f"/admin/tenants/tenant/{tenant.pk}/change/", form)  # Active unticked
    assert response.status_code == 302, response.content[:2000]
    tenant.refresh_from_db()
    assert not tenant.is_active and tenant.external_id == "c-1"
    staff_client.post(f"/admin/tenants/tenant/{tenant.pk}/change/", {**form, "is_active": "on"})
    assert [e.actor_label for e in _events("tenant.deactivated") + _events("tenant.reactivated")] == [
        "support (staff)",
        "support (staff)",
    ]
    assert _events("tenant.settings_changed")[0].details == {
        "changes": {"external_id": {"from": None, "to": "c-1"}}
    }


def test_staff_adding_renaming_and_deleting_an_organization_is_in_its_tenants_activity(staff_client, tenant):
    response = staff_client.post("/admin/tenants/organization/add/", {"tenant": tenant.pk, "name": "Contoso"})
    assert response.status_code == 302, response.content[:2000]
    organization = Organization.objects.get(name="Contoso")
    response = staff_client.post(
        f"/admin/tenants/organization/{organization.pk}/change/", {"name": "Contoso Ltd"}
    )
    assert response.status_code == 302, response.content[:2000]
    response = staff_client.post(f"/admin/tenants/organization/{organization.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Organization.objects.exists()
    events = AuditEvent.objects.for_tenant(tenant).order_by("pk")
    assert [(e.action, e.actor_label, e.details) for e in events] == [
        ("organization.added", "support (staff)", {"name": "Contoso"}),
        (
            "organization.renamed",
            "support (staff)",
            {"changes": {"name": {"from": "Contoso", "to": "Contoso Ltd"}}},
        ),
        ("organization.deleted", "support (staff)", {"name": "Contoso Ltd"}),
    ]


def test_staff_adding_changing_and_removing_a_membership_is_in_the_tenants_activity(staff_client, tenant):
    user = UserFactory(username="dana")
    response = staff_client.post(
        "/admin/tenants/membership/add/", {"user": user.pk, "tenant": tenant.pk, "role": "viewer"}
    )
    assert response.status_code == 302, response.content[:2000]
    membership = Membership.objects.get(user=user)
    response = staff_client.post(
        f"/admin/tenants/membership/{membership.pk}/change/",
        {"user": user.pk, "tenant": tenant.pk, "role": "administrator"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert Membership.objects.get().role == "administrator"
    # The bulk delete action, too, removes members one audited row at a time.
    response = staff_client.post(
        "/admin/tenants/membership/",
        {"action": "delete_selected", "_selected_action": [membership.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Membership.objects.exists()
    events = AuditEvent.objects.for_tenant(tenant).order_by("pk")
    assert [(e.action, e.actor_label, e.details) for e in events] == [
        ("membership.added", "support (staff)", {"user": "dana", "role": "viewer"}),
        (
            "membership.role_changed",
            "support (staff)",
            {"user": "dana", "changes": {"role": {"from": "viewer", "to": "administrator"}}},
        ),
        ("membership.removed", "support (staff)", {"user": "dana", "role": "administrator"}),
    ]


def test_membership_and_organization_changes_made_inline_on_the_tenant_are_audited(
    staff_client, tenant, admin_user
):
    """The tenant's change page edits its organizations and members inline: the same audit applies."""
    membership = Membership.objects.get(user=admin_user)
    data = {
        "name": tenant.name,
        "slug": tenant.slug,
        "password_sign_in": "on",
        "is_active": "on",
        **_inline_management("organizations", 1, 0),
        "organizations-0-name": "Fabrikam",
        **_inline_management("memberships", 1, 1),
        "memberships-0-id": membership.pk,
        "memberships-0-tenant": tenant.pk,
        "memberships-0-user": admin_user.pk,
        "memberships-0-role": "viewer",
    }
    response = staff_client.post(f"/admin/tenants/tenant/{tenant.pk}/change/", data)
    assert response.status_code == 302, response.content[:3000]
    actions = set(AuditEvent.objects.for_tenant(tenant).values_list("action", "actor_label"))
    assert actions == {
        ("organization.added", "support (staff)"),
        ("membership.role_changed", "support (staff)"),
    }
    data |= {
        **_inline_management("organizations", 0, 0),
        "memberships-0-role": "viewer",
        "memberships-0-DELETE": "on",
    }
    response = staff_client.post(f"/admin/tenants/tenant/{tenant.pk}/change/", data)
    assert response.status_code == 302, response.content[:3000]
    assert not Membership.objects.exists()
    assert AuditEvent.objects.get(action="membership.removed").tenant == tenant


def test_staff_turning_off_a_tenants_mfa_requirement_is_in_its_activity_with_old_and_new_value(
    staff_client, tenant
):
    Tenant.objects.filter(pk=tenant.pk).update(administrators_must_use_mfa=True)
    empty_inlines = _inline_management("organizations", 0, 0) | _inline_management("memberships", 0, 0)
    response = staff_client.post(
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        {"name": tenant.name, "slug": tenant.slug, **empty_inlines},
    )
    assert response.status_code == 302, response.content[:2000]
    tenant.refresh_from_db()
    assert not tenant.administrators_must_use_mfa
    [changed] = _events("tenant.settings_changed")
    assert changed.tenant == tenant and changed.actor_label == "support (staff)"
    assert changed.details == {"changes": {"administrators_must_use_mfa": {"from": True, "to": False}}}
    assert not _events("tenant.renamed")
