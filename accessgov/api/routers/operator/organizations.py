"""/api/operator/v1/Organizations: every tenant's organizations, upserted by the tenant's and the
organization's ExternalId, and deleted (which takes them out of every credential's scope)."""

from datetime import datetime

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from pydantic import Field as Body

from accessgov.api import odata
from accessgov.api.envelope import ListMeta, list_response, respond
from accessgov.api.gate import operator_endpoint
from accessgov.api.resources import Field, Resource
from accessgov.api.routers.operator.tenants import UpsertMeta, refused, upserted
from accessgov.core.clientip import get_client_ip
from accessgov.core.errors import ActionRefused
from accessgov.operator import provisioning
from tenants.models import Organization

router = Router(tags=["Operator"])

ORGANIZATION = Resource(
    Field("Id", "pk", "id"),
    Field("ExternalId", "external_id", "external_id"),
    Field("Name", "name", "name"),
    Field("TenantId", "tenant_id", "tenant_id"),
    Field("TenantExternalId", "tenant.external_id", "tenant__external_id"),
    Field("CreatedAt", "created_at", "created_at"),
)


class OperatorOrganizationOut(Schema):
    Id: int
    ExternalId: str | None
    Name: str
    TenantId: int
    TenantExternalId: str | None
    CreatedAt: datetime


class OperatorOrganizationList(Schema):
    Data: list[OperatorOrganizationOut]
    Meta: ListMeta


class OperatorOrganizationUpserted(Schema):
    Data: OperatorOrganizationOut
    Meta: UpsertMeta


class DeletedMeta(Schema):
    ResponseCode: int


class Deleted(Schema):
    Meta: DeletedMeta


class OrganizationIn(Schema):
    TenantExternalId: str = Body(max_length=200)
    ExternalId: str = Body(max_length=200)
    Name: str = Body(max_length=200)


def tenant_or_404(external_id: str):
    """Return the tenant with EXTERNAL_ID or answer 404 naming it."""
    tenant = provisioning.find_tenant(external_id)
    if tenant is None:
        raise Http404(f"No tenant with ExternalId {external_id!r}. Create it first (POST Tenants).")
    return tenant


@operator_endpoint(
    router,
    "GET",
    "Organizations",
    schema=OperatorOrganizationList,
    operation_id="operator_list_organizations",
)
def list_organizations(request: HttpRequest):
    """List every tenant's organizations. OData: e.g. $filter=TenantExternalId eq 'c-42'."""
    queryset = Organization.objects.select_related("tenant")
    query = odata.apply(queryset, request.GET, ORGANIZATION.queryable, ["tenant_id", "name"])
    return list_response(request, query, ORGANIZATION.serialize)


@operator_endpoint(
    router,
    "POST",
    "Organizations",
    schema=OperatorOrganizationUpserted,
    operation_id="operator_upsert_organization",
    created=True,
)
def upsert_organization(request: HttpRequest, body: OrganizationIn):
    """Create or rename the organization with this ExternalId in the tenant with TenantExternalId.

    ExternalIds of organizations are unique within their tenant; the same body twice changes nothing.
    """
    tenant = tenant_or_404(body.TenantExternalId)
    try:
        organization, outcome = provisioning.upsert_organization(
            tenant=tenant,
            external_id=body.ExternalId,
            name=body.Name,
            actor_label=request.auth.record.actor_label,
            ip=get_client_ip(request),
        )
    except ActionRefused as refusal:
        raise refused(refusal) from refusal
    return upserted(ORGANIZATION.serialize(organization), outcome)


@operator_endpoint(
    router,
    "DELETE",
    "Organizations/{int:org_id}",
    schema=Deleted,
    operation_id="operator_delete_organization",
)
def delete_organization(request: HttpRequest, org_id: int):
    """Delete an organization: it leaves every token's and trusted application's scope, and the
    tenant's Activity says which credentials it left."""
    organization = Organization.objects.select_related("tenant").filter(pk=org_id).first()
    if organization is None:
        raise Http404(f"No organization with Id {org_id}.")
    provisioning.delete_organization(
        organization=organization, actor_label=request.auth.record.actor_label, ip=get_client_ip(request)
    )
    return respond({"Meta": {"ResponseCode": 200}})
