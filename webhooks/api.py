"""GET /api/v1/WebhookDomains and POST /api/v1/Notify."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from accessgov import odata
from accessgov.actions import ActionRefused
from accessgov.api import ERRORS, ApiError, ListMeta, MeMeta, governed, list_response, respond
from accessgov.apiauth import Principal
from accessgov.clientip import get_client_ip
from tenants.models import Tenant
from webhooks import actions, domains
from webhooks.models import ApprovedWebhookDomain

router = Router(tags=["Webhooks"])

FIELDS = {"Id": "id", "Domain": "domain", "CreatedAt": "created_at", "LastDeliveryAt": "last_delivery_at"}


class WebhookDomainOut(Schema):
    Id: int
    Domain: str
    UnicodeDomain: str
    CreatedAt: datetime
    LastDeliveryAt: datetime | None


class WebhookDomainList(Schema):
    Data: list[WebhookDomainOut]
    Meta: ListMeta


@router.get(
    "WebhookDomains", auth=governed("WebhookDomains.Read"), response={200: WebhookDomainList, **ERRORS}
)
def list_webhook_domains(request: HttpRequest):
    """List the tenant's approved webhook domains. OData: $top, $skip, $orderby, $filter, $count."""
    principal: Principal = request.auth
    queryset = ApprovedWebhookDomain.objects.filter(tenant_id=principal.tenant_id)
    query = odata.apply(queryset, request.GET, FIELDS, ["domain"])
    return list_response(
        request,
        query,
        lambda row: {
            "Id": row.pk,
            "Domain": row.domain,
            "UnicodeDomain": domains.to_unicode(row.domain),
            "CreatedAt": row.created_at,
            "LastDeliveryAt": row.last_delivery_at,
        },
    )


class NotifyIn(Schema):
    Message: str
    Data: dict[str, Any] | None = None


class NotifyData(Schema):
    DeliveriesQueued: int


class NotifyOut(Schema):
    Data: NotifyData
    Meta: MeMeta


@router.post("Notify", auth=governed("Notify.Send"), response={202: NotifyOut, **ERRORS})
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
