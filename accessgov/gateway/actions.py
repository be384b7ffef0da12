"""Make and delete gateway keys: each change audited, the new key shown once."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accessgov.audit.actions import Action, record_event
from accessgov.core import keys
from accessgov.core.credentials import announce_change
from accessgov.core.errors import ActionRefused
from accessgov.gateway.models import GatewayKey

GATEWAY_KEY_PREFIX = "agg_"


@sensitive_variables("raw")
def issue_gateway_key(*, name: str, by, ip: str | None = None) -> tuple[GatewayKey, str]:
    """Create a gateway key named NAME and return it with its raw value, shown once."""
    name = " ".join(name.split())
    if not name:
        raise ActionRefused("Give the gateway key a name, e.g. the gateway that will use it.")
    raw = keys.generate_secret(GATEWAY_KEY_PREFIX)
    try:
        with transaction.atomic():
            key = GatewayKey.objects.create(
                name=name,
                **keys.stored_fields(raw, GATEWAY_KEY_PREFIX),
                created_by=by,
                created_at=timezone.now(),
            )
            record_event(
                tenant=None,
                actor=by,
                action=Action.GATEWAY_KEY_CREATED,
                target=key,
                details={"name": key.name, "prefix": key.prefix},
                ip=ip,
                actor_label=None if by is not None else "manage.py create_gateway_key",
            )
    except IntegrityError as error:
        raise ActionRefused(f"A gateway key named “{name}” already exists.") from error
    return key, raw


@transaction.atomic
def delete_gateway_key(*, key: GatewayKey, by, ip: str | None = None) -> None:
    """Delete KEY: the gateway using it is refused from every app server's next decision on."""
    locked = GatewayKey.objects.select_for_update().filter(pk=key.pk).first()
    if locked is None:
        raise ActionRefused("That gateway key was already deleted.")
    record_event(
        tenant=None,
        actor=by,
        action=Action.GATEWAY_KEY_DELETED,
        target=locked,
        details={"name": locked.name, "prefix": locked.prefix},
        ip=ip,
    )
    locked.delete()
    announce_change(gateway_cache_key(locked.prefix))


def gateway_cache_key(prefix: str) -> str:
    """Return the name under which app servers keep a verified gateway key."""
    return f"g:{prefix}"
