"""The Django admin of API keys for support staff: prefix visible, no digest, deletes audited."""

import pytest

from accessgov.audit.models import AuditEvent
from accessgov.policy.models import ApiKey
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db


def test_the_key_change_page_shows_the_prefix_and_never_the_digest(staff_client, tenant):
    """Attack catalogue case 49: the admin never shows a digest or secret."""
    api_key = ApiKeyFactory(tenant=tenant, name="PSA sync")
    page = staff_client.get(f"/admin/accessgov/apikey/{api_key.pk}/change/")
    assert page.status_code == 200
    assert api_key.prefix in page.text
    assert api_key.digest not in page.text
    assert "digest" not in page.text.lower()
    listing = staff_client.get("/admin/accessgov/apikey/")
    assert api_key.digest not in listing.text


def test_searching_keys_by_digest_finds_nothing(staff_client, tenant):
    """Attack catalogue case 49: the admin never shows a digest or secret."""
    api_key = ApiKeyFactory(tenant=tenant)
    listing = staff_client.get("/admin/accessgov/apikey/", {"q": api_key.digest[:20]})
    assert "0 API keys" in listing.text or api_key.prefix not in listing.text


def test_staff_cannot_create_a_key(staff_client):
    assert staff_client.get("/admin/accessgov/apikey/add/").status_code == 403


def test_staff_deleting_a_key_is_audited_as_the_staff_member(staff_client, tenant):
    api_key = ApiKeyFactory(tenant=tenant, name="Leaked")
    response = staff_client.post(f"/admin/accessgov/apikey/{api_key.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ApiKey.objects.exists()
    event = AuditEvent.objects.get(action="api_key.deleted")
    assert event.actor_label == "support (staff)"
    assert event.tenant == tenant


def test_the_bulk_delete_action_is_audited_per_key(staff_client, tenant, other_tenant):
    mine, theirs = ApiKeyFactory(tenant=tenant), ApiKeyFactory(tenant=other_tenant)
    staff_client.post(
        "/admin/accessgov/apikey/",
        {"action": "delete_selected_keys", "_selected_action": [mine.pk, theirs.pk]},
    )
    assert not ApiKey.objects.exists()
    assert set(AuditEvent.objects.values_list("tenant__slug", flat=True)) == {"acme", "rival"}


def test_view_only_staff_cannot_delete_keys(view_only_staff_client, tenant):
    api_key = ApiKeyFactory(tenant=tenant)
    listing = view_only_staff_client.get("/admin/accessgov/apikey/")
    assert listing.status_code == 200 and api_key.prefix in listing.text
    assert "delete_selected_keys" not in listing.text
    view_only_staff_client.post(
        "/admin/accessgov/apikey/", {"action": "delete_selected_keys", "_selected_action": [api_key.pk]}
    )
    response = view_only_staff_client.post(f"/admin/accessgov/apikey/{api_key.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert ApiKey.objects.filter(pk=api_key.pk).exists()
    assert not AuditEvent.objects.filter(action="api_key.deleted").exists()
