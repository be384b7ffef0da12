"""GET /api/operator/v1/Credentials: the inventory of every credential of every tenant (never a secret)."""

from datetime import datetime

from django.core.exceptions import FieldError, ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from accessgov.api import odata
from accessgov.api.envelope import ListMeta, list_response
from accessgov.api.gate import operator_endpoint
from accessgov.api.resources import Field, Resource
from accessgov.inventory import credentials
from accessgov.inventory.rows import Row

router = Router(tags=["Operator"])

CREDENTIAL = Resource(
    Field("Type", "kind", "kind"),
    Field("Id", "credential_id", "credential_id"),
    Field("TenantId", "tenant_ref", "tenant_ref"),
    Field("TenantName", "tenant_name", "tenant_name"),
    Field("Name", "label", "label"),
    Field("Identifier", "identifier", "identifier"),
    Field("Creator", "creator", "creator"),
    Field("PermissionCount", "permission_count", "permission_count"),
    Field("IpRestricted", "ip_restricted"),
    Field("AllOrganizations", "every_organization"),
    Field("OrganizationCount", "organization_count", "organization_count"),
    Field("StartsAt", "valid_from", "valid_from"),
    Field("ExpiresAt", "valid_until", "valid_until"),
    Field("LastUsedAt", "last_used", "last_used"),
    Field("Status", "status", "status"),
)
# What $filter may compare each column with (the list is a UNION, not one model).
KINDS = {
    "kind": "text",
    "credential_id": "integer",
    "tenant_ref": "integer",
    "tenant_name": "text",
    "label": "text",
    "identifier": "text",
    "creator": "text",
    "permission_count": "integer",
    "organization_count": "integer",
    "valid_from": "datetime",
    "valid_until": "datetime",
    "last_used": "datetime",
    "status": "text",
}


class OperatorCredentialOut(Schema):
    Type: str
    Id: int
    TenantId: int
    TenantName: str
    Name: str
    Identifier: str
    Creator: str
    PermissionCount: int
    IpRestricted: bool
    AllOrganizations: bool
    OrganizationCount: int
    StartsAt: datetime | None
    ExpiresAt: datetime | None
    LastUsedAt: datetime | None
    Status: str


class OperatorCredentialList(Schema):
    Data: list[OperatorCredentialOut]
    Meta: ListMeta


@operator_endpoint(
    router, "GET", "Credentials", schema=OperatorCredentialList, operation_id="operator_list_credentials"
)
def list_credentials(request: HttpRequest):
    """List every API key, third-party token, trusted-application authorization and webhook signing
    secret of every tenant. Type is api_key, token, authorization or webhook_secret; Status is
    active, scheduled, expired, revoked or disabled. OData: $top, $skip, $orderby, $count, $filter
    (e.g. `Status eq 'active' and ExpiresAt le 2026-12-31T00:00:00Z`, `TenantId eq 7`,
    `contains(Name,'backup')`)."""
    top, skip = odata.parse_paging(request.GET)
    where = (
        odata.parse_filter(request.GET["$filter"], CREDENTIAL.queryable, None, KINDS)
        if "$filter" in request.GET
        else None
    )
    ordering = (
        odata.parse_orderby(request.GET["$orderby"], CREDENTIAL.queryable)
        if request.GET.get("$orderby")
        else []
    )
    try:
        rows = credentials.inventory(now=timezone.now(), where=where)
    except (FieldError, TypeError, ValueError, OverflowError, ValidationError, RecursionError) as error:
        raise odata.ODataError(
            "$filter cannot be applied: a value does not fit its field, or it is nested too deeply."
        ) from error
    if ordering:
        # Kind and Id last, so pages never overlap or skip rows with equal sort values.
        rows = rows.order_by(*ordering, "kind", "credential_id")
    query = odata.ListQuery(top=top, skip=skip, queryset=rows)
    return list_response(request, query, lambda values: CREDENTIAL.serialize(Row.from_values(values)))
