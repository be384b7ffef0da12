"""The Settings > API banner: the tenant's tokens that expire soon (ACCESSGOV_EXPIRY_BANNER_DAYS)."""

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from tokens.models import ThirdPartyToken

BANNER_LIMIT = 10  # the banner names this many; it says how many more there are


def expiring_credentials(request: HttpRequest) -> dict:
    """Return, lazily (one query, only on the pages that show the banner), the tokens expiring soon."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {}

    def expiring() -> dict:
        tokens = ThirdPartyToken.objects.for_tenant(tenant).expiring(
            timezone.now(), timedelta(days=settings.ACCESSGOV_EXPIRY_BANNER_DAYS)
        )
        found = list(tokens.only("pk", "name", "token_id", "expires_at")[: BANNER_LIMIT + 1])
        return {
            "tokens": found[:BANNER_LIMIT],
            "more": len(found) > BANNER_LIMIT,
            "days": settings.ACCESSGOV_EXPIRY_BANNER_DAYS,
        }

    return {"expiring_credentials": expiring}
