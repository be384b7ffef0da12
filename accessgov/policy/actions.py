"""Workflows of the Manage API page: each saves, audits, and is the only way to do its change."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accessgov.audit.actions import Action, record_event
from accessgov.core import keys, mail
from accessgov.core.credentials import Kind, announce_change, cache_key
from accessgov.core.errors import ActionRefused
from accessgov.core.rotation import Overlap, RetiringSecret, retire_previous_of
from accessgov.policy.access import require_api_access, require_credential_room
from accessgov.policy.models import ApiKey, ApiUser, LifetimePolicy, PolicyAcceptance, PolicyVersion
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
            "changes": {"api_access": {"from": "off", "to": "on"}},
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
    record_event(
        tenant=tenant,
        actor=by,
        action=Action.API_ACCESS_DISABLED,
        target=api_user,
        details={"changes": {"api_access": {"from": "on", "to": "off"}}},
        ip=ip,
    )
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
def set_api_key_suspended(*, api_key: ApiKey, suspended: bool, by, ip: str | None, now=None) -> ApiKey:
    """Suspend API_KEY (SUSPENDED) or resume it; either takes effect on the next request.

    A suspended key is refused (credential_suspended) with everything kept, until resumed.
    """
    locked = ApiKey.objects.select_for_update().filter(pk=api_key.pk).first()
    if locked is None:
        raise ActionRefused("That key was deleted meanwhile.")
    if (locked.suspended_at is not None) == suspended:
        raise ActionRefused(f"Key “{locked.name}” is {'already' if suspended else 'not'} suspended.")
    details = {"name": locked.name, "prefix": locked.prefix}
    if not suspended:
        details["suspended_at"] = locked.suspended_at.isoformat()
    locked.suspended_at = (now or timezone.now()) if suspended else None
    locked.suspended_by = by if suspended else None
    # save(), not update(): post_save makes every app server drop its cached copy (accessgov.api.cache).
    locked.save(update_fields=["suspended_at", "suspended_by"])
    record_event(
        tenant=locked.tenant,
        actor=by,
        action=Action.API_KEY_SUSPENDED if suspended else Action.API_KEY_RESUMED,
        target=locked,
        details=details,
        ip=ip,
    )
    return locked


LIFETIME_FIELDS = (
    "max_lifetime_days",
    "expiry_required",
    "allowlist_required_for_write",
    "suspend_unused_after_days",
)


@transaction.atomic
def set_lifetime_policy(*, tenant: Tenant, values: dict, by, ip: str | None) -> bool:
    """Set TENANT's credential lifetime policy to VALUES; return False (recording nothing) when unchanged.

    Existing tokens are not changed: the token list flags those that break the new policy.
    """
    Tenant.objects.select_for_update().get(pk=tenant.pk)  # two administrators saving at once: one wins
    policy = LifetimePolicy.of(tenant)
    before = {name: getattr(policy, name) for name in LIFETIME_FIELDS}
    after = {name: values[name] for name in LIFETIME_FIELDS}
    if before == after:
        return False
    for name, value in after.items():
        setattr(policy, name, value)
    policy.save()
    record_event(
        tenant=tenant,
        actor=by,
        action=Action.LIFETIME_POLICY_CHANGED,
        target=tenant,
        details={"before": before, "after": after},
        ip=ip,
    )
    return True


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


@sensitive_variables("raw")
def roll_api_key(*, api_key: ApiKey, overlap: Overlap | str, by, ip: str | None) -> tuple[ApiKey, str]:
    """Give API_KEY a new secret, keeping the old one working for OVERLAP; return the key and the raw value.

    The key keeps its name and public prefix (both of its secrets carry the same lookup id, so
    either finds the row); an old secret still in its overlap from an earlier roll stops now.
    """
    now = timezone.now()
    overlap = Overlap(overlap)
    with transaction.atomic():
        require_api_access(api_key.tenant, before="regenerating API keys", on_manage_api=True)
        locked = ApiKey.objects.select_for_update().filter(pk=api_key.pk).first()
        if locked is None:
            raise ActionRefused("That key was deleted.")
        earlier_dropped = locked.previous_secret_live(now)
        locked.keep_current_as_previous(overlap, now)
        raw = keys.generate_secret(keys.API_KEY_PREFIX, lookup_id=locked.lookup_id)
        locked.digest = keys.digest_secret(raw)
        locked.pepper_id = keys.current_pepper_id()
        locked.save(update_fields=["digest", "pepper_id", *RetiringSecret.ROTATION_FIELDS])
        record_event(
            tenant=locked.tenant,
            actor=by,
            action=Action.API_KEY_REGENERATED,
            target=locked,
            details={
                "name": locked.name,
                "prefix": locked.prefix,
                "overlap": overlap.value,
                "old_secret_retires_at": _iso(locked.previous_retires_at),
                "old_secret_retires_on_first_use": locked.previous_retires_on_first_use,
                "earlier_old_secret_stopped": earlier_dropped,
            },
            ip=ip,
        )
    locked.tenant = api_key.tenant
    return locked, raw


def retire_previous_key_secret(
    *, api_key: ApiKey, by, ip: str | None, on_first_use: bool = False, now: datetime | None = None
) -> bool:
    """Stop API_KEY's old secret now; return False if no old secret was working.

    ON_FIRST_USE: the API saw the new secret's first use (by is None), which retires the old one
    only if the roll asked for that.
    """
    now = now or timezone.now()
    with transaction.atomic():
        retires_at = api_key.previous_retires_at
        if not retire_previous_of(ApiKey, api_key.pk, now=now, on_first_use=on_first_use):
            return False
        api_key.forget_previous()
        # A queryset UPDATE sends no post_save: say it, so every app server drops its copy.
        announce_change(cache_key(Kind.API_KEY, api_key.prefix))
        record_event(
            tenant=api_key.tenant,
            actor=by,
            actor_label="system (first use of the new secret)" if on_first_use else None,
            action=Action.API_KEY_OLD_SECRET_RETIRED,
            target=api_key,
            details={
                "name": api_key.name,
                "prefix": api_key.prefix,
                "reason": "first_use" if on_first_use else "retired_now",
                "would_have_retired_at": _iso(retires_at),
            },
            ip=ip,
        )
    return True


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


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
