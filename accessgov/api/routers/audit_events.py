"""GET /api/v1/AuditEvents: the tenant's audit log, newest first."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from accessgov.api import odata
from accessgov.api.envelope import ListMeta, list_response
from accessgov.api.gate import endpoint
from accessgov.api.resources import Field, Resource
from accessgov.audit.models import AuditEvent
from accessgov.core.credentials import Principal

router = Router(tags=["Audit events"])

AUDIT_EVENT = Resource(
    Field("Id", "pk", "id"),
    Field("CreatedAt", "created_at", "created_at"),
    Field("Actor", "actor_label", "actor_label"),
    Field("Action", "action", "action"),
    Field("TargetType", "target_type", "target_type"),
    Field("TargetId", "target_id"),
    Field("Target", "target_label", "target_label"),
    # What record_event recorded: values, and edits' {"changes": {field: {"from", "to"}}}; never a
    # secret (record_event's contract). Not queryable: JSON is not filtered portably.
    Field("Details", "details"),
    # Administrators' addresses are personal data: shown only with the widening permission.
    Field("IpAddress", "ip_address", permission="AuditEvents.ReadAddresses"),
)


class AuditEventOut(Schema):
    Id: int
    CreatedAt: datetime
    Actor: str
    Action: str
    TargetType: str
    TargetId: str
    Target: str
    Details: dict[str, Any]
    IpAddress: str | None


class AuditEventList(Schema):
    Data: list[AuditEventOut]
    Meta: ListMeta


@endpoint(router, "GET", "AuditEvents", schema=AuditEventList, operation_id="accessgov_api_audit_events")
def audit_events(request: HttpRequest):
    """List the tenant's audit events, newest first. OData: $top, $skip, $orderby, $filter, $count."""
    principal: Principal = request.auth
    queryset = AuditEvent.objects.filter(tenant_id=principal.tenant_id)
    query = odata.apply(queryset, request.GET, AUDIT_EVENT.queryable, ["-created_at"])
    return list_response(request, query, lambda row: AUDIT_EVENT.serialize(row, principal.permissions))
