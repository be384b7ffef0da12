"""The Django admin of trusted applications and authorizations for support staff."""

from django.test import Client

from accessgov.audit.models import AuditEvent
from accessgov.trusted.models import TrustedApplicationAuthorization
from tests.factories import TrustedApplicationAuthorizationFactory
from tests.trusted.conftest import tokens_for

AUTHORIZATIONS = "/admin/accessgov/trustedapplicationauthorization/"


def test_the_revoke_action_revokes_audited_as_the_staff_member(staff_client, enabled_tenant):
    authorization = TrustedApplicationAuthorizationFactory(tenant=enabled_tenant)
    response = staff_client.post(
        AUTHORIZATIONS, {"action": "revoke_selected", "_selected_action": [authorization.pk]}, follow=True
    )
    assert "Revoked 1 authorization(s)." in response.text
    assert TrustedApplicationAuthorization.objects.get().revoked_at is not None
    assert AuditEvent.objects.get(action="trusted_app.revoked").actor_label == "support (staff)"


def test_view_only_staff_cannot_revoke_an_authorization(view_only_staff_client, enabled_tenant):
    authorization = TrustedApplicationAuthorizationFactory(tenant=enabled_tenant)
    listing = view_only_staff_client.get(AUTHORIZATIONS)
    assert listing.status_code == 200 and "revoke_selected" not in listing.text
    view_only_staff_client.post(
        AUTHORIZATIONS, {"action": "revoke_selected", "_selected_action": [authorization.pk]}
    )
    assert TrustedApplicationAuthorization.objects.get().revoked_at is None
    assert not AuditEvent.objects.filter(action="trusted_app.revoked").exists()


def test_narrowing_an_applications_permissions_narrows_live_authorizations_and_their_tokens(
    staff_client, admin_client, enabled_tenant, app, contoso
):
    tokens = tokens_for(admin_client, app, [contoso])
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert Client().get("/api/v1/Organizations", headers=bearer, secure=True).status_code == 200
    revoked = TrustedApplicationAuthorizationFactory(
        tenant=enabled_tenant, application=app, permissions=["Me.Read", "Organizations.Read"], revoked=True
    )
    response = staff_client.post(
        f"/admin/accessgov/trustedapplication/{app.pk}/change/",
        {
            "name": app.name,
            "vendor": app.vendor,
            "oauth_application": app.oauth_application.pk,
            "permissions": ["Me.Read"],
            "is_enabled": "on",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    live = TrustedApplicationAuthorization.objects.live().get()
    assert live.permissions == ["Me.Read"]
    revoked.refresh_from_db()
    assert revoked.permissions == ["Me.Read", "Organizations.Read"]  # history stays as consented
    assert Client().get("/api/v1/Organizations", headers=bearer, secure=True).status_code == 403
    assert Client().get("/api/v1/Me", headers=bearer, secure=True).status_code == 200
    event = AuditEvent.objects.get(action="trusted_app.narrowed")
    assert (event.tenant, event.actor_label, event.target_id) == (
        enabled_tenant,
        "support (staff)",
        str(live.pk),
    )
    assert event.details["removed"] == ["Organizations.Read"]
