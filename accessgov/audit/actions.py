"""Write audit events: every governance change goes through record_event."""

from django.db import transaction
from django.dispatch import Signal

from accessgov.audit.models import Action, AuditEvent
from tenants.models import Membership, Organization, Tenant

# Sent once the change an event records is committed (never for a rolled-back change), with the
# AuditEvent as `event`. Higher floors connect to it in their AppConfig.ready(): webhooks queues
# the governance events destinations subscribe to (webhooks.events.enqueue_for_audit_event).
event_committed = Signal()


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


def _record_added(row: DirectoryRow, *, by, ip: str | None) -> None:
    if isinstance(row, Tenant):
        details, action = {"name": row.name, "slug": row.slug}, Action.TENANT_CREATED
    elif isinstance(row, Organization):
        details, action = {"name": row.name}, Action.ORGANIZATION_ADDED
    else:
        details, action = _membership_details(row), Action.MEMBERSHIP_ADDED
    tenant = row if isinstance(row, Tenant) else row.tenant
    record_event(tenant=tenant, actor=by, action=action, target=row, details=details, ip=ip)


def _record_removed(row: Organization | Membership, *, by, ip: str | None) -> None:
    if isinstance(row, Organization):
        details, action = {"name": row.name}, Action.ORGANIZATION_DELETED
    else:
        details, action = _membership_details(row), Action.MEMBERSHIP_REMOVED
    record_event(tenant=row.tenant, actor=by, action=action, target=row, details=details, ip=ip)


@transaction.atomic
def save_directory_row(*, row: DirectoryRow, by, ip: str | None) -> DirectoryRow:
    """Save ROW (a tenant, organization or membership) as BY changed it, audit what changed, return it."""
    model = type(row)
    before = model._default_manager.select_for_update().filter(pk=row.pk).first() if row.pk else None
    row.save()
    if before is None:
        _record_added(row, by=by, ip=ip)
    elif isinstance(row, Membership) and (before.user_id, before.tenant_id) != (row.user_id, row.tenant_id):
        # Another person or tenant: to the tenants' Activity that is one member gone and one added.
        _record_removed(before, by=by, ip=ip)
        _record_added(row, by=by, ip=ip)
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
        )
    elif isinstance(row, Tenant | Organization):
        # Every field support staff can edit, so a setting (such as the MFA requirement) is never
        # changed unaudited; the Activity log shows each one's old and new value.
        fields = [f.attname for f in model._meta.concrete_fields if f.editable and not f.primary_key]
        changed = {
            f: {"from": getattr(before, f), "to": getattr(row, f)}
            for f in fields
            if getattr(before, f) != getattr(row, f)
        }
        if changed:
            if isinstance(row, Organization):
                action = Action.ORGANIZATION_RENAMED
            elif set(changed) <= {"name", "slug"}:
                action = Action.TENANT_RENAMED
            else:
                action = Action.TENANT_SETTINGS_CHANGED
            tenant = row if isinstance(row, Tenant) else row.tenant
            record_event(
                tenant=tenant, actor=by, action=action, target=row, details={"changes": changed}, ip=ip
            )
    return row


@transaction.atomic
def delete_directory_row(*, row: Organization | Membership, by, ip: str | None) -> None:
    """Delete ROW (an organization or a membership) as BY asked, audited in its tenant's Activity."""
    _record_removed(row, by=by, ip=ip)
    row.delete()


__all__ = [
    "Action",
    "actor_label_for",
    "delete_directory_row",
    "event_committed",
    "record_event",
    "save_directory_row",
]
