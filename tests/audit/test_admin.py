"""The Django admin of the audit log: support staff may read it, nobody may change it."""

import pytest

from accessgov.audit.models import AuditEvent
from tests.factories import AuditEventFactory

pytestmark = pytest.mark.django_db


def test_audit_events_are_read_only_in_the_admin(staff_client, tenant):
    event = AuditEventFactory(tenant=tenant)
    assert staff_client.get(f"/admin/accessgov/auditevent/{event.pk}/change/").status_code == 200
    assert (
        staff_client.post(f"/admin/accessgov/auditevent/{event.pk}/change/", {"action": "x"}).status_code
        == 403
    )
    assert (
        staff_client.post(f"/admin/accessgov/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert staff_client.get("/admin/accessgov/auditevent/add/").status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "api_key.created"
