"""Rolling a token's secret with an overlap, retiring the old one, and renewing a token.

"Regenerate Token Secret" (the seed's words) on a live token rolls it: the old secret keeps
working, kept only as its peppered digest, until the overlap the administrator chose ends, or the
new secret is first used (core.rotation.Overlap). A roll touches the secret only: never a
restriction, never the expiry. On a revoked token the same button reinstates it
(tokens.actions.regenerate_secret), with no overlap: a revoked secret never works again.
"""

import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accessgov.audit.actions import Action, record_event
from accessgov.core.credentials import Kind, announce_change, cache_key
from accessgov.core.errors import ActionRefused
from accessgov.core.rotation import Overlap, RetiringSecret, retire_previous_of
from accessgov.policy.access import require_api_access
from tokens.models import ThirdPartyToken

NAME_MAX_LENGTH = ThirdPartyToken._meta.get_field("name").max_length
RENEWED_SUFFIX = re.compile(r" \(renewed \d{4}-\d{2}-\d{2}\)$")


@sensitive_variables("secret")
def roll_token_secret(
    *, token: ThirdPartyToken, overlap: Overlap | str, by, ip: str | None, now: datetime | None = None
) -> tuple[ThirdPartyToken, str]:
    """Give the live TOKEN a new secret, keeping the old one working for OVERLAP; return it and the secret.

    An old secret still in its overlap from an earlier roll stops working now.
    """
    now = now or timezone.now()
    overlap = Overlap(overlap)
    with transaction.atomic():
        require_api_access(token.tenant, before="regenerating token secrets")
        locked = ThirdPartyToken.objects.select_for_update().filter(pk=token.pk).first()
        if locked is None:
            raise ActionRefused("This token was deleted meanwhile.")
        if locked.revoked_at is not None:
            raise ActionRefused(
                f"“{locked.name}” is revoked: regenerating its secret reinstates it, and a revoked "
                "secret never works again, so there is no overlap."
            )
        earlier_dropped = locked.previous_secret_live(now)
        locked.keep_current_as_previous(overlap, now)
        secret = locked.set_secret(now)
        locked.updated_at = now
        # Only the secret's fields: a roll never changes a restriction nor extends the expiry.
        locked.save(
            update_fields=[
                "digest",
                "pepper_id",
                "secret_set_at",
                "updated_at",
                *RetiringSecret.ROTATION_FIELDS,
            ]
        )
        record_event(
            tenant=locked.tenant,
            actor=by,
            action=Action.TOKEN_SECRET_REGENERATED,
            target=locked,
            details={
                "token_id": locked.token_id,
                "overlap": overlap.value,
                "old_secret_retires_at": _iso(locked.previous_retires_at),
                "old_secret_retires_on_first_use": locked.previous_retires_on_first_use,
                "earlier_old_secret_stopped": earlier_dropped,
            },
            ip=ip,
        )
    return locked, secret


def retire_previous_secret(
    *,
    token: ThirdPartyToken,
    by,
    ip: str | None,
    on_first_use: bool = False,
    now: datetime | None = None,
) -> bool:
    """Stop TOKEN's old secret now; return False if no old secret was working.

    ON_FIRST_USE: the API saw the new secret's first use (by is None), which retires the old one
    only if the roll asked for that.
    """
    now = now or timezone.now()
    with transaction.atomic():
        retires_at = token.previous_retires_at
        if not retire_previous_of(
            ThirdPartyToken, token.pk, now=now, on_first_use=on_first_use, updated_at=now
        ):
            return False
        token.forget_previous()
        token.updated_at = now
        # A queryset UPDATE sends no post_save: say it, so every app server drops its copy.
        announce_change(cache_key(Kind.TOKEN, token.token_id))
        record_event(
            tenant=token.tenant,
            actor=by,
            actor_label="system (first use of the new secret)" if on_first_use else None,
            action=Action.TOKEN_OLD_SECRET_RETIRED,
            target=token,
            details={
                "token_id": token.token_id,
                "reason": "first_use" if on_first_use else "retired_now",
                "would_have_retired_at": _iso(retires_at),
            },
            ip=ip,
        )
    return True


def renewal_name(name: str, now: datetime) -> str:
    """Return the name of a renewal of the token NAME at NOW: "NAME (renewed 2026-11-30)"."""
    suffix = f" (renewed {now:%Y-%m-%d})"
    base = RENEWED_SUFFIX.sub("", name)
    return base[: NAME_MAX_LENGTH - len(suffix)].rstrip() + suffix


def renewal_expiry(token: ThirdPartyToken, now: datetime) -> datetime | None:
    """Return the expiry a renewal of TOKEN proposes: from NOW, as long as TOKEN was valid (None: never)."""
    if token.expires_at is None:
        return None
    return now + (token.expires_at - token.starts_at)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
