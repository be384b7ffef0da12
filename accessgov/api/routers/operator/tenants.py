"""GET /api/operator/v1/Tenants and Tenants/{Id}: every tenant of the deployment, for operator keys."""

from datetime import datetime

from django.http import Http404, HttpRequest
from ninja import Router, Schema

from accessgov.api import odata
from accessgov.api.envelope import ListMeta, MeMeta, list_response, one_response
from accessgov.api.gate import operator_endpoint
from accessgov.api.resources import Field, Resource
from tenants.models import Tenant

router = Router(tags=["Operator"])

TENANT = Resource(
    Field("Id", "pk", "id"),
    Field("ExternalId", "external_id", "external_id"),
    Field("Name", "name", "name"),
    Field("Slug", "slug", "slug"),
    Field("PartnerId", "partner_id", "partner_id"),
    Field("Active", "is_active", "is_active"),
    Field("AdministratorsMustUseMfa", "administrators_must_use_mfa"),
    Field("CreatedAt", "created_at", "created_at"),
)


class OperatorTenantOut(Schema):
    Id: int
    ExternalId: str | None
    Name: str
    Slug: str
    PartnerId: str
    Active: bool
    AdministratorsMustUseMfa: bool
    CreatedAt: datetime


class OperatorTenantList(Schema):
    Data: list[OperatorTenantOut]
    Meta: ListMeta


class OperatorTenantOne(Schema):
    Data: OperatorTenantOut
    Meta: MeMeta


@operator_endpoint(router, "GET", "Tenants", schema=OperatorTenantList, operation_id="operator_list_tenants")
def list_tenants(request: HttpRequest):
    """List every tenant. OData: $top, $skip, $orderby, $filter (e.g. ExternalId eq 'c-42'), $count."""
    query = odata.apply(Tenant.objects.all(), request.GET, TENANT.queryable, ["name"])
    return list_response(request, query, TENANT.serialize)


@operator_endpoint(
    router, "GET", "Tenants/{int:tenant_id}", schema=OperatorTenantOne, operation_id="operator_get_tenant"
)
def get_tenant(request: HttpRequest, tenant_id: int):
    """Return one tenant by its Id."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        raise Http404(f"No tenant with Id {tenant_id}.")
    return one_response(TENANT.serialize(tenant))
