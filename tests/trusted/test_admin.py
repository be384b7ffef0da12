"""The Django admin of trusted applications and authorizations for support staff."""

from accessgov.audit.models import AuditEvent
from accessgov.trusted.models import TrustedApplicationAuthorization
from tests.factories import TrustedApplicationAuthorizationFactory

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
