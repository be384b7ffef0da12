"""Make and delete operator keys: each change audited, the new key shown once."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accessgov.audit.actions import Action, record_event
from accessgov.core import catalogue, keys
from accessgov.core.errors import ActionRefused
from accessgov.operator.models import OPERATOR_KEY_PREFIX, OperatorKey


def operator_permission_names() -> list[str]:
    """Return the permissions an operator key may be given, in catalogue order."""
    return [permission.name for permission in catalogue.OPERATOR_PERMISSIONS]


@sensitive_variables("raw")
def issue_operator_key(
    *, name: str, permissions: list[str], by, ip: str | None = None, via: str | None = None
) -> tuple[OperatorKey, str]:
    """Create an operator key NAME with PERMISSIONS and return it with its raw value, shown once.

    VIA names the actor when BY is None (the command that made it).
    """
    name = " ".join(name.split())
    if not name:
        raise ActionRefused("Give the operator key a name, e.g. the integration that will use it.")
    known = operator_permission_names()
    unknown = sorted(set(permissions) - set(known))
    if unknown:
        raise ActionRefused(f"Unknown permission {', '.join(unknown)}; choose from {', '.join(known)}.")
    if not permissions:
        raise ActionRefused(f"Give the operator key at least one permission: {', '.join(known)}.")
    ordered = [permission for permission in known if permission in set(permissions)]
    raw = keys.generate_secret(OPERATOR_KEY_PREFIX)
    try:
        with transaction.atomic():
            key = OperatorKey.objects.create(
                name=name,
                permissions=ordered,
                **keys.stored_fields(raw, OPERATOR_KEY_PREFIX),
                created_by=by,
                created_at=timezone.now(),
            )
            record_event(
                tenant=None,
                actor=by,
                action=Action.OPERATOR_KEY_CREATED,
                target=key,
                details={"name": key.name, "prefix": key.prefix, "permissions": ordered},
                ip=ip,
                actor_label=None if by is not None else (via or "manage.py create_operator_key"),
            )
    except IntegrityError as error:
        raise ActionRefused(f"An operator key named “{name}” already exists.") from error
    return key, raw


@transaction.atomic
def delete_operator_key(*, key: OperatorKey, by, ip: str | None = None) -> None:
    """Delete KEY: it is refused from every app server's next request on (the API's cache drops it)."""
    locked = OperatorKey.objects.select_for_update().filter(pk=key.pk).first()
    if locked is None:
        raise ActionRefused("That operator key was already deleted.")
    record_event(
        tenant=None,
        actor=by,
        action=Action.OPERATOR_KEY_DELETED,
        target=locked,
        details={"name": locked.name, "prefix": locked.prefix},
        ip=ip,
    )
    locked.delete()
