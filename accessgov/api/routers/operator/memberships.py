"""/api/operator/v1/Memberships: who belongs to which tenant with which role; an upsert for someone
without an account invites them by e-mail."""

from datetime import datetime

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from pydantic import Field as Body

from accessgov.api import odata
from accessgov.api.envelope import ListMeta, list_response, respond
from accessgov.api.gate import operator_endpoint
from accessgov.api.resources import Field, Resource
from accessgov.api.routers.operator.organizations import Deleted, tenant_or_404
from accessgov.api.routers.operator.tenants import UpsertMeta, refused, upserted
from accessgov.core.clientip import get_client_ip
from accessgov.core.errors import ActionRefused
from accessgov.operator import provisioning
from accessgov.operator.models import Invitation
from tenants.models import Membership

router = Router(tags=["Operator"])

MEMBERSHIP = Resource(
    Field("Id", "pk", "id"),
    Field("TenantId", "tenant_id", "tenant_id"),
    Field("TenantExternalId", "tenant.external_id", "tenant__external_id"),
    Field("Email", "user.email", "user__email"),
    Field("Username", "user.username", "user__username"),
    Field("Role", "role", "role"),
    Field("CreatedAt", "created_at", "created_at"),
)


class OperatorMembershipOut(Schema):
    Id: int
    TenantId: int
    TenantExternalId: str | None
    Email: str
    Username: str
    Role: str
    CreatedAt: datetime


class OperatorMembershipList(Schema):
    Data: list[OperatorMembershipOut]
    Meta: ListMeta


class OperatorInvitationOut(Schema):
    """A membership of someone without an account: the invitation sent (never its link)."""

    InvitationId: int
    TenantId: int
    TenantExternalId: str | None
    Email: str
    Role: str
    ExpiresAt: datetime


class OperatorMembershipUpserted(Schema):
    Data: OperatorMembershipOut | OperatorInvitationOut
    Meta: UpsertMeta


class MembershipIn(Schema):
    TenantExternalId: str = Body(max_length=200)
    Email: str = Body(max_length=254)
    Role: str = Body(max_length=20)


def _invitation(invitation: Invitation) -> dict:
    return {
        "InvitationId": invitation.pk,
        "TenantId": invitation.tenant_id,
        "TenantExternalId": invitation.tenant.external_id,
        "Email": invitation.email,
        "Role": invitation.role,
        "ExpiresAt": invitation.expires_at,
    }


@operator_endpoint(
    router, "GET", "Memberships", schema=OperatorMembershipList, operation_id="operator_list_memberships"
)
def list_memberships(request: HttpRequest):
    """List every tenant's members. OData: e.g. $filter=TenantExternalId eq 'c-42' and Role eq 'administrator'."""
    queryset = Membership.objects.select_related("tenant", "user")
    query = odata.apply(queryset, request.GET, MEMBERSHIP.queryable, ["tenant_id", "user__username"])
    return list_response(request, query, MEMBERSHIP.serialize)


@operator_endpoint(
    router,
    "POST",
    "Memberships",
    schema=OperatorMembershipUpserted,
    operation_id="operator_upsert_membership",
    created=True,
)
def upsert_membership(request: HttpRequest, body: MembershipIn):
    """Give the person with Email the Role (administrator, technician, viewer) in the tenant.

    Someone with an account becomes a member (201) or gets the role (200); someone without one is
    invited by e-mail (201, `Result: invited`): the mail's link lets them choose a password (and add
    a second factor where the tenant asks). The same body again changes nothing and sends no mail.
    """
    tenant = tenant_or_404(body.TenantExternalId)
    try:
        row, outcome = provisioning.upsert_membership(
            tenant=tenant,
            email=body.Email,
            role=body.Role,
            actor_label=request.auth.record.actor_label,
            ip=get_client_ip(request),
        )
    except ActionRefused as refusal:
        raise refused(refusal) from refusal
    data = _invitation(row) if isinstance(row, Invitation) else MEMBERSHIP.serialize(row)
    return upserted(data, outcome)


@operator_endpoint(
    router,
    "DELETE",
    "Memberships/{int:membership_id}",
    schema=Deleted,
    operation_id="operator_delete_membership",
)
def delete_membership(request: HttpRequest, membership_id: int):
    """Remove a member from a tenant (the account stays, with its other memberships)."""
    membership = Membership.objects.select_related("tenant", "user").filter(pk=membership_id).first()
    if membership is None:
        raise Http404(f"No membership with Id {membership_id}.")
    provisioning.remove_membership(
        membership=membership, actor_label=request.auth.record.actor_label, ip=get_client_ip(request)
    )
    return respond({"Meta": {"ResponseCode": 200}})
