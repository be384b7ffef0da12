"""Workflows of the Manage API page: each saves, audits, and is the only way to do its change."""

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accessgov.audit.actions import Action, record_event
from accessgov.core import keys, mail
from accessgov.core.errors import ActionRefused
from accessgov.policy.access import require_api_access, require_credential_room
from accessgov.policy.models import ApiKey, ApiUser, PolicyAcceptance, PolicyVersion
from tenants.models import Tenant


@transaction.atomic
def agree_to_policy(*, tenant: Tenant, version: PolicyVersion, by, ip: str | None) -> ApiUser:
    """Record TENANT's acceptance of VERSION and return its (now active) API user."""
    # Lock the tenant row so two administrators agreeing at once make one API user.
    Tenant.objects.select_for_update().get(pk=tenant.pk)
    now = timezone.now()
    api_user = ApiUser.objects.filter(tenant=tenant).first()
    if api_user is not None and api_user.is_active:
        raise ActionRefused("The API Policy is already agreed and API access is on.")
    PolicyAcceptance.objects.create(
        tenant=tenant, version=version, accepted_by=by, accepted_at=now, ip_address=ip
    )
    created = api_user is None
    if created:
        api_user = ApiUser.objects.create(tenant=tenant, username=ApiUser.username_for(tenant))
    else:
        api_user.is_active = True
        api_user.disabled_at = None
        api_user.save(update_fields=["is_active", "disabled_at"])
        api_user.tenant = tenant  # a tenant.api_user loaded earlier now reads the new state
    record_event(
        tenant=tenant,
        actor=by,
        action=Action.POLICY_AGREED,
        target=version,
        details={
            "policy_version": version.version,
            "api_user": api_user.username,
            "api_user_created": created,
        },
        ip=ip,
    )
    return api_user


@transaction.atomic
def disable_api_access(*, tenant: Tenant, by, ip: str | None) -> ApiUser:
    """Turn TENANT's API access off: every key and token of the tenant stops working at once."""
    api_user = ApiUser.objects.select_for_update().filter(tenant=tenant).first()
    if api_user is None or not api_user.is_active:
        raise ActionRefused("API access is already off.")
    api_user.is_active = False
    api_user.disabled_at = timezone.now()
    api_user.save(update_fields=["is_active", "disabled_at"])
    api_user.tenant = tenant  # a tenant.api_user loaded earlier now reads the new state
    record_event(tenant=tenant, actor=by, action=Action.API_ACCESS_DISABLED, target=api_user, ip=ip)
    return api_user


@sensitive_variables("raw")
def issue_api_key(*, tenant: Tenant, name: str, by, ip: str | None) -> tuple[ApiKey, str]:
    """Create an API key named NAME for TENANT and return it with its raw value, shown once."""
    raw = keys.generate_secret(keys.API_KEY_PREFIX)
    try:
        with transaction.atomic():
            # Checked inside the transaction: a key is never made for a tenant whose access is off.
            require_api_access(tenant, before="creating API keys", on_manage_api=True)
            require_credential_room(tenant)
            api_key = ApiKey.objects.create(
                tenant=tenant,
                name=name,
                **keys.stored_fields(raw, keys.API_KEY_PREFIX),
                created_by=by,
                created_at=timezone.now(),
            )
            record_event(
                tenant=tenant,
                actor=by,
                action=Action.API_KEY_CREATED,
                target=api_key,
                details={"name": name, "prefix": api_key.prefix},
                ip=ip,
            )
    except IntegrityError as error:
        raise ActionRefused(f"A key named “{name}” already exists. Choose another name.") from error
    return api_key, raw


@transaction.atomic
def delete_api_key(*, api_key: ApiKey, by, ip: str | None) -> None:
    """Delete API_KEY; requests made with it fail from now on."""
    locked = ApiKey.objects.select_for_update().filter(pk=api_key.pk).first()
    if locked is None:
        raise ActionRefused("That key was already deleted.")
    record_event(
        tenant=api_key.tenant,
        actor=by,
        action=Action.API_KEY_DELETED,
        target=locked,
        details={"name": locked.name, "prefix": locked.prefix},
        ip=ip,
    )
    locked.delete()


@transaction.atomic
def set_security_contacts(*, tenant: Tenant, contacts: list[str], by, ip: str | None) -> bool:
    """Set TENANT's security contact addresses; return False (and record nothing) when unchanged."""
    row = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = list(row.security_contacts)
    if before == contacts:
        return False
    row.security_contacts = contacts
    row.save(update_fields=["security_contacts"])
    tenant.security_contacts = contacts
    record_event(
        tenant=tenant,
        actor=by,
        action=Action.SECURITY_CONTACT_CHANGED,
        target=tenant,
        details={"before": {"security_contacts": before}, "after": {"security_contacts": contacts}},
        ip=ip,
    )
    added = [address for address in contacts if address not in before]
    mail.queue_mail(
        to=added,
        subject=f"You are a security contact of {tenant.name}",
        template="security_contact_added",
        context={
            "tenant": tenant,
            "by": getattr(by, "get_username", lambda: "Support")(),
            "manage_api_path": reverse("policy:show_manage_api", args=[tenant.slug]),
        },
    )
    return True


@transaction.atomic
def set_leak_response(*, tenant: Tenant, response: str, by, ip: str | None) -> bool:
    """Set what happens to TENANT's secrets reported leaked; return False when unchanged."""
    row = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = row.leak_response
    if before == response:
        return False
    row.leak_response = tenant.leak_response = response
    row.save(update_fields=["leak_response"])
    record_event(
        tenant=tenant,
        actor=by,
        action=Action.LEAK_RESPONSE_CHANGED,
        target=tenant,
        details={"before": {"leak_response": before}, "after": {"leak_response": response}},
        ip=ip,
    )
    return True
