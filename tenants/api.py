"""GET /api/v1/Organizations and Organizations/{Id}, filtered by the credential's organization scope."""

from datetime import datetime

from django.http import Http404, HttpRequest
from ninja import Router, Schema

from accessgov import odata
from accessgov.api import ERRORS, ListMeta, MeMeta, governed, list_response, respond
from accessgov.apiauth import Principal
from tenants.models import Organization

router = Router(tags=["Organizations"])

FIELDS = {"Id": "id", "Name": "name", "CreatedAt": "created_at"}


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


def _serialize(organization: Organization) -> dict:
    return {"Id": organization.pk, "Name": organization.name, "CreatedAt": organization.created_at}


def visible_organizations(principal: Principal):
    """Return the organizations PRINCIPAL may see: its tenant's, narrowed to its scope."""
    queryset = Organization.objects.filter(tenant_id=principal.tenant_id)
    if principal.organization_ids is not None:
        queryset = queryset.filter(pk__in=principal.organization_ids)
    return queryset


@router.get("Organizations", auth=governed("Organizations.Read"), response={200: OrganizationList, **ERRORS})
def list_organizations(request: HttpRequest):
    """List the organizations the credential may see. OData: $top, $skip, $orderby, $filter, $count."""
    query = odata.apply(visible_organizations(request.auth), request.GET, FIELDS, ["name"])
    return list_response(request, query, _serialize)


@router.get(
    "Organizations/{int:organization_id}",
    auth=governed("Organizations.Read"),
    response={200: OrganizationOne, **ERRORS},
)
def get_organization(request: HttpRequest, organization_id: int):
    """Return one organization; another tenant's, or one outside the token's scope, is not found."""
    organization = visible_organizations(request.auth).filter(pk=organization_id).first()
    if organization is None:
        raise Http404(f"No organization with Id {organization_id} is visible to this credential.")
    return respond({"Data": _serialize(organization), "Meta": {"ResponseCode": 200}})
