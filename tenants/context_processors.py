from django.conf import settings
from django.http import HttpRequest

from tenants.models import Membership


def tenancy(request: HttpRequest) -> dict:
    """Return the current tenant and, lazily, the user's memberships for the header switcher."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_tenant": getattr(request, "tenant", None),
        "current_membership": getattr(request, "membership", None),
        "my_memberships": lambda: list(Membership.objects.of_user(user)),
    }


def single_sign_on(request: HttpRequest) -> dict:
    """Return the label of the identity provider's sign-in button, empty when none is configured."""
    return {"sso_button_label": settings.OIDC_BUTTON_LABEL if settings.OIDC_DISCOVERY_URL else ""}
