"""The Django admin of tenants: searchable by Partner ID, closed to tenant members who are not staff."""

import pytest

pytestmark = pytest.mark.django_db


def test_tenants_are_searchable_by_partner_id(staff_client, tenant, other_tenant):
    listing = staff_client.get("/admin/tenants/tenant/", {"q": tenant.partner_id})
    assert "Acme MSP" in listing.text
    assert "Rival MSP" not in listing.text


def test_tenant_members_without_staff_status_cannot_open_the_admin(admin_client):
    """Attack catalogue case 48: the admin is for the operator's staff only."""
    assert admin_client.get("/admin/").status_code == 302
