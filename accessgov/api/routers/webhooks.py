"""GET /api/v1/WebhookDomains and POST /api/v1/Notify."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from accessgov.api import odata
from accessgov.api.envelope import ApiError, ListMeta, MeMeta, list_response, respond
from accessgov.api.gate import endpoint
from accessgov.api.resources import Field, Resource
from accessgov.core.clientip import get_client_ip
from accessgov.core.credentials import Principal
from accessgov.core.errors import ActionRefused
from tenants.models import Tenant
from webhooks import actions, domains
from webhooks.models import ApprovedWebhookDomain

router = Router(tags=["Webhooks"])

WEBHOOK_DOMAIN = Resource(
    Field("Id", "pk", "id"),
    Field("Domain", "domain", "domain"),
    Field("UnicodeDomain", "domain", convert=domains.to_unicode),
    Field("CreatedAt", "created_at", "created_at"),
    Field("LastDeliveryAt", "last_delivery_at", "last_delivery_at"),
)


class WebhookDomainOut(Schema):
    Id: int
    Domain: str
    UnicodeDomain: str
    CreatedAt: datetime
    LastDeliveryAt: datetime | None


class WebhookDomainList(Schema):
    Data: list[WebhookDomainOut]
    Meta: ListMeta


@endpoint(
    router,
    "GET",
    "WebhookDomains",
    schema=WebhookDomainList,
    operation_id="webhooks_api_list_webhook_domains",
)
def list_webhook_domains(request: HttpRequest):
    """List the tenant's approved webhook domains. OData: $top, $skip, $orderby, $filter, $count."""
    principal: Principal = request.auth
    queryset = ApprovedWebhookDomain.objects.filter(tenant_id=principal.tenant_id)
    query = odata.apply(queryset, request.GET, WEBHOOK_DOMAIN.queryable, ["domain"])
    return list_response(request, query, WEBHOOK_DOMAIN.serialize)


class NotifyIn(Schema):
    Message: str
    Data: dict[str, Any] | None = None


class NotifyData(Schema):
    DeliveriesQueued: int


class NotifyOut(Schema):
    Data: NotifyData
    Meta: MeMeta


@endpoint(router, "POST", "Notify", schema=NotifyOut, status=202, operation_id="webhooks_api_notify")
def notify(request: HttpRequest, body: NotifyIn):
    """Send a notification event to the tenant's webhook destinations subscribed to `notify`."""
    principal: Principal = request.auth
    if not body.Message.strip() or len(body.Message) > 2000:
        raise ApiError(400, "invalid_request", "Message must be 1 to 2,000 characters.")
    tenant = Tenant.objects.get(pk=principal.tenant_id)
    try:
        queued = actions.send_notification(
            tenant=tenant,
            payload={"message": body.Message, "data": body.Data or {}},
            actor_label=f"{principal.kind} {principal.name} ({principal.credential_id})",
            ip=get_client_ip(request),
        )
    except ActionRefused as refusal:
        raise ApiError(400, "invalid_request", str(refusal)) from refusal
    return respond({"Data": {"DeliveriesQueued": queued}, "Meta": {"ResponseCode": 202}}, status=202)
