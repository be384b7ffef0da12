"""The rules every new credential obeys: API access is on, and the tenant has room for one more.

"API access is on" (the tenant agreed to the API Policy and has not turned it off) has two
spellings, for two needs: `access_on` reads (a view deciding what to show, a webhook deciding
whether to send, a credential check with the API user loaded through select_related),
`require_api_access` locks the API user row inside a workflow that creates or changes a
credential, so turning access off cannot interleave with it.

"The tenant has room for one more live credential" is `require_credential_room`, called after
`require_api_access` in the same transaction: the API user row it locked serializes every
workflow that adds a credential, so two administrators cannot both take the last place.
"""

from django.conf import settings
from django.dispatch import Signal

from accessgov.core.credentials import Refusal
from accessgov.core.errors import ActionRefused
from accessgov.policy.models import ApiKey, ApiUser
from tenants.models import Tenant

# Sent with tenant=... by `require_credential_room`; each receiver returns how many live
# credentials of its kind the tenant holds. Higher floors own those kinds (tokens connects in its
# AppConfig.ready()), and this floor may not import them.
live_credentials_counted = Signal()


def access_on(tenant: Tenant) -> bool:
    """Return whether TENANT has agreed to the API Policy and its API access is on (never for a
    tenant the operator deactivated: its webhooks and trusted applications stop too).

    When TENANT came with its API user (select_related("tenant__api_user"), as the API's
    credential checks load it) that row decides, at no cost; otherwise the database is asked now,
    so a long-lived tenant object never answers from a stale copy.
    """
    if Tenant.api_user.is_cached(tenant):
        if not tenant.is_active:
            return False
        try:
            return tenant.api_user.is_active
        except ApiUser.DoesNotExist:
            return False  # loaded, and there is none: the policy was never agreed
    return ApiUser.objects.filter(tenant=tenant, is_active=True, tenant__is_active=True).exists()


def access_refusal(tenant: Tenant) -> Refusal | None:
    """Return why no credential of TENANT may be used now (deactivated, API access off), or None.

    The one rule every credential check of a tenant asks (API keys, tokens, trusted applications),
    so deactivating a tenant stops all of them at once.
    """
    if not tenant.is_active:
        return Refusal.TENANT_DEACTIVATED
    if not access_on(tenant):
        return Refusal.API_ACCESS_OFF
    return None


def api_off_message(*, before: str, on_manage_api: bool = False) -> str:
    """Return what an administrator reads when API access is off and they try something.

    BEFORE says what they were doing ("creating tokens"); ON_MANAGE_API leaves out where the
    policy is agreed when they are already there.
    """
    where = "" if on_manage_api else " on the Manage API tab"
    return f"Agree to the API Policy{where} before {before}."


def require_api_access(tenant: Tenant, *, before: str, on_manage_api: bool = False) -> ApiUser:
    """Lock TENANT's API user for this transaction and return it, or refuse if access is off.

    Call it inside the transaction that creates or changes a credential or a webhook setting.
    """
    api_user = ApiUser.objects.select_for_update().filter(tenant=tenant).first()
    if api_user is None or not api_user.is_active:
        raise ActionRefused(api_off_message(before=before, on_manage_api=on_manage_api))
    return api_user


def count_live_credentials(tenant: Tenant) -> int:
    """Return how many live credentials TENANT holds: its API keys plus every kind a receiver counts."""
    counted = live_credentials_counted.send(sender=Tenant, tenant=tenant)
    return ApiKey.objects.filter(tenant=tenant).count() + sum(count for _, count in counted)


def require_credential_room(tenant: Tenant) -> None:
    """Refuse if TENANT already holds ACCESSGOV_MAX_CREDENTIALS_PER_TENANT live credentials.

    Call it after `require_api_access` in the same transaction, before adding or bringing back a
    credential (a new key or token, a revoked token reinstated).
    """
    # A cap bounds what one tenant can make the credential checks, the cache and the rate limiter
    # carry; without it a tenant's credentials, and so its total request budget, are unlimited.
    limit = settings.ACCESSGOV_MAX_CREDENTIALS_PER_TENANT
    if count_live_credentials(tenant) >= limit:
        raise ActionRefused(
            f"This tenant already has {limit} live API keys and tokens, the most allowed. "
            "Delete a key or revoke a token you no longer use, then try again."
        )
