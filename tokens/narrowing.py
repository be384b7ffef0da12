"""Narrowing a token to the permissions it used: least privilege from real use (issue 15).

`review_narrowing` says which granted permissions no allowed call used in the last 30 days (UTC
days, as accessgov.usage counts them) and whether removing them makes sense yet. `narrow_token`
removes exactly the permissions an administrator reviewed, through actions.update_token, so the
change is audited like any edit and every app server drops its cached copy of the token; when what
it would remove now differs from what was reviewed (a permission used or granted since), it
removes nothing.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from accessgov.core.errors import ActionRefused
from accessgov.usage import reading, rollup
from accessgov.usage.models import CredentialType
from tokens import actions
from tokens.models import ThirdPartyToken


@dataclass(frozen=True)
class Review:
    """What narrowing TOKEN would do now."""

    token: ThirdPartyToken
    unused: list[str]  # granted, and no allowed call in the days observed
    days_observed: int  # of reading.DAYS: fewer for a token younger than that
    used_any: bool  # an allowed call in the days observed

    @property
    def kept(self) -> list[str]:
        return [p for p in self.token.permissions if p not in self.unused]

    @property
    def young(self) -> bool:
        return self.days_observed < reading.DAYS

    @property
    def meaningful(self) -> bool:
        """Whether the usage says anything yet: a full window observed, or some use."""
        return not self.young or self.used_any

    @property
    def refusal(self) -> str:
        """Return why narrowing cannot be done now ("" when it can)."""
        name = self.token.name
        if self.token.revoked_at is not None:
            return f"“{name}” is revoked: there is nothing to narrow."
        if not self.meaningful:
            return (
                f"“{name}” has made no allowed call in the {self.days_observed} day(s) it has existed: "
                "there is no use to narrow it to yet."
            )
        if not self.unused:
            return f"Every permission of “{name}” was used in the last {self.days_observed} day(s)."
        if not self.kept:
            return (
                f"No permission of “{name}” was used in the last {self.days_observed} day(s). A token keeps "
                "at least one permission: if nothing uses it, suspend or revoke it instead."
            )
        return ""

    @property
    def can_narrow(self) -> bool:
        return not self.refusal


def days_observed(token: ThirdPartyToken, now: datetime) -> int:
    """Return how many of the usage window's days (UTC) TOKEN could be used on, up to NOW."""
    usable_from = max(token.created_at, token.starts_at).astimezone(UTC).date()
    today = now.astimezone(UTC).date()
    if usable_from > today:
        return 0
    return min((today - usable_from).days + 1, reading.DAYS)


def review_narrowing(token: ThirdPartyToken, *, now: datetime | None = None, refresh: bool = True) -> Review:
    """Return what narrowing TOKEN to the permissions it used would remove and keep.

    REFRESH brings its counts up to date first (a page that just read its report() needs not).
    """
    now = now or timezone.now()
    if refresh:
        rollup.refresh([(CredentialType.TOKEN, token.pk, token.tenant_id)], now=now)
    since = reading.window(now.astimezone(UTC).date())[0]
    unused = reading.unused_permissions(CredentialType.TOKEN, token.pk, token.permissions, since=since)
    return Review(
        token=token,
        unused=unused,
        days_observed=days_observed(token, now),
        # Some allowed call with a permission it still holds (one taken away since says nothing).
        used_any=len(unused) < len(set(token.permissions)),
    )


def narrow_token(
    *, token: ThirdPartyToken, reviewed: list[str], by, ip: str | None, now: datetime | None = None
) -> list[str]:
    """Remove from TOKEN the permissions REVIEWED as unused; return them.

    Refused (nothing changed) when the permissions unused now are not exactly REVIEWED.
    """
    now = now or timezone.now()
    # Calls counted since the review count: a permission used meanwhile is not removed.
    if not rollup.refresh([(CredentialType.TOKEN, token.pk, token.tenant_id)], now=now):
        raise ActionRefused(
            "Nothing was removed: the newest calls of this token could not be read just now, so a "
            "permission used since the last count could be taken away. Try again in a minute."
        )
    with transaction.atomic():
        locked = ThirdPartyToken.objects.select_for_update().filter(pk=token.pk).first()
        if locked is None:
            raise ActionRefused("This token was deleted meanwhile.")
        review = review_narrowing(locked, now=now, refresh=False)
        shown = sorted(set(reviewed))
        if shown != review.unused:
            raise ActionRefused(_stale(shown, review))
        if review.refusal:
            raise ActionRefused(review.refusal)
        terms = actions.TokenTerms(
            name=locked.name,
            description=locked.description,
            starts_at=locked.starts_at,
            expires_at=locked.expires_at,
            allowed_ips=tuple(locked.allowed_ips),
            organization_ids=None if locked.all_organizations else tuple(locked.organization_ids),
            permissions=tuple(review.kept),
        )
        actions.update_token(
            token=locked,
            terms=terms,
            by=by,
            ip=ip,
            now=now,
            reason={
                "reason": f"Narrowed from usage: no allowed call in the last {review.days_observed} day(s)",
                "permissions_removed": review.unused,
            },
        )
    return review.unused


def _stale(shown: list[str], review: Review) -> str:
    used_since = [p for p in shown if p not in review.unused]
    unused_since = [p for p in review.unused if p not in shown]
    changes = []
    if used_since:
        changes.append(f"{', '.join(used_since)} no longer unused (used or taken away since)")
    if unused_since:
        changes.append(f"{', '.join(unused_since)} now unused too")
    return (
        "Nothing was removed: the unused permissions changed since you reviewed them "
        f"({'; '.join(changes)}). Review them again."
    )
