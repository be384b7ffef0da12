"""The one rule "API access is on": the tenant agreed to the API Policy and has not turned it off.

Two spellings only, for two needs: `access_on` reads (a view deciding what to show, a webhook
deciding whether to send, a credential check with the API user loaded through select_related),
`require_api_access` locks the API user row inside a workflow that creates or changes a
credential, so turning access off cannot interleave with it.
"""

from accessgov.core.errors import ActionRefused
from accessgov.policy.models import ApiUser
from tenants.models import Tenant


def access_on(tenant: Tenant) -> bool:
    """Return whether TENANT has agreed to the API Policy and its API access is on.

    When TENANT came with its API user (select_related("tenant__api_user"), as the API's
    credential checks load it) that row decides, at no cost; otherwise the database is asked now,
    so a long-lived tenant object never answers from a stale copy.
    """
    if Tenant.api_user.is_cached(tenant):
        try:
            return tenant.api_user.is_active
        except ApiUser.DoesNotExist:
            return False  # loaded, and there is none: the policy was never agreed
    return ApiUser.objects.filter(tenant=tenant, is_active=True).exists()


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
