"""/api/operator/v1/Tenants: every tenant of the deployment, and the upsert a nightly sync calls."""

from datetime import datetime

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from pydantic import Field as Body

from accessgov.api import odata
from accessgov.api.envelope import ApiError, ListMeta, MeMeta, list_response, respond
from accessgov.api.gate import operator_endpoint
from accessgov.api.resources import Field, Resource
from accessgov.core.clientip import get_client_ip
from accessgov.core.errors import ActionRefused
from accessgov.operator import provisioning
from accessgov.operator.models import Outcome
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


class UpsertMeta(Schema):
    ResponseCode: int
    Result: str  # created, updated, unchanged (memberships: invited too)


class OperatorTenantUpserted(Schema):
    Data: OperatorTenantOut
    Meta: UpsertMeta


class TenantIn(Schema):
    ExternalId: str = Body(max_length=200)
    Name: str | None = Body(None, max_length=200)
    Slug: str | None = Body(None, max_length=63)
    AdministratorsMustUseMfa: bool | None = None
    Active: bool | None = None


def upserted(row: dict, outcome: Outcome):
    """Return the envelope of an upsert: 201 when it created, else 200, with what it did."""
    status = 201 if outcome in {Outcome.CREATED, Outcome.INVITED} else 200
    return respond({"Data": row, "Meta": {"ResponseCode": status, "Result": str(outcome)}}, status=status)


def refused(refusal: ActionRefused) -> ApiError:
    """Return the 400 that answers an upsert the workflow refused, with its reason."""
    return ApiError(400, "invalid_request", str(refusal))


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
    return respond({"Data": TENANT.serialize(tenant), "Meta": {"ResponseCode": 200}})


@operator_endpoint(
    router,
    "POST",
    "Tenants",
    schema=OperatorTenantUpserted,
    operation_id="operator_upsert_tenant",
    created=True,
)
def upsert_tenant(request: HttpRequest, body: TenantIn):
    """Create or change the tenant with this ExternalId (idempotent: the same body twice changes nothing).

    `Active: false` deactivates it: every credential of the tenant is refused at once and its members
    no longer see it; `Active: true` restores both. Fields left out are kept as they are.
    """
    spec = provisioning.TenantSpec(
        external_id=body.ExternalId,
        name=body.Name,
        slug=body.Slug,
        administrators_must_use_mfa=body.AdministratorsMustUseMfa,
        active=body.Active,
    )
    try:
        tenant, outcome = provisioning.upsert_tenant(
            spec=spec, actor_label=request.auth.record.actor_label, ip=get_client_ip(request)
        )
    except ActionRefused as refusal:
        raise refused(refusal) from refusal
    return upserted(TENANT.serialize(tenant), outcome)
