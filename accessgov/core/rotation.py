"""Rolling a secret with an overlap: for a while the old secret keeps working beside the new one.

One vocabulary for the three things that roll (third-party tokens, API keys, webhook signing
secrets): the overlaps an administrator may choose, when the old secret retires, and, for the two
credentials the API checks, an abstract model keeping the old secret only as its peppered digest
with its retirement time. The owners (tokens.rotation, accessgov.policy.actions,
webhooks.actions) do the workflows; the REST edge (accessgov.api.gate) reads the principal's
`secret_retires_at` and `retires_previous` set from `principal_fields`.
"""

import enum
from datetime import datetime, timedelta

from django import forms
from django.db import models

from accessgov.core import keys
from accessgov.core.forms import ConfirmForm


class Overlap(models.TextChoices):
    """How long the old secret keeps working after a roll."""

    NONE = "none", "None: the old secret stops working at once"
    HOUR = "1h", "1 hour"
    DAY = "1d", "1 day"
    WEEK = "7d", "7 days"
    FIRST_USE = "first_use", "Until the new secret is first used (7 days at most)"


# A first-use overlap also ends at the longest overlap offered: a new secret that is never used
# must not keep the old one alive for ever (the safer reading of the issue; README says so).
FIRST_USE_LIMIT = timedelta(days=7)
DURATIONS = {
    Overlap.HOUR: timedelta(hours=1),
    Overlap.DAY: timedelta(days=1),
    Overlap.WEEK: timedelta(days=7),
    Overlap.FIRST_USE: FIRST_USE_LIMIT,
}
# Webhook signing secrets: nobody "uses" them but us, so a first use cannot be seen.
TIMED_OVERLAPS = [choice for choice in Overlap.choices if choice[0] != Overlap.FIRST_USE]


def retirement_of(overlap: Overlap | str, now: datetime) -> datetime | None:
    """Return when the old secret retires after a roll at NOW with OVERLAP (None: at once)."""
    duration = DURATIONS.get(Overlap(overlap))
    return None if duration is None else now + duration


def rfc3339(moment: datetime) -> str:
    """Return MOMENT as an RFC 3339 UTC timestamp with seconds, e.g. 2026-12-01T10:00:00Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class RollForm(ConfirmForm):
    """The confirmation of a roll: which overlap, and "I understand"."""

    overlap = forms.ChoiceField(
        label="Keep the old secret working",
        choices=Overlap.choices,
        initial=Overlap.DAY,
        widget=forms.RadioSelect,
        help_text="Both secrets work during the overlap, so you can update your integration without downtime.",
    )
    field_order = ["overlap", "confirm"]

    def __init__(self, *args, timed_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if timed_only:
            self.fields["overlap"].choices = TIMED_OVERLAPS


class SecretMatch(enum.Enum):
    """Which of a credential's secrets a presented value is."""

    CURRENT = "current"
    PREVIOUS = "previous"


class RetiringSecret(models.Model):
    """The old secret of a credential during an overlap: its digest, pepper and retirement.

    The concrete model has `digest` and `pepper_id` for its current secret. Nothing here changes
    a restriction or the expiry: a roll touches only the secret.
    """

    previous_digest = models.CharField(max_length=64, blank=True, default="")
    previous_pepper_id = models.CharField(max_length=16, blank=True, default="")
    previous_retires_at = models.DateTimeField("old secret retires", null=True, blank=True)
    # Retires earlier, on the first request made with the current secret.
    previous_retires_on_first_use = models.BooleanField(default=False)

    ROTATION_FIELDS = [
        "previous_digest",
        "previous_pepper_id",
        "previous_retires_at",
        "previous_retires_on_first_use",
    ]

    class Meta:
        abstract = True

    def previous_secret_live(self, now: datetime) -> bool:
        """Return whether the old secret still works at NOW."""
        return (
            bool(self.previous_digest)
            and self.previous_retires_at is not None
            and now < self.previous_retires_at
        )

    def match_secret(self, secret: str, now: datetime) -> SecretMatch | None:
        """Return which secret SECRET is at NOW (the old one only during its overlap), or None."""
        current = keys.digest_matches(secret, self.digest, self.pepper_id)
        # Both digests are compared whenever the old secret is live, whatever the first answer.
        previous = self.previous_secret_live(now) and keys.digest_matches(
            secret, self.previous_digest, self.previous_pepper_id
        )
        if current:
            return SecretMatch.CURRENT
        return SecretMatch.PREVIOUS if previous else None

    def keep_current_as_previous(self, overlap: Overlap | str, now: datetime) -> None:
        """Before a new secret is set: keep the current one's digest until the OVERLAP ends (not saved).

        An old secret still in its overlap from an earlier roll stops working now.
        """
        retires_at = retirement_of(overlap, now)
        if retires_at is None:
            self.forget_previous()
            return
        self.previous_digest = self.digest
        self.previous_pepper_id = self.pepper_id
        self.previous_retires_at = retires_at
        self.previous_retires_on_first_use = Overlap(overlap) == Overlap.FIRST_USE

    keep_current_as_previous.alters_data = True

    def forget_previous(self) -> None:
        """Retire the old secret (not saved)."""
        self.previous_digest = ""
        self.previous_pepper_id = ""
        self.previous_retires_at = None
        self.previous_retires_on_first_use = False

    forget_previous.alters_data = True


def retire_previous_of(
    model: type[RetiringSecret], pk: int, *, now: datetime, on_first_use: bool, **also
) -> bool:
    """Retire the old secret of MODEL's row PK if it still works at NOW; return whether it did.

    One conditional UPDATE: of two concurrent retirements (two app servers seeing the new secret's
    first use at once) exactly one changes the row. ON_FIRST_USE retires only an old secret whose
    roll asked for that. ALSO: more fields to set (updated_at).
    """
    live = model._default_manager.filter(pk=pk, previous_retires_at__gt=now).exclude(previous_digest="")
    if on_first_use:
        live = live.filter(previous_retires_on_first_use=True)
    changed = live.update(
        previous_digest="",
        previous_pepper_id="",
        previous_retires_at=None,
        previous_retires_on_first_use=False,
        **also,
    )
    return bool(changed)


def principal_fields(row: RetiringSecret, match: SecretMatch, now: datetime) -> dict:
    """Return what a Principal says about the secret it presented (see core.credentials.Principal)."""
    if match == SecretMatch.PREVIOUS:
        return {"secret_retires_at": row.previous_retires_at, "retires_previous": False}
    waiting = row.previous_secret_live(now) and row.previous_retires_on_first_use
    return {"secret_retires_at": None, "retires_previous": waiting}
