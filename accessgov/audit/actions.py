"""Write audit events: every governance change goes through record_event."""

from django.db import transaction
from django.dispatch import Signal

from accessgov.audit.models import Action, AuditEvent
from tenants.models import Membership, Organization, Tenant

# Sent once the change an event records is committed (never for a rolled-back change), with the
# AuditEvent as `event`. Higher floors connect to it in their AppConfig.ready(): webhooks queues
# the governance events destinations subscribe to (webhooks.events.enqueue_for_audit_event).
event_committed = Signal()

# Sent with organization=... by delete_directory_row before an organization is deleted. Higher
# floors that keep organization ids in credential scopes (tokens, trusted applications) connect to
# it in their AppConfig.ready(), take the organization out, and return the names of the credentials
# they narrowed, which the tenant's Activity then lists.
organization_deleted = Signal()


def actor_label_for(user) -> str:
    """Return how USER is named in the audit log."""
    if user is None:
        return "system"
    label = user.get_username()
    return f"{label} (staff)" if user.is_staff else label


def record_event(
    *,
    tenant: Tenant | None,
    actor,
    action: Action | str,
    target: object | None = None,
    details: dict | None = None,
    ip: str | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one audit event and return it. Details must never hold a secret."""
    event = AuditEvent.objects.create(
        tenant=tenant,
        actor=actor,
        actor_label=actor_label or actor_label_for(actor),
        action=str(action),
        target_type=type(target).__name__ if target is not None else "",
        target_id=str(getattr(target, "pk", "") or "") if target is not None else "",
        target_label=str(target)[:300] if target is not None else "",
        details=details or {},
        ip_address=ip,
    )
    # Robust: a receiver's problem (say, queueing a webhook) is logged and never undoes or fails
    # the change itself, which is committed by then.
    transaction.on_commit(lambda: event_committed.send(sender=AuditEvent, event=event), robust=True)
    return event


# Support staff change tenants' directories in the Django admin (accessgov/audit/admin.py). Floor 1
# is the lowest that may import both tenants and the audit log, so these workflows live here.
DirectoryRow = Tenant | Organization | Membership


def _membership_details(membership: Membership) -> dict:
    return {"user": membership.user.get_username(), "role": membership.role}


def _record_added(row: DirectoryRow, *, by, ip: str | None, actor_label: str | None = None) -> None:
    if isinstance(row, Tenant):
        details, action = {"name": row.name, "slug": row.slug}, Action.TENANT_CREATED
        if row.external_id:
            details["external_id"] = row.external_id
    elif isinstance(row, Organization):
        details, action = {"name": row.name}, Action.ORGANIZATION_ADDED
        if row.external_id:
            details["external_id"] = row.external_id
    else:
        details, action = _membership_details(row), Action.MEMBERSHIP_ADDED
    tenant = row if isinstance(row, Tenant) else row.tenant
    record_event(
        tenant=tenant, actor=by, action=action, target=row, details=details, ip=ip, actor_label=actor_label
    )


def _record_removed(
    row: Organization | Membership, *, by, ip: str | None, actor_label: str | None = None
) -> None:
    if isinstance(row, Organization):
        details, action = {"name": row.name}, Action.ORGANIZATION_DELETED
    else:
        details, action = _membership_details(row), Action.MEMBERSHIP_REMOVED
    record_event(
        tenant=row.tenant,
        actor=by,
        action=action,
        target=row,
        details=details,
        ip=ip,
        actor_label=actor_label,
    )


# The fields of a tenant or an organization whose change the Activity records, and how it names a
# change of only the first two (anything else is "changed").
@transaction.atomic
def save_directory_row(
    *, row: DirectoryRow, by, ip: str | None, actor_label: str | None = None
) -> DirectoryRow:
    """Save ROW (a tenant, organization or membership) as BY changed it, audit what changed, return it.

    ACTOR_LABEL names an actor that is no user (an operator key). A tenant deactivated or reactivated
    is its own event: every credential of the tenant stops or works again with it.
    """
    model = type(row)
    before = model._default_manager.select_for_update().filter(pk=row.pk).first() if row.pk else None
    row.save()
    audit = {"by": by, "ip": ip, "actor_label": actor_label}
    if before is None:
        _record_added(row, **audit)
    elif isinstance(row, Membership) and (before.user_id, before.tenant_id) != (row.user_id, row.tenant_id):
        # Another person or tenant: to the tenants' Activity that is one member gone and one added.
        _record_removed(before, **audit)
        _record_added(row, **audit)
    elif isinstance(row, Membership) and before.role != row.role:
        details = {
            "user": row.user.get_username(),
            "changes": {"role": {"from": before.role, "to": row.role}},
        }
        record_event(
            tenant=row.tenant,
            actor=by,
            action=Action.MEMBERSHIP_ROLE_CHANGED,
            target=row,
            details=details,
            ip=ip,
            actor_label=actor_label,
        )
    elif isinstance(row, Tenant | Organization):
        if isinstance(row, Tenant) and before.password_sign_in != row.password_sign_in:
            record_event(
                tenant=row,
                actor=by,
                action=Action.TENANT_PASSWORD_SIGN_IN_CHANGED,
                target=row,
                details={"password_sign_in": [before.password_sign_in, row.password_sign_in]},
                ip=ip,
                actor_label=actor_label,
            )
        # Every other field staff or the operator can edit, so a setting (such as the MFA
        # requirement) is never changed unaudited; the Activity log shows each one's old and new
        # value. Password sign-in and activation are events of their own.
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if f.editable and not f.primary_key and f.attname not in {"password_sign_in", "is_active"}
        ]
        changed = {
            f: {"from": getattr(before, f), "to": getattr(row, f)}
            for f in fields
            if getattr(before, f) != getattr(row, f)
        }
        tenant = row if isinstance(row, Tenant) else row.tenant
        if changed:
            renamed = set(changed) <= {"name", "slug"}
            if isinstance(row, Tenant):
                action = Action.TENANT_RENAMED if renamed else Action.TENANT_SETTINGS_CHANGED
            else:
                action = Action.ORGANIZATION_RENAMED if renamed else Action.ORGANIZATION_CHANGED
            record_event(
                tenant=tenant,
                actor=by,
                action=action,
                target=row,
                details={"changes": changed},
                ip=ip,
                actor_label=actor_label,
            )
        if isinstance(row, Tenant) and before.is_active != row.is_active:
            action = Action.TENANT_REACTIVATED if row.is_active else Action.TENANT_DEACTIVATED
            record_event(tenant=tenant, actor=by, action=action, target=row, ip=ip, actor_label=actor_label)
    return row


@transaction.atomic
def delete_directory_row(
    *, row: Organization | Membership, by, ip: str | None, actor_label: str | None = None
) -> None:
    """Delete ROW (an organization or a membership) as BY asked, audited in its tenant's Activity.

    An organization leaves every credential scope that named it first, and the Activity says which.
    """
    _record_removed(row, by=by, ip=ip, actor_label=actor_label)
    if isinstance(row, Organization):
        narrowed = sorted(
            name for _, names in organization_deleted.send(Organization, organization=row) for name in names
        )
        if narrowed:
            record_event(
                tenant=row.tenant,
                actor=by,
                action=Action.ORGANIZATION_REMOVED_FROM_SCOPES,
                target=row,
                details={"name": row.name, "credentials": narrowed},
                ip=ip,
                actor_label=actor_label,
            )
    row.delete()


__all__ = [
    "Action",
    "actor_label_for",
    "delete_directory_row",
    "event_committed",
    "organization_deleted",
    "record_event",
    "save_directory_row",
]
