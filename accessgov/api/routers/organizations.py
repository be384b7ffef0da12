"""GET /api/v1/Organizations and Organizations/{Id}, narrowed to the credential's organization scope."""

from datetime import datetime

from django.http import Http404, HttpRequest
from ninja import Router, Schema

from accessgov.api import odata
from accessgov.api.envelope import ListMeta, MeMeta, list_response, one_response
from accessgov.api.gate import endpoint
from accessgov.api.resources import Field, Resource
from accessgov.core.credentials import Principal
from tenants.models import Organization

router = Router(tags=["Organizations"])

ORGANIZATION = Resource(
    Field("Id", "pk", "id"),
    Field("Name", "name", "name"),
    Field("CreatedAt", "created_at", "created_at"),
)


class OrganizationOut(Schema):
    Id: int
    Name: str
    CreatedAt: datetime


class OrganizationList(Schema):
    Data: list[OrganizationOut]
    Meta: ListMeta


class OrganizationOne(Schema):
    Data: OrganizationOut
    Meta: MeMeta


def visible_organizations(principal: Principal):
    """Return the organizations PRINCIPAL may see: its tenant's, narrowed to its scope."""
    return principal.organizations.filter(Organization.objects.filter(tenant_id=principal.tenant_id))


@endpoint(
    router, "GET", "Organizations", schema=OrganizationList, operation_id="tenants_api_list_organizations"
)
def list_organizations(request: HttpRequest):
    """List the organizations the credential may see. OData: $top, $skip, $orderby, $filter, $count."""
    query = odata.apply(visible_organizations(request.auth), request.GET, ORGANIZATION.queryable, ["name"])
    return list_response(request, query, ORGANIZATION.serialize)


@endpoint(
    router,
    "GET",
    "Organizations/{int:organization_id}",
    schema=OrganizationOne,
    operation_id="tenants_api_get_organization",
)
def get_organization(request: HttpRequest, organization_id: int):
    """Return one organization; another tenant's, or one outside the token's scope, is not found."""
    organization = visible_organizations(request.auth).filter(pk=organization_id).first()
    if organization is None:
        raise Http404(f"No organization with Id {organization_id} is visible to this credential.")
    return one_response(ORGANIZATION.serialize(organization))
